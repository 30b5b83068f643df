# An exception raised while handling another, and one raised from a cause: both tracebacks.
def parse(text):
    try:
        return int(text)
    except ValueError as exc:
        raise KeyError(text) from exc


try:
    {}["missing"]
except KeyError:
    parse("not a number")
