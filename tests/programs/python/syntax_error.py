print("this call is never closed"
