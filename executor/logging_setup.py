"""The service's logging: one JSON object per line (python-json-logger) or plain text, for the
service's own events, uvicorn's, and the request log; set up once by the CLI."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from executor.settings import LogFormat, LogLevel

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(*, level: LogLevel, log_format: LogFormat) -> None:
    """Send every logger's records to stderr at ``level``: as JSON objects (``time``,
    ``level``, ``logger``, ``message`` and the record's extra fields, such as the request
    log's) or as text lines. Replaces the root logger's handlers."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_drop_terminal_colours)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # uvicorn's "trace" is below DEBUG; the standard library knows no such level.
    root.setLevel("DEBUG" if level is LogLevel.TRACE else level.value.upper())


def _drop_terminal_colours(record: logging.LogRecord) -> bool:
    # Uvicorn adds a copy of some messages with terminal colour codes; a log line needs one.
    record.__dict__.pop("color_message", None)
    return True
