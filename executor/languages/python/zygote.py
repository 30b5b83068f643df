"""A Python zygote: one interpreter, started and initialised as `python3 -E -s -B -X utf8 main.py`
would be, that forks a child per run; the child takes the run's setup (the spawn helper's own
steps, from its library) and then runs main.py with the semantics of a fresh interpreter.

Run as a script by the interpreter the runs use (never imported by the service):
    python3 -E -s -B -X utf8 zygote.py LIBRARY REQUEST_FD REPLY_FD
as root, from an empty environment, holding nothing of the service. The child for the next run
(the spare) is forked ahead, before its request comes: a fork of the zygote, holding nothing
more than the zygote, waiting on a pipe of its own, so that a request finds its process made
and the fork is off the run's path. The spare is a grandchild: its parent exits at once, so it
is re-parented to the service (a child subreaper), which waits for it and reads its exit status
and resource use itself. The zygote writes each spare's pid to REPLY_FD as soon as it is made,
in order: the pid the service reads for a request is that of the spare that takes it. It reads
requests from REQUEST_FD and hands each, as it came, to the spare, then forks the next.

A request is a frame: a 4-byte length of the rest, then a 4-byte count, then that many items,
each a 4-byte length and its bytes:
    service_pid, stdin_fd, stdout_fd, stderr_fd, error_fd, args_fd, filter_fd (or -1), cwd,
    main, number of environment entries, "NAME=value" entries..., setup options...
The descriptors are the service's: the run opens them through /proc/<service_pid>/fd/N, so they
never pass through the zygote; a NUL on error_fd tells the service it may close them, and the
run has left the zygote's session and process group by then (the service, stopping a zygote,
kills that whole group). Setup options name the error and filter descriptors as "{error}"
and "{filter}". The arguments are read from args_fd (NUL-separated) by the run itself, so other
runs' arguments never sit in the zygote's memory for the next run to find.
"""

import sys

# What a fresh interpreter has, recorded before the zygote imports anything of its own: a run
# gets exactly these modules, and this sys.path.
BASELINE_MODULES = frozenset(sys.modules)
BASELINE_PATH = list(sys.path)

import ctypes  # noqa: E402  (after the baseline, on purpose)
import gc  # noqa: E402
import os  # noqa: E402
from collections.abc import Callable  # noqa: E402

_COUNT = 4


def main() -> None:
    library, request_fd, reply_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    setup = ctypes.CDLL(library).executor_setup
    setup.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_char_p))
    # The first compile() of a process pays for setting up the compiler, and running this file
    # as a script does not: paid here once, not by every run's compile of main.py. Measured
    # (host, Python 3.11, hello world through the service): 6.2 → 4.6 ms of CPU per run.
    compile("pass\n", "<warm-up>", "exec")
    # Everything the zygote holds now is left alone by a run's collections: they look at the
    # program's objects only, and touch no inherited page (a copy-on-write fault each).
    gc.freeze()
    spare_w = _fork_spare(setup, request_fd, reply_fd)
    while True:
        frame = _read_frame(request_fd)
        if frame is None:
            return  # the service closed its end: it is gone (the spare reads end of file)
        # A spare that died meanwhile ends before its run starts: the service sees so (its
        # pid ended) and starts that run cold. (No contextlib: the zygote imports little.)
        try:  # noqa: SIM105
            _write_all(spare_w, frame)
        except OSError:
            pass
        os.close(spare_w)
        spare_w = _fork_spare(setup, request_fd, reply_fd)


def _fork_spare(setup: Callable[..., int], request_fd: int, reply_fd: int) -> int:
    """Fork the process that takes the next request, as a grandchild whose pid its parent
    writes to ``reply_fd`` before exiting (-1 if it could not fork); return the end of the pipe
    its request is to be written to."""
    frame_r, frame_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            spare = os.fork()
        except OSError:
            spare = -1
        if spare == 0:
            for fd in (frame_w, request_fd, reply_fd):
                os.close(fd)
            frame = _read_frame(frame_r)
            if frame is None:
                os._exit(0)  # the zygote ended before a request came
            os.close(frame_r)
            _become_the_run(_items(frame), setup)
        os.write(reply_fd, spare.to_bytes(4, "big", signed=True))
        os._exit(0)
    os.close(frame_r)
    os.waitpid(middle, 0)
    return frame_w


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(fd: int) -> bytes | None:
    """One whole frame as it came (its length included), or None at end of file."""
    header = _read_exactly(fd, _COUNT)
    if header is None:
        return None
    rest = _read_exactly(fd, int.from_bytes(header, "big"))
    return header + rest if rest is not None else None


def _items(frame: bytes) -> list[bytes]:
    count = int.from_bytes(frame[_COUNT : 2 * _COUNT], "big")
    offset = 2 * _COUNT
    items = []
    for _ in range(count):
        length = int.from_bytes(frame[offset : offset + _COUNT], "big")
        offset += _COUNT
        items.append(frame[offset : offset + length])
        offset += length
    return items


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _become_the_run(items: list[bytes], setup: Callable[..., int]) -> None:
    """In the run's own process: its descriptors, directory, setup, environment and arguments,
    then its program. Never returns."""
    error_fd = -1
    try:
        service = int(items[0])
        opened = {}
        for role, index, flags in (
            ("stdin", 1, os.O_RDONLY), ("stdout", 2, os.O_WRONLY), ("stderr", 3, os.O_WRONLY),
            ("error", 4, os.O_WRONLY), ("args", 5, os.O_RDONLY), ("filter", 6, os.O_RDONLY),
        ):  # fmt: skip
            number = int(items[index])
            if number >= 0:
                opened[role] = os.open(f"/proc/{service}/fd/{number}", flags | os.O_CLOEXEC)
        error_fd = opened["error"]
        # Out of the zygote's process group before the service hears of the run: stopping a
        # zygote kills that whole group (the sandbox's zygote.py), never a run once started.
        os.setsid()
        os.write(error_fd, b"\0")  # the service may now close its own descriptors
        for target, role in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
            os.dup2(opened.pop(role), target)
        cwd, main = os.fsdecode(items[7]), os.fsdecode(items[8])
        environment_count = int(items[9])
        environment = items[10 : 10 + environment_count]
        options = [
            item.replace(b"{error}", str(error_fd).encode()).replace(
                b"{filter}", str(opened.get("filter", -1)).encode()
            )
            for item in items[10 + environment_count :]
        ]
        os.chdir(cwd)
        argv = (ctypes.c_char_p * (len(options) + 1))(b"zygote-run", *options)
        # On a failure it reports on error_fd and exits 127; it closes the filter's descriptor.
        setup(len(options) + 1, argv)
        with os.fdopen(opened.pop("args"), "rb") as arguments:
            args = [os.fsdecode(a) for a in arguments.read().split(b"\0")[:-1]]
        os.environ.clear()
        for entry in environment:
            name, _, value = entry.partition(b"=")
            os.environ[os.fsdecode(name)] = os.fsdecode(value)
    except BaseException as exc:
        if error_fd >= 0:
            os.write(error_fd, f"zygote: {type(exc).__name__}: {exc}".encode()[:1000])
        os._exit(127)
    os.close(error_fd)  # end of file for the service: the program is about to start
    _run_main(main, args)


def _run_main(main: str, args: list[str]) -> None:
    """Run ``main`` as `python3 main.py ARGS` would: sys.argv, sys.path[0], __file__ and a fresh
    __main__, the modules of a fresh start, exit codes, and tracebacks without this frame."""
    for name in [name for name in sys.modules if name not in BASELINE_MODULES]:
        del sys.modules[name]
    path = os.path.abspath(main)
    sys.path[:] = [os.path.dirname(path), *BASELINE_PATH[1:]]
    # The interpreter and its options as the zygote got them, then what `python3 main.py` got.
    interpreter = sys.orig_argv[: sys.orig_argv.index(sys.argv[0])]
    sys.argv = [main, *args]
    sys.orig_argv = [*interpreter, main, *args]
    loader_type = sys.modules["_frozen_importlib_external"].SourceFileLoader
    module = type(sys)("__main__")
    module.__dict__.update(
        __file__=path,
        __loader__=loader_type("__main__", path),
        __spec__=None,
        __package__=None,
        __cached__=None,
        __annotations__={},
        __builtins__=sys.modules["builtins"],
    )
    sys.modules["__main__"] = module
    try:
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except SystemExit as exc:
        status = _exit_status(exc)
        if status is None:
            raise  # a message or an odd code: the interpreter ends as it would
        _finish(status)
    except BaseException as exc:
        # This frame is not the program's: the traceback starts below it, as in a fresh run.
        exc.__traceback__ = exc.__traceback__.tb_next if exc.__traceback__ else None
        sys.excepthook(type(exc), exc, exc.__traceback__)
        if isinstance(exc, KeyboardInterrupt):
            import signal

            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        _finish(1)
    _finish(0)


def _exit_status(exc: SystemExit) -> int | None:
    """The exit status ``sys.exit(code)`` gives when ``code`` is None or a C int; None for
    what the interpreter itself must handle (a message to print, a huge number)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int) and -(2**31) <= exc.code < 2**31:
        return int(exc.code)
    return None


def _finish(status: int) -> None:
    """End as the interpreter ends after its main module, but without tearing down the state
    inherited from the zygote: non-daemon threads joined, atexit handlers run, the program's
    own globals released (their ``__del__`` and open files' flushes run, as at a fresh
    interpreter's exit), stdout and stderr flushed; then ``os._exit``. Measured: a forked
    child's normal interpreter exit costs 7.7 ms of CPU for a hello world (its teardown touches
    the whole inherited heap, a copy-on-write fault per page), this 0.6 ms; a bare interpreter's
    whole run costs about 10 ms. Other modules' objects are not finalized one by one."""
    import atexit  # built in; its handlers live in the interpreter, whoever imported it

    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    atexit._run_exitfuncs()
    main_globals = sys.modules["__main__"].__dict__
    # As the interpreter clears a module: names with one leading underscore first, then the
    # rest but __builtins__.
    for private in (True, False):
        for name in list(main_globals):
            if name != "__builtins__" and (name.startswith("_") and name[1:2] != "_") == private:
                main_globals[name] = None
    gc.collect()  # the zygote froze its own objects: only the program's are looked at
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a fresh interpreter also exits 120 (its report is not copied)
            status = 120
    os._exit(status)


if __name__ == "__main__":
    main()
