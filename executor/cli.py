"""`executor serve`: parse arguments, load Settings, start uvicorn. No policy lives here.
`executor rehearse` and `executor judge` are clients of a service (their own modules)."""

import argparse
import logging
import os
import sys

import uvicorn

from executor.app import create_app
from executor.rehearsal import command as rehearse
from executor.settings import Settings, SettingsError

STARTUP_FAILURE = 3  # uvicorn's own code for a failed startup; bad settings exit with it too
JUDGE_UNAVAILABLE = 2  # `executor judge` cannot judge at all (as judge_cli.EXIT_UNJUDGEABLE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="executor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    rehearse.register(commands)
    # Listed here; its own parser reads its arguments (judging/judge_cli.py), so that its
    # imports (httpx, rich, PyYAML: the `judge` extra) load only when it runs, never for `serve`.
    commands.add_parser(
        "judge", help="judge a Kattis problem package's submissions through the service"
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["judge"]:
        return _judge(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "rehearse":
        return rehearse.run(args)

    try:
        settings = Settings.from_environ(os.environ)
    except SettingsError as exc:
        print(f"executor: bad setting: {exc}", file=sys.stderr)
        return STARTUP_FAILURE
    # uvicorn's "trace" is below DEBUG; the standard library knows no such level.
    level = "DEBUG" if settings.log_level == "trace" else settings.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Uvicorn waits this long for runs in flight after SIGTERM: a run, and a compile before it,
    # may take up to their wall limits.
    graceful_s = (settings.limit_maximum("wall_time_ms") + settings.compile_wall_time_ms) / 1000 + 5
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.value,
        access_log=False,
        timeout_graceful_shutdown=int(graceful_s),
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def _judge(argv: list[str]) -> int:
    """``executor judge PROBLEM_DIR [--url URL] [--all-tests]``."""
    try:
        from executor.judging import judge_cli
    except ImportError as exc:
        print(
            f"executor judge needs the 'judge' extra (pip install 'executor[judge]'): {exc}",
            file=sys.stderr,
        )
        return JUDGE_UNAVAILABLE
    return judge_cli.main(argv)
