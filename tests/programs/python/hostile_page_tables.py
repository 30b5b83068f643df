# Grows page tables, memory no resident size shows: maps a huge anonymous region it never
# writes, then reads one byte every 2 MB (each read costs a page-table page, not a data page).
import errno
import mmap
import sys

gigabytes = int(sys.argv[1])
try:
    region = mmap.mmap(-1, gigabytes << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                       prot=mmap.PROT_READ)
except OSError as exc:
    print(f"mmap of {gigabytes} GB refused: {errno.errorcode[exc.errno]}")
    sys.exit(0)
total = 0
for offset in range(0, len(region), 2 << 20):
    total += region[offset]
with open("/proc/self/status") as f:
    tables = next(line.split()[1] for line in f if line.startswith("VmPTE"))
print(f"touched {gigabytes} GB, page tables {tables} kB")
