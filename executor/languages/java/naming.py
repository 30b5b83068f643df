"""Java's file and class names: the file follows the public top-level type, the class to run
the type that declares ``main``. Names are read as javac reads them: Unicode escapes translated
first (JLS 3.3), comments and literals skipped, identifiers of any Unicode letters (JLS 3.8)."""

import bisect
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
# The tokens of a top-level type's head, in the source that _top_level leaves: an annotation
# (@Name, @a.b.Name, @Name(...), its arguments blanked), the kind of type with the space before
# its name, a word (a modifier among them; javac takes no space inside non-sealed), any other
# character. One pass over them finds every head, in time linear in the source.
_HEAD_TOKEN = re.compile(
    r"(?P<annotation>@\s*(?!interface(?![\w$]))[\w$]+(?:\s*\.\s*[\w$]+)*(?:\s*\(\s*\))?)"
    r"|(?P<kind>(?:class|interface|enum|record|@\s*interface)\s+)"
    r"|(?P<word>non-sealed(?![\w$])|[\w$]+)"
    r"|\S"
)
# The modifiers javac allows on a top-level type (static, private, protected are not).
_TOP_LEVEL_MODIFIERS = frozenset(
    {"public", "final", "abstract", "strictfp", "sealed", "non-sealed"}
)
_BRACKET = re.compile(r"[{}()]")
_BRACE = re.compile(r"[{}]")
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
    name = _public_type(_strip(code))
    if name is None or len(f"{name}.java".encode()) > MAX_FILE_NAME_BYTES:
        return "Main.java"
    return f"{name}.java"


def java_main_class(main: str, content: str) -> str:
    """The fully qualified class to run: the entry file's public type, else the type whose body
    holds the first ``main`` method (its binary name, ``Outer$Inner``, when nested), else the
    file's stem; with the file's package."""
    code = _strip(content)
    name = main.removesuffix(".java")
    public = _public_type(code)
    method = _MAIN_METHOD.search(code)
    if public:
        name = public
    elif method:
        name = _declaring_type(code, method.start()) or name
    package = _package(code)
    return f"{package}.{name}" if package else name


def _public_type(code: str) -> str | None:
    """The name of the first public type declared at top level of the stripped source. Only a
    top-level type names the file (javac: "class B is public, should be declared in a file named
    B.java"); its head may sit anywhere on a line, after other declarations, modifiers or
    annotations."""
    top = _top_level(code)
    public = False
    for token in _HEAD_TOKEN.finditer(top):
        if token["kind"] and public:
            return _identifier_at(top, token.end())
        if token["word"] in _TOP_LEVEL_MODIFIERS:
            public = public or token["word"] == "public"
        elif not token["annotation"]:
            public = False
    return None


def _declaring_type(code: str, position: int) -> str | None:
    """The binary name of the type whose body holds ``position`` in the stripped source (nested
    types joined by ``$``, as java loads them), so that a type declared inside it before
    ``main`` does not win; else, in a source whose braces do not say, the type declared last
    before ``position``."""
    closes = _matching_braces(code)
    opens = sorted(closes)
    owners: dict[int, str] = {}  # a body's opening brace, to the type declared last before it
    declared: list[str] = []
    for decl in _TYPE_DECL.finditer(code, 0, position):
        if name := _identifier_at(code, decl.end()):
            declared.append(name)
            after = bisect.bisect_left(opens, decl.end())
            if after < len(opens):
                owners[opens[after]] = name
    enclosing = [name for body, name in owners.items() if body < position < closes[body]]
    if enclosing:
        return "$".join(enclosing)
    return declared[-1] if declared else None


def _top_level(code: str) -> str:
    """The stripped source with everything inside braces and parentheses blanked, the brackets
    themselves kept: what is left is the top-level declarations' heads, so that a nested type's
    head is not read as the file's, nor an annotation's arguments (braces, parentheses, any
    word) as modifiers."""
    pieces: list[str] = []
    depth = 0
    region = 0  # where the region being kept (depth 0) or blanked (inside) starts
    for bracket in _BRACKET.finditer(code):
        if bracket.group() in "{(":
            if depth == 0:
                pieces.append(code[region : bracket.end()])
                region = bracket.end()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                pieces.append(" " * (bracket.start() - region))
                region = bracket.start()
    pieces.append(code[region:] if depth == 0 else " " * (len(code) - region))
    return "".join(pieces)


def _matching_braces(code: str) -> dict[int, int]:
    """Each opening brace's position in the stripped source, to its closing brace's; a brace
    never closed, to the end of the source."""
    closes: dict[int, int] = {}
    opened: list[int] = []
    for brace in _BRACE.finditer(code):
        if brace.group() == "{":
            opened.append(brace.start())
        elif opened:
            closes[opened.pop()] = brace.start()
    closes.update(dict.fromkeys(opened, len(code)))
    return closes


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
