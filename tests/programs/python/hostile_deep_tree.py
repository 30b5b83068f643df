# Nests directories far deeper than a recursive remover can follow, in each place given, with a
# file at the bottom; a place where it may not make directories says so.
import errno
import os
import sys

depth, places = int(sys.argv[1]), sys.argv[2:]
home = os.getcwd()
for index, place in enumerate(places):
    os.chdir(home)
    os.chdir(place)
    try:
        os.mkdir(f"deep-{os.getuid()}-{index}")
    except OSError as exc:
        print(f"{place}: {errno.errorcode[exc.errno]}")
        continue
    os.chdir(f"deep-{os.getuid()}-{index}")
    for _ in range(depth):
        os.mkdir("d")
        os.chdir("d")
    with open("bottom", "w") as f:
        f.write("x")
    print(f"{place}: nested {depth} deep")
