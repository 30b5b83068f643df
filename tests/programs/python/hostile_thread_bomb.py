# Starts threads that never end until the process limit refuses one, then reports the count.
import threading

forever = threading.Event()
count = 0
while True:
    try:
        threading.Thread(target=forever.wait, daemon=True).start()
    except RuntimeError as exc:
        print(f"refused after {count} threads: {exc}")
        break
    count += 1
    if count > 10000:
        print("never refused")
        break
