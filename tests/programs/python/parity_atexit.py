# atexit handlers run, in reverse order, after the main module ends with an exception.
import atexit

atexit.register(print, "first registered, last run")
atexit.register(print, "last registered, first run")
raise SystemExit(3)
