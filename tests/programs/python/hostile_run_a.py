# Run A: keeps a secret in its workspace and waits (for the test's "release" file, written as
# root) while run B attacks it; then reports whether anything changed.
import os
import sys
import time

secret = sys.argv[1]
with open("a-secret.txt", "w") as f:
    f.write(secret)
deadline = time.monotonic() + 15
while not os.path.exists("release") and time.monotonic() < deadline:
    time.sleep(0.01)
print(os.getcwd())
print(sorted(os.listdir(".")))
with open("a-secret.txt") as f:
    print(f.read())
