"""The generated parts of case-study/fraud-detection-migration.md, rendered from a results file's
"scoring" section and the reference profile (case-study/profiles/scoring.shares.json, written by
`make profile VARIANT=scoring`), so the case study quotes measurements only. Each part sits between
`<!-- case-study:NAME:start -->` and `<!-- case-study:NAME:end -->`; a test fails when one differs
from what the committed results render to.

    python -m benchmarks.case_study_doc update [RESULTS]     rewrite the generated parts
    python -m benchmarks.case_study_doc check [RESULTS]      exit 1 and name the stale parts
    python -m benchmarks.case_study_doc capacity [RESULTS] --target-rps 5000 --p99-ms 50
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchmarks.case_study_parts import (
    NOT_MEASURED,
    capacity_lines,
    claims_lines,
    has_scoring,
    name_of,
    profile_lines,
    throughput_lines,
)
from benchmarks.excerpts import ROOT, definition_block
from benchmarks.formatting import (
    format_duration,
    format_number,
    format_ratio,
    ratio_of,
    warning_mark,
)
from benchmarks.results import RESULTS_DIR, Json, load_results, write_atomically
from benchmarks.scoring_results import (
    AS_WRITTEN,
    flavour_rps,
    gain_over_as_written,
    measured_flavours,
    scoring_entries,
)

CASE_STUDY_DOC = ROOT / "case-study" / "fraud-detection-migration.md"
PROFILE_SHARES = ROOT / "case-study" / "profiles" / "scoring.shares.json"
MARKER = re.compile(r"<!-- case-study:(?P<name>[\w-]+):(?P<edge>start|end) -->")

# The typed twin against the plain file: the definitions whose diff shows the whole idea.
FEATURES = "case-study/fraud_scoring/features.py"
FEATURES_TYPED = "case-study/fraud_scoring/features_typed.py"
DIFFED_DEFINITIONS = ("to_usd", "add_velocity_features")


def with_decorators(text: str, name: str) -> str:
    """The definition of `name` with the decorator lines above it."""
    block = definition_block(text, name)
    before = text[: text.index(block)].splitlines()
    decorators = []
    while before and before[-1].lstrip().startswith("@"):
        decorators.insert(0, before.pop())
    return "\n".join([*decorators, block])


def typed_diff_lines(results: Json, shares: Json | None) -> list[str]:
    """`diff -u` of the plain and the typed definitions, read from the files (no measurement)."""
    plain, typed = (Path(ROOT, path).read_text() for path in (FEATURES, FEATURES_TYPED))
    lines = ["```diff"]
    for name in DIFFED_DEFINITIONS:
        diff = difflib.unified_diff(
            with_decorators(plain, name).splitlines(),
            with_decorators(typed, name).splitlines(),
            fromfile=f"{FEATURES} ({name})",
            tofile=f"{FEATURES_TYPED} ({name})",
            lineterm="",
        )
        lines += list(diff)
    return [*lines, "```"]


@dataclass(frozen=True)
class Step:
    name: str  # the flavour this step produces
    previous: str  # the flavour it changes
    change: str


# The migration in the order a team would try it; each step names the flavour it starts from.
STEPS = (
    Step(AS_WRITTEN, AS_WRITTEN, "The service as written"),
    Step("scoring-cython", AS_WRITTEN, "Compile the engine with Cython, source unchanged"),
    Step("scoring-cython-typed", "scoring-cython", "Add Cython's pure-Python-mode types"),
    Step("scoring-mypyc", "scoring-cython-typed", "Compile the typed source with mypyc instead"),
    Step("scoring-pypy", AS_WRITTEN, "Run the service as written on PyPy"),
    Step("scoring-pypy-lean", "scoring-pypy", "On PyPy, check the request in plain Python"),
)


# The steps, as sentences


def warm_up_clause(entry: Json) -> str:
    warmup = entry.get("warmup") or {}
    if warmup.get("plateau_start_seconds") is not None:
        return f"; warm after {format_duration(warmup['plateau_start_seconds'])} of load"
    if warmup.get("seconds"):
        return f"; no plateau within {format_duration(warmup['seconds'][-1])} of warm-up"
    return ""


def step_sentence(results: Json, step: Step) -> str:
    entries = scoring_entries(results)
    entry = entries.get(step.name)
    head = f"- **{step.change}** ({name_of(results, step.name)})"
    if entry is None or step.name not in measured_flavours(results):
        why = (entry or {}).get("error") or "not in these results"
        return f"{head}: not measured: {why}"
    summary = entry["wrk"]["summary"]
    text = f"{head}: {format_number(flavour_rps(entry))} requests/s{warning_mark(summary)}"
    over_base = format_ratio(gain_over_as_written(results, step.name))
    if step.previous != AS_WRITTEN:
        over_previous = ratio_of(flavour_rps(entry), flavour_rps(entries.get(step.previous)))
        text += f", {format_ratio(over_previous)} the step before it"
        text += f" ({name_of(results, step.previous)}) and {over_base} the service as written"
    elif step.name != AS_WRITTEN:
        text += f", {over_base} the service as written"
    memory = (entry.get("memory") or {}).get("peak_pss_mib_per_worker")
    text += f"; p99 {format_number(summary['latency_ms']['p99'])} ms"
    text += f"; peak PSS {format_number(memory)} MiB per worker"
    return text + (warm_up_clause(entry) if entry["interpreter"] == "pypy" else "") + "."


def steps_lines(results: Json) -> list[str]:
    if not has_scoring(results):
        return [NOT_MEASURED]
    return [step_sentence(results, step) for step in STEPS]


Renderer = Callable[[Json, "Json | None"], list[str]]
# The generated parts, in the order the case study shows them.
BLOCKS: dict[str, Renderer] = {
    "profile": lambda results, shares: profile_lines(results, shares),
    "typed-diff": typed_diff_lines,
    "throughput": lambda results, shares: throughput_lines(results),
    "steps": lambda results, shares: steps_lines(results),
    "capacity": lambda results, shares: capacity_lines(results),
    "claims": lambda results, shares: claims_lines(results),
}


def start_marker(name: str) -> str:
    return f"<!-- case-study:{name}:start -->"


def end_marker(name: str) -> str:
    return f"<!-- case-study:{name}:end -->"


def render_block(name: str, results: Json, shares: Json | None) -> str:
    return "\n".join(BLOCKS[name](results, shares)) + "\n"


def block_body(text: str, name: str) -> str:
    """What the document holds between the markers of `name` (ValueError without them)."""
    start, end = start_marker(name), end_marker(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the case study needs one {start} followed by one {end}")
    return text.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")


def check_marker_names(text: str) -> None:
    unknown = sorted({m["name"] for m in MARKER.finditer(text)} - set(BLOCKS))
    if unknown:
        raise ValueError(f"the case study has markers of unknown parts: {', '.join(unknown)}")


def render_case_study(text: str, results: Json, shares: Json | None) -> str:
    """`text` with every generated part rendered from `results` and `shares`."""
    check_marker_names(text)
    for name in BLOCKS:
        block_body(text, name)  # every part is there, once
        before, rest = text.split(start_marker(name), 1)
        _, after = rest.split(end_marker(name), 1)
        body = render_block(name, results, shares)
        text = f"{before}{start_marker(name)}\n{body}{end_marker(name)}{after}"
    return text


def stale_blocks(text: str, results: Json, shares: Json | None) -> list[str]:
    """The names of the parts that differ from a fresh render ([] when all are current)."""
    check_marker_names(text)
    return [
        name for name in BLOCKS if block_body(text, name) != render_block(name, results, shares)
    ]


def load_shares(path: Path = PROFILE_SHARES) -> Json | None:
    """The profile's shares file, None until `make profile VARIANT=scoring` has written it."""
    return json.loads(path.read_text()) if path.is_file() else None


def update_case_study(
    results: Json, path: Path = CASE_STUDY_DOC, shares_path: Path = PROFILE_SHARES
) -> bool:
    """Rewrite the case study's generated parts; True if anything changed."""
    text = path.read_text()
    updated = render_case_study(text, results, load_shares(shares_path))
    if updated != text:
        write_atomically(path, updated)
    return updated != text


def check_case_study(
    results: Json, path: Path = CASE_STUDY_DOC, shares_path: Path = PROFILE_SHARES
) -> list[str]:
    """The stale parts of the case study on disk ([] when it is current)."""
    return stale_blocks(path.read_text(), results, load_shares(shares_path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("update", "check", "capacity"))
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS_DIR / "latest.json")
    parser.add_argument("--target-rps", type=float, help="capacity: requests/s to serve")
    parser.add_argument("--p99-ms", type=float, help="capacity: the p99 latency target")
    arguments = parser.parse_args(argv)
    results = load_results(arguments.results)
    if arguments.command == "capacity":
        print("\n".join(capacity_lines(results, arguments.target_rps, arguments.p99_ms)))
        return 0
    if arguments.command == "check":
        stale = check_case_study(results)
        if stale:
            print(f"case study: stale parts: {', '.join(stale)}", file=sys.stderr)
        return 1 if stale else 0
    changed = update_case_study(results)
    print(f"{CASE_STUDY_DOC.name} {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
