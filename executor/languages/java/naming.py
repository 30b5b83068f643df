"""Java's file and class names: the file follows the public top-level type, the class to run
the type that declares ``main``. Names are read as javac reads them: Unicode escapes translated
first (JLS 3.3), comments and literals skipped, identifiers of any Unicode letters (JLS 3.8)."""

import re
import unicodedata

# The longest file name the file system takes (NAME_MAX), in bytes.
MAX_FILE_NAME_BYTES = 255

_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u+([0-9A-Fa-f]{4})")
# Comments, text blocks, strings and character literals in one pass from the left, so that a
# quote inside a comment, or "//" inside a string, is read as javac reads it.
_SKIPPED = re.compile(
    r"//[^\n]*"
    r"|/\*.*?\*/"
    r'|"""(?:\\.|[^\\])*?"""'
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'",
    re.DOTALL,
)
_PUBLIC_TYPE = re.compile(
    r"^\s*public\s+(?:(?:final|abstract|strictfp|sealed|non-sealed)\s+)*"
    r"(?:class|interface|enum|record)\s+",
    re.MULTILINE,
)
_TYPE_DECL = re.compile(r"\b(?:class|interface|enum|record)\s+")
_MAIN_METHOD = re.compile(r"\bstatic\s+(?:final\s+)?(?:public\s+)?void\s+main\s*\(")
_PACKAGE = re.compile(r"^\s*package\s+([^;]*);", re.MULTILINE)
# Character.isJavaIdentifierStart: letters, letter numbers, currency symbols (`$`), connector
# punctuation (`_`); isJavaIdentifierPart adds digits and combining marks.
_START_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Sc", "Pc"})
_PART_CATEGORIES = _START_CATEGORIES | {"Nd", "Mn", "Mc"}


def java_file_name(code: str) -> str:
    """``Name.java`` after the public top-level type, or ``Main.java`` when none is public, or
    when its name is too long for a file name (javac then says that the class belongs in a file
    of its name, a compile error like any other)."""
    code = _strip(code)
    match = _PUBLIC_TYPE.search(code)
    name = _identifier_at(code, match.end()) if match else None
    if name is None or len(f"{name}.java".encode()) > MAX_FILE_NAME_BYTES:
        return "Main.java"
    return f"{name}.java"


def java_main_class(main: str, content: str) -> str:
    """The fully qualified class to run: the entry file's public type, else the type declared
    last before the first ``main`` method, else the file's stem; with the file's package."""
    code = _strip(content)
    name = main.removesuffix(".java")
    public = _PUBLIC_TYPE.search(code)
    method = _MAIN_METHOD.search(code)
    if public and (found := _identifier_at(code, public.end())):
        name = found
    elif method:
        declared = [
            found
            for decl in _TYPE_DECL.finditer(code, 0, method.start())
            if (found := _identifier_at(code, decl.end()))
        ]
        if declared:
            name = declared[-1]
    package = _package(code)
    return f"{package}.{name}" if package else name


def _strip(code: str) -> str:
    """The source as javac's tokenizer sees it, with each comment a space and each literal
    empty."""

    def skip(match: re.Match[str]) -> str:
        return " " if match.group().startswith("/") else '""'

    return _SKIPPED.sub(skip, _translate_escapes(code))


def _translate_escapes(code: str) -> str:
    """``\\u00C4`` as ``Ä`` wherever its backslash is not itself escaped; a pair of escaped
    UTF-16 surrogates as the one character they make."""
    if "\\u" not in code:
        return code
    translated = _UNICODE_ESCAPE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), code)
    return translated.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _identifier_at(code: str, start: int) -> str | None:
    """The Java identifier starting at ``start``, or None. Ignorable characters inside it (format
    controls such as a zero-width space) are left out of the name, as javac leaves them out."""
    end = start
    kept: list[str] = []
    while end < len(code):
        char = code[end]
        category = unicodedata.category(char)
        if category == "Cf" and kept:
            end += 1
            continue
        if category not in (_START_CATEGORIES if not kept else _PART_CATEGORIES):
            break
        kept.append(char)
        end += 1
    return "".join(kept) or None


def _package(code: str) -> str | None:
    """The package the source declares, when it is a well-formed qualified name."""
    match = _PACKAGE.search(code)
    if not match:
        return None
    parts = [part.strip() for part in match.group(1).split(".")]
    if all(part and _identifier_at(part, 0) == part for part in parts):
        return ".".join(parts)
    return None
