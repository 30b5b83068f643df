line = "A" * 4096
while True:
    print(line)
