from helper import greet

print(greet("multi"))
