# Takes 48 MB at once (every page touched) and exits 0 at once: over a 32 MB limit between two
# of the supervisor's samples. Its peak is over the limit all the same.
blob = b"x" * (48 << 20)
print(len(blob))
