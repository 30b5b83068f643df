"""Java's file and class names: the file follows the public top-level type, the class to run
the type that declares ``main``."""

import re

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_PUBLIC_TYPE = re.compile(
    r"^\s*public\s+(?:(?:final|abstract|strictfp|sealed|non-sealed)\s+)*"
    r"(?:class|interface|enum|record)\s+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_TYPE_DECL = re.compile(r"\b(?:class|interface|enum|record)\s+([A-Za-z_$][\w$]*)")
_MAIN_METHOD = re.compile(r"\bstatic\s+(?:final\s+)?(?:public\s+)?void\s+main\s*\(")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)


def java_file_name(code: str) -> str:
    """``Name.java`` after the public top-level type, or ``Main.java`` when none is public."""
    match = _PUBLIC_TYPE.search(_strip(code))
    return f"{match.group(1) if match else 'Main'}.java"


def java_main_class(main: str, content: str) -> str:
    """The fully qualified class to run: the entry file's public type, else the type declared
    last before the first ``main`` method, else the file's stem; with the file's package."""
    code = _strip(content)
    public = _PUBLIC_TYPE.search(code)
    name = main.removesuffix(".java")
    if public:
        name = public.group(1)
    elif method := _MAIN_METHOD.search(code):
        declared = _TYPE_DECL.findall(code, 0, method.start())
        if declared:
            name = declared[-1]
    package = _PACKAGE.search(code)
    return f"{package.group(1)}.{name}" if package else name


def _strip(code: str) -> str:
    return _STRING.sub('""', _COMMENT.sub(" ", code))
