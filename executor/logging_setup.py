"""The service's logging: one JSON object per line (python-json-logger) or plain text, for the
service's own events, uvicorn's, and the request log; set up once by the CLI.

A record is one line in either format, whatever a client put in it (a language, a path): the
control characters (C0, DEL, C1) and the Unicode line and paragraph separators are written as
escapes, so that no client can start a line of its own in the log (log forging) or drive the
terminal that shows it. A traceback, the service's own text, keeps its lines."""

import logging
import sys

from pythonjsonlogger.core import LogData
from pythonjsonlogger.json import JsonFormatter

from executor.settings import LogFormat, LogLevel

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROLS = (*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# The text format writes them as Python does: \n, \x00, \x85, \u2028.
_TEXT_ESCAPES = str.maketrans(
    {
        char: _SHORT_ESCAPES.get(char)
        or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        for char in _CONTROLS
    }
)
# JSON escapes C0 itself; what it leaves raw in a string (DEL, C1, the separators) is written
# as JSON's \u escape. A JSON text holds these characters only in its strings.
_JSON_ESCAPES = str.maketrans({char: f"\\u{ord(char):04x}" for char in _CONTROLS[0x20:]})


def escape_controls(text: str) -> str:
    """``text`` with its control characters and line separators written as Python escapes."""
    return text.translate(_TEXT_ESCAPES)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT with every field escaped (escape_controls): the message with its arguments
    (the request log's fields among them), the logger's name and level; the traceback and
    stack that logging adds below it are left as they are."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


class OneLineJsonFormatter(JsonFormatter):
    """JsonFormatter, with what ``json.dumps`` leaves raw in a string and that still breaks a
    line (DEL, C1, U+2028, U+2029) escaped too; the text stays UTF-8 otherwise."""

    def jsonify_log_record(self, log_data: LogData) -> str:
        return super().jsonify_log_record(log_data).translate(_JSON_ESCAPES)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of ``log_format``: JSON objects (``time``, ``level``, ``logger``,
    ``message`` and the record's extra fields, such as the request log's) or text lines."""
    if log_format is LogFormat.JSON:
        return OneLineJsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return TextFormatter(TEXT_FORMAT)


def configure_logging(*, level: LogLevel, log_format: LogFormat) -> None:
    """Send every logger's records to stderr at ``level`` in ``log_format`` (make_formatter).
    Replaces the root logger's handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(_drop_terminal_colours)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # uvicorn's "trace" is below DEBUG; the standard library knows no such level.
    root.setLevel("DEBUG" if level is LogLevel.TRACE else level.value.upper())


def _drop_terminal_colours(record: logging.LogRecord) -> bool:
    # Uvicorn adds a copy of some messages with terminal colour codes; a log line needs one.
    record.__dict__.pop("color_message", None)
    return True
