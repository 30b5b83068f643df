"""`executor serve`: parse arguments, load Settings, start uvicorn. No policy lives here.
`executor rehearse` and `executor judge` are clients of a service (their own modules)."""

import argparse
import os
import sys

import uvicorn

from executor.app import create_app
from executor.logging_setup import configure_logging
from executor.rehearsal import command as rehearse
from executor.server import DrainingServer, bind_listener
from executor.settings import ANSWER_GRACE_S, Settings, SettingsError

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
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.value,
        log_config=None,  # configure_logging did it: JSON or text, one format for every logger
        access_log=False,  # the request log (request_log.py) has a line per request
        # SIGTERM first drains (the app's drain, EXECUTOR_DRAIN_SECONDS less this grace and
        # the shutdown's margin): uvicorn then waits only for the answers being written.
        timeout_graceful_shutdown=ANSWER_GRACE_S,
        lifespan="on",
    )
    server = DrainingServer(config, drain=app.state.drain)
    server.run(sockets=[bind_listener(config)])
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
