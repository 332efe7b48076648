"""The README's code excerpts, copied from the files they quote, so the tutorial cannot drift from
the code (FastAPI's docs include their `docs_src/` files the same way instead of retyping them).

An excerpt sits between two markers; the fenced block between them is generated:

    <!-- excerpt: baseline/baseline_app.py fib_recursive -->     the block of `def fib_recursive`
    <!-- excerpt: cython-optimized/cython_app.py -->             the whole file
    <!-- excerpt end -->

`python -m benchmarks readme` rewrites them; a test fails when one differs from its file.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(
    r"(?P<start><!-- excerpt: (?P<path>\S+)(?: (?P<name>\w+))? -->\n)(?P<body>.*?)"
    r"(?P<end><!-- excerpt end -->)",
    re.DOTALL,
)
LANGUAGES = {".py": "python", ".pyx": "cython"}
DEFINITION = r"^(\s*)(?:async\s+def|def|class|cdef\b[^(]*?)\s+{name}\s*\("


class ExcerptError(ValueError):
    """An excerpt names a file or a definition that does not exist."""


def definition_block(text: str, name: str) -> str:
    """The lines of the definition of `name` (def, class or cdef), through its indented body."""
    lines = text.splitlines()
    pattern = re.compile(DEFINITION.format(name=re.escape(name)))
    for index, line in enumerate(lines):
        found = pattern.match(line)
        if not found:
            continue
        indent = len(found.group(1))
        block = [line]
        for following in lines[index + 1 :]:
            dedented = following.strip() and len(following) - len(following.lstrip()) <= indent
            if dedented and not following.lstrip().startswith(")"):  # ") -> T:" ends a signature
                break
            block.append(following)
        while block and not block[-1].strip():
            block.pop()
        return "\n".join(block)
    raise ExcerptError(f"no definition of {name!r}")


def excerpt(path: str, name: str | None) -> str:
    source = ROOT / path
    if not source.is_file():
        raise ExcerptError(f"{path} does not exist")
    text = source.read_text()
    code = definition_block(text, name) if name else text.rstrip("\n")
    language = LANGUAGES.get(source.suffix, "")
    return f"```{language}\n{code}\n```\n"


def refresh_excerpts(readme_text: str) -> str:
    """The README with every excerpt regenerated from its file."""

    def replace(match: re.Match[str]) -> str:
        try:
            body = excerpt(match["path"], match["name"])
        except ExcerptError as error:
            quoted = f"{match['path']} {match['name'] or ''}".strip()
            raise ExcerptError(f"README excerpt {quoted}: {error}") from None
        return f"{match['start']}{body}{match['end']}"

    return MARKER.sub(replace, readme_text)
