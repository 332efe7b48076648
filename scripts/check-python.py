"""Is this interpreter new enough for the CPython environment that `make setup` creates?

`make setup` builds .venv/cpython with $(PYTHON) (default python3) from pinned requirements, and
pip refuses a pin whose Requires-Python the interpreter does not meet, deep into the install. Run
under that interpreter, this says so at once, with the version needed and how to give make
another one: `python3 scripts/check-python.py [NAME]` (NAME: how the Makefile calls it, for the
message). Exit status 0 when it will do, 1 with the reason otherwise; silent on success.

Written for any Python 3 (no f-strings, no `from __future__ import annotations`): on an old
interpreter it must print its message, not fail on syntax.
"""

import platform
import sys

MINIMUM = (3, 11)
# Why 3.11: these pins of the CPython environment declare Requires-Python >=3.11 in their package
# metadata (fastapi's, for one: https://pypi.org/project/fastapi/0.165.0/); the other pins ask for
# 3.10 or less. tests/test_check_python.py reads the metadata of every pin in the installed
# environment and fails when a new pin raises the minimum above MINIMUM.
NEEDED_BY = (
    ("fastapi", "0.165.0"),
    ("starlette", "1.10.0"),
    ("numpy", "2.4.6"),
    ("matplotlib", "3.11.2"),
    ("locust", "2.47.0"),
    ("schemathesis", "4.32.5"),
)


def dotted(version: tuple) -> str:
    return ".".join(str(part) for part in version)


def refusal(version: tuple, implementation: str) -> str:
    """Why an interpreter of `implementation` at `version` cannot build the environment; "" when
    it can."""
    wanted = "CPython " + dotted(MINIMUM) + " or newer"
    if implementation != "CPython":
        return "the CPython environment needs " + wanted + ", not " + implementation
    if tuple(version[:2]) < MINIMUM:
        pins = ", ".join(name + " " + pinned for name, pinned in NEEDED_BY)
        return "the CPython environment needs " + wanted + " (its pins " + pins + " require it)"
    return ""


def message(name: str, reason: str) -> str:
    """The refusal, then what to do about it."""
    found = platform.python_implementation() + " " + platform.python_version()
    minimum = dotted(MINIMUM)
    return (
        "make setup: " + name + " is " + found + " (" + sys.executable + "); " + reason + ".\n"
        "Install CPython " + minimum + " or newer with its venv module and headers (Debian 12 "
        "and Ubuntu 24.04 have one as python3; elsewhere use the package manager or pyenv), "
        "then run: PYTHON=python" + minimum + " make setup\n"
    )


def main(argv: list) -> int:
    name = argv[1] if len(argv) > 1 else "this python"
    reason = refusal(sys.version_info, platform.python_implementation())
    if not reason:
        return 0
    sys.stderr.write(message(name, reason))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
