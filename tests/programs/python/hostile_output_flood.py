# Floods stdout and stderr in turn, forever, with text and with bytes that are not UTF-8.
import os

text = b"y" * 8191 + b"\n"
binary = bytes(range(256)) * 32
while True:
    os.write(1, text)
    os.write(2, binary)
