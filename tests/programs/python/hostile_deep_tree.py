# Nests directories far deeper than a recursive remover can follow, in each place given, with a
# file at the bottom.
import os
import sys

depth, places = int(sys.argv[1]), sys.argv[2:]
for index, place in enumerate(places):
    os.chdir(place)
    os.mkdir(f"deep-{os.getuid()}-{index}")
    os.chdir(f"deep-{os.getuid()}-{index}")
    for _ in range(depth):
        os.mkdir("d")
        os.chdir("d")
    with open("bottom", "w") as f:
        f.write("x")
print(f"nested {depth} deep")
