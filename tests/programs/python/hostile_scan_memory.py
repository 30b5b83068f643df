# Looks for other people's secrets in its own memory (inherited from whatever started it): every
# readable mapping of /proc/self/mem. The secrets come as hex of their bytes XOR 0x5A, so this
# process never holds one itself: it searches the XORed memory for the XORed secret.
import sys

held = sys.stdin.read()  # what it was given itself: the control for the search
KEY = bytes(range(256)).translate(bytes(b ^ 0x5A for b in range(256)))
needles = [bytes.fromhex(h) for h in sys.argv[1:]]
found = []
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    regions = [line.split() for line in maps]
    for fields in regions:
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        try:
            mem.seek(start)
            data = mem.read(end - start).translate(KEY)
        except OSError:
            continue
        found += [i for i, needle in enumerate(needles) if needle in data]
print("found:", sorted(set(found)))
