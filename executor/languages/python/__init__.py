"""Python: CPython run in isolated mode, capped by RLIMIT_AS, started from a zygote."""

from executor.languages.python.plan import python_plan

__all__ = ["python_plan"]
