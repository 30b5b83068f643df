n = int(input())
assert n % 2 == 0, "odd n"
print(2)
