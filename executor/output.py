"""Turns a run's captured bytes into response text."""

import codecs


def decode_output(data: bytes, *, truncated: bool) -> tuple[str, bool]:
    """The text of an output stream and whether it held invalid UTF-8 (each bad byte replaced by
    U+FFFD). A multi-byte character cut in half by truncation is dropped, not counted as
    invalid."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        return decoder.decode(data, final=not truncated), False
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=not truncated)
        return text, True
