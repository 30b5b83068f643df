chunks = []
while True:
    chunks.append(b"x" * (16 << 20))
