# A syntax error in the main file: no traceback header, exit 1.
print("never printed")
def broken(:
    pass
