"""Writes syscalls.py from the kernel's syscall tables (run as a module: see main).

The numbers the filter needs are taken from the kernel's UAPI headers (linux-libc-dev):
``asm/unistd_64.h`` for x86_64 and ``asm-generic/unistd.h``, the table aarch64 uses. Syscalls
newer than the installed headers come from LATER_SYSCALLS: since Linux 5.1 (number 424) every
architecture shares one numbering, so one list serves both.
"""

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from executor.sandbox.seccomp.policy import ARCHES, policy_syscalls

HEADERS = {
    "x86_64": ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"),
    "aarch64": ("/usr/include/asm-generic/unistd.h",),
}
# From include/uapi/asm-generic/unistd.h upstream, for kernels newer than Debian's headers.
LATER_SYSCALLS = {"open_tree_attr": 467}
OUTPUT = Path(__file__).with_name("syscalls.py")
_DEFINE = re.compile(r"^#define\s+__NR(?:3264)?_(\w+)\s+(\w+)\s*$", re.MULTILINE)


def header_numbers(text: str) -> dict[str, int]:
    """Syscall name → number from a unistd header, with ``__NR_x __NR3264_y`` aliases resolved.
    Where a header defines a name twice (under different #ifdefs), the first wins."""
    raw: dict[str, str] = {}
    for name, value in _DEFINE.findall(text):
        raw.setdefault(name, value)
    numbers: dict[str, int] = {}
    for name, value in raw.items():
        target = value.removeprefix("__NR3264_").removeprefix("__NR_")
        if value.isdigit():
            numbers[name] = int(value)
        elif target in raw and raw[target].isdigit():
            numbers[name] = int(raw[target])
    return numbers


def table(arch: str, names: Iterable[str], headers: Mapping[str, int]) -> dict[str, int]:
    """The numbers of ``names`` for ``arch``. Raises LookupError for a name no source knows, and
    ValueError when the headers and LATER_SYSCALLS disagree."""
    found = {}
    for name in sorted(names):
        if name in headers:
            if name in LATER_SYSCALLS and LATER_SYSCALLS[name] != headers[name]:
                raise ValueError(f"{arch} {name}: headers say {headers[name]}")
            found[name] = headers[name]
        elif name in LATER_SYSCALLS:
            found[name] = LATER_SYSCALLS[name]
        else:
            raise LookupError(f"no number for {name} on {arch}")
    return found


def render() -> str:
    """The text of syscalls.py for every architecture in ARCHES. Raises FileNotFoundError
    when an architecture's header is not installed."""
    lines = [
        '"""Syscall numbers the seccomp policy names, per architecture. Generated: do not edit."""',
        "",
        "# python -m executor.sandbox.seccomp.generate (from the kernel's UAPI headers; see there)",
        "NUMBERS: dict[str, dict[str, int]] = {",
    ]
    for arch in ARCHES:
        text = _read_first(HEADERS[arch])
        numbers = table(arch, policy_syscalls(arch), header_numbers(text))
        lines.append(f'    "{arch}": {{')
        lines += [f'        "{name}": {number},' for name, number in numbers.items()]
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _read_first(paths: Iterable[str]) -> str:
    for path in paths:
        try:
            return Path(path).read_text()
        except FileNotFoundError:
            continue
    raise FileNotFoundError(f"none of {list(paths)} (install linux-libc-dev)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m executor.sandbox.seccomp.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if syscalls.py is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = OUTPUT.read_text() != text
        if stale:
            print(f"{OUTPUT} is stale: rerun without --check", file=sys.stderr)
        return int(stale)
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
