# An uncaught KeyboardInterrupt: a traceback, then killed by SIGINT, as Python does.
raise KeyboardInterrupt
