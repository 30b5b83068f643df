# Reads n, then waits for more input that never comes: both sides wait, the wall limit ends it.
n = int(input())
input()
