"""Executor: runs untrusted code for contests and classrooms behind an HTTP API."""

__version__ = "0.1.0"
