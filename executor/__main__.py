"""`python -m executor` runs the command line."""

from executor.launch import main

if __name__ == "__main__":
    raise SystemExit(main())
