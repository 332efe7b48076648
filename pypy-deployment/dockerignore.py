"""What Docker sends as the build context: .dockerignore's rules, matched as Docker matches them
(Go's filepath.Match plus `**`; the last matching rule decides)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from variants import ROOT

DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    exclude: bool  # False for a `!pattern` exception
    regex: re.Pattern[str]


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            pattern = re.sub(r"/+", "/", line.lstrip("!").strip().strip("/"))
            exclude = not line.startswith("!")
            rules.append(IgnoreRule(pattern, exclude, re.compile(ignore_regex(pattern))))
    return rules


def load_dockerignore(path: Path = DOCKERIGNORE) -> list[IgnoreRule]:
    return parse_dockerignore(path.read_text())


def ignore_regex(pattern: str) -> str:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out) + r"\Z"


def is_ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker leaves `relative` (to the context root) out: a path is out when it or one of
    its parent folders matches, and the last rule that matches decides."""
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        if any(rule.regex.match(candidate) for candidate in candidates):
            ignored = rule.exclude
    return ignored


def context_files(root: Path = ROOT, rules: list[IgnoreRule] | None = None) -> list[str]:
    """The files Docker would send as the build context (paths relative to the context)."""
    rules = load_dockerignore() if rules is None else rules
    prune = all(rule.exclude for rule in rules)  # without `!` exceptions, an ignored folder is out
    found = []
    for folder, subfolders, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        if prune:
            subfolders[:] = [d for d in subfolders if not is_ignored(prefix + d, rules)]
        found += [prefix + f for f in files if not is_ignored(prefix + f, rules)]
    return sorted(found)
