# Splits n into two halves: equal numbers when n is even.
n = int(input())
print(n // 2, n - n // 2)
