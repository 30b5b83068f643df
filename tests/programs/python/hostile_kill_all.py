# Signals the service (its parent) and PID 1, then kill(-1, SIGKILL): every process it may
# signal, which spares only the caller itself. A child of its own shows that the signal went out.
import errno
import os
import signal


def attempt(name, pid, sig):
    try:
        os.kill(pid, sig)
        print(f"{name}: sent")
    except OSError as exc:
        print(f"{name}: {errno.errorcode[exc.errno]}")


attempt("parent SIGKILL", os.getppid(), signal.SIGKILL)
attempt("parent SIGSTOP", os.getppid(), signal.SIGSTOP)
attempt("pid 1 SIGTERM", 1, signal.SIGTERM)
child = os.fork()
if child == 0:
    signal.pause()
    os._exit(0)
os.kill(-1, signal.SIGKILL)
_, status = os.waitpid(child, 0)
print(f"own child: {signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else status}")
