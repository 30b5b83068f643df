"""The sandbox: runs one command under limits as an unprivileged uid; no language, no HTTP."""
