# Prints the command line of every process it can see: other runs' arguments are their users'
# data.
import os

for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        print(f"cmdline {name}:", b" ".join(words).decode(errors="replace"))
