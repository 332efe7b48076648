"""Where a profile's samples go: each part of the service's share, from a speedscope file.

    python -m benchmarks.profile_shares FILE.speedscope.json [--threads all]   # prints a table

Which samples: those of the worker's main thread (py-spy's profile named "MainThread"; otherwise
the profile with the most samples, which is the only one in a vmprof file, as PyPy's vmprof
records no thread ids), or of every thread with `--threads all`. Both profilers sample on-CPU time
only: py-spy skips idle threads unless given --idle (benchmarks/profiling.py never gives it), and
vmprof samples on the process's CPU time, so a worker waiting for requests adds no samples.

The rule. Each sample gets one category from the frames on its stack, searched from the innermost
(leaf) frame outwards: the first frame that matches a rule in RULES decides, the rules tried in
their order; a sample with no matching frame at all is `other`. A rule matches a frame by its file
path (a shell pattern over the whole path, "/" separated) and, where it names one, the function
(the last dotted part of the frame's name, so py-spy's "JSONResponse.render" and vmprof's "render"
match alike):

    engine      fraud_scoring*/ (the plain engine, its compiled flavours and, with py-spy --native,
                their generated C files); the Fibonacci variants' fib_cython.* and fib_recursive
    validation  the request model's own check in scoring_app.py (history_not_later, which
                pydantic calls back), before the rule below
    other       the services' own modules (scoring_app.py, baseline_app.py, cython_app.py): their
                endpoint code is neither engine nor framework, so it is not left to the caller
    validation  pydantic/, pydantic_core/, scoring_validation.py; pydantic-core parses the request's
                JSON inside the same C call that validates it, so that parsing counts here
    json        json/ (the standard library's; _json.c with --native), orjson/, Starlette's
                responses.py render (every response these services send is a JSONResponse, whose
                render is json.dumps), FastAPI's encoders.py (jsonable_encoder)
    framework   fastapi/, starlette/, anyio/
    server      uvicorn/, httptools/, h11/, asyncio/ (the event loop, wherever it is called from;
                _asynciomodule.c with --native), uvloop/

So the plain-Python check's json.loads of the request is `json`, while pydantic's parsing of the
same body is `validation`. Time in C code (pydantic-core, uvloop, the socket's write) lands on the
innermost Python frame above it unless the profile has native frames; the rule then still finds the
first matching frame outwards, as C frames of libc or libuv match no rule. PyPy's garbage collector
has no frame of its own in vmprof's samples: its time lands on the frame that allocated when a
collection began, so garbage made in one part can show up in another's share.

Amdahl: if compiling the engine made it infinitely fast and nothing else changed, the service
could serve at most 1 / (1 - engine share) times as many requests per CPU second; that is the
most any compiler of the engine alone can gain.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from variants import ROOT

CATEGORIES = ("engine", "validation", "json", "framework", "server", "other")
TOP_FUNCTIONS = 10

Json = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    category: str
    paths: tuple[str, ...]  # shell patterns over the whole path, any one of them
    function: str | None = None  # and the function is this one (last part of its dotted name)


RULES: tuple[Rule, ...] = (
    Rule("engine", ("*/fraud_scoring*/*", "*/fib_cython.*")),
    Rule("engine", ("*/baseline_app.py",), function="fib_recursive"),
    Rule("validation", ("*/scoring_app.py",), function="history_not_later"),
    Rule("other", ("*/scoring_app.py", "*/baseline_app.py", "*/cython_app.py")),
    Rule("validation", ("*/pydantic/*", "*/pydantic_core/*", "*/scoring_validation.py")),
    Rule("json", ("*/starlette/responses.py",), function="render"),
    Rule("json", ("*/json/*", "*/_json.c", "*/orjson/*", "*/fastapi/encoders.py")),
    Rule("framework", ("*/fastapi/*", "*/starlette/*", "*/anyio/*")),
    Rule("server", ("*/uvicorn/*", "*/httptools/*", "*/h11/*", "*/asyncio/*", "*/uvloop/*")),
    Rule("server", ("*/_asynciomodule.c",)),
)


def frame_category(frame: Json, rules: tuple[Rule, ...] = RULES) -> str | None:
    """The category of the first rule that matches `frame` ({"name", "file"}), else None."""
    path = "/" + (frame.get("file") or "").replace("\\", "/").lstrip("/")
    function = str(frame.get("name", "")).rsplit(".", 1)[-1]
    for rule in rules:
        if rule.function is not None and rule.function != function:
            continue
        if any(fnmatchcase(path, pattern) for pattern in rule.paths):
            return rule.category
    return None


def sample_category(stack: list[int], categories: list[str | None]) -> str:
    """The category of the innermost matching frame of `stack` (frame indices, root first)."""
    for index in reversed(stack):
        if categories[index] is not None:
            return categories[index]  # type: ignore[return-value]
    return "other"


def chosen_profiles(document: Json, threads: str = "main") -> list[Json]:
    """The sampled profiles counted: the main thread's (see the docstring), or all of them."""
    profiles = [p for p in document["profiles"] if p.get("type") == "sampled"]
    if not profiles:
        raise ValueError("the file holds no sampled profile")
    if threads == "all":
        return profiles
    named = [p for p in profiles if '"MainThread"' in p.get("name", "")]
    return named[:1] or [max(profiles, key=lambda p: len(p["samples"]))]


def weighted_samples(profiles: list[Json]) -> list[tuple[list[int], float]]:
    """(stack, weight) of every sample; a profile without weights counts each sample as 1."""
    samples = []
    for profile in profiles:
        weights = profile.get("weights") or [1.0] * len(profile["samples"])
        samples.extend(zip(profile["samples"], weights))
    return samples


def category_shares(document: Json, threads: str = "main") -> tuple[dict[str, float], int]:
    """Each category's share of the chosen samples' weight, and how many samples there were."""
    frames = document["shared"]["frames"]
    categories = [frame_category(frame) for frame in frames]
    samples = weighted_samples(chosen_profiles(document, threads))
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for stack, weight in samples:
        totals[sample_category(stack, categories)] += weight
    whole = sum(totals.values())
    if whole <= 0:
        raise ValueError("the chosen profile has no samples")
    return {name: total / whole for name, total in totals.items()}, len(samples)


def top_functions(document: Json, threads: str = "main", count: int = TOP_FUNCTIONS) -> list[Json]:
    """The functions the most samples were in at the leaf (self time), lines merged."""
    frames = document["shared"]["frames"]
    samples = weighted_samples(chosen_profiles(document, threads))
    own: Counter[tuple[str, str]] = Counter()
    for stack, weight in samples:
        if stack:
            leaf = frames[stack[-1]]
            own[(leaf["name"], short_path(leaf.get("file") or ""))] += weight
    whole = sum(weight for _, weight in samples)
    ranked = sorted(own.items(), key=lambda item: (-item[1], item[0]))[:count]
    return [{"name": name, "file": file, "share": w / whole} for (name, file), w in ranked]


def short_path(file: str) -> str:
    """A frame's file without this machine's prefix: from the package (site-packages), the
    repository or the standard library on."""
    if "site-packages/" in file:
        return file.rsplit("site-packages/", 1)[1]
    if file.startswith(f"{ROOT}/"):
        return file[len(f"{ROOT}/") :]
    return re.sub(r"^.*/lib/(python|pypy)[0-9.]*/", "", file)


def amdahl(engine_share: float) -> Json:
    """The most that a faster engine alone could speed the service up (see the docstring)."""
    ceiling = 1.0 / (1.0 - engine_share) if engine_share < 1.0 else None
    return {"engine_share": engine_share, "ceiling": ceiling}


def profiler_name(document: Json) -> str:
    """The profiler and its version, from the exporter field ("py-spy@0.4.3", "vmprof@…")."""
    return str(document.get("exporter", "unknown")).replace("@", " ", 1)


def shares_report(
    document: Json,
    variant: str,
    interpreter: str,
    seconds: float,
    sampling: Json | None = None,
    threads: str = "main",
) -> Json:
    """The shares.json of one profile (see benchmarks/profiling.py)."""
    shares, samples = category_shares(document, threads)
    return {
        "variant": variant,
        "interpreter": interpreter,
        "profiler": profiler_name(document),
        "seconds": seconds,
        "samples": samples,
        "shares": shares,
        "top_functions": top_functions(document, threads),
        "amdahl": amdahl(shares["engine"]),
        "sampling": {**(sampling or {}), "threads": threads},
    }


def format_report(report: Json) -> str:
    """The report as a small table for the terminal."""
    lines = [f"{report['variant']}: {report['profiler']}, {report['samples']} samples"]
    lines += [f"  {name:<11} {share:6.1%}" for name, share in report["shares"].items()]
    ceiling = report["amdahl"]["ceiling"]
    shown = "unbounded" if ceiling is None else f"{ceiling:.2f}×"
    lines.append(f"  Amdahl ceiling of compiling the engine alone: {shown}")
    lines.append("  top functions (own samples):")
    lines += [
        f"    {entry['share']:6.1%}  {entry['name']}  {entry['file']}"
        for entry in report["top_functions"]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a speedscope JSON file (py-spy's or vmprof's)")
    parser.add_argument("--threads", choices=("main", "all"), default="main")
    options = parser.parse_args(argv)
    try:
        document = json.loads(options.file.read_text())
        name = options.file.name.removesuffix(".speedscope.json")
        report = shares_report(document, name, "unknown", 0.0, None, options.threads)
    except (OSError, ValueError, KeyError) as error:
        print(f"profile_shares: {options.file}: {error}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
