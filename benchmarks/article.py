"""`make bench-article`: the article's claims checked on this machine, one part at a time.

- headline: its table's test (GET /fib/35, 100 connections, a worker per core), article_headline.py;
- jit: its tip "tune PYPY_JIT_THRESHOLD", warm-up curves of PyPy's real knobs, jit_tips.py;
- micro: its tip "pure Python mode", the .pyx beside the pure-mode file and the iterative
  algorithm on plain Python, micro.py's ARTICLE_COMBINATIONS;
- builds: its FAQ's build time, the extensions compiled from scratch on each interpreter,
  cython-optimized/build_timing.py;
- versions: "should I just upgrade CPython?", the baseline on the newer CPythons installed here,
  measured by the main harness (runner.py) like the variants.

Every part saves the results file as it ends, and a part that fails is recorded with its reason
while the others still run. A complete default run replaces the reference in
benchmarks/results/article/ (latest.json, the versions run and plots/); a --quick or partial run
writes to a folder of its own under benchmarks/results/scratch/.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.article_headline import HeadlineOptions, measure_headline
from benchmarks.jit_tips import JitOptions, measure_jit_tips
from benchmarks.records import recorded_outcome
from benchmarks.reference import SCRATCH_DIR
from benchmarks.results import RESULTS_DIR, Json, save_results

ARTICLE_DIR = RESULTS_DIR / "article"
PARTS = ("headline", "jit", "micro", "builds", "versions")
SCHEMA = "fastapi-hot-paths/article/1"
MICRO_N = 25  # the main micro-benchmark's n, so the rows compare with its table
VERSIONS_N = [0, 20, 25]


@dataclass
class ArticleOptions:
    parts: list[str] = field(default_factory=lambda: list(PARTS))
    quick: bool = False
    allow_busy: bool = False
    output_dir: Path | None = None  # None: the reference folder for a complete run, else scratch

    def is_reference(self) -> bool:
        return not self.quick and list(self.parts) == list(PARTS) and self.output_dir is None


def output_folder(options: ArticleOptions) -> Path:
    if options.output_dir is not None:
        return options.output_dir
    if options.is_reference():
        return ARTICLE_DIR
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return SCRATCH_DIR / f"article-{stamp}"


class ArticleRun:
    """One run: its results, where they go, and how it reports progress."""

    def __init__(self, options: ArticleOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        self.folder = output_folder(options)
        self.path = self.folder / "latest.json"
        self.started = time.monotonic()
        self.results: Json = {
            "schema": SCHEMA,
            "started_at": _now(),
            "quick": options.quick,
            "parts": {},
        }

    def save(self) -> None:
        self.results["finished_at"] = _now()
        self.results["duration_seconds"] = round(time.monotonic() - self.started, 1)
        save_results(self.results, self.path)

    def execute(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        for part in self.options.parts:
            section: Json = {"status": "pending"}
            self.results["parts"][part] = section
            self.say(f"article: {part}")
            with recorded_outcome(section, part, self.save, self.say, part="article"):
                PART_RUNNERS[part](self, section)
        self.save()
        return self.path


def run_headline(run: ArticleRun, section: Json) -> None:
    quick, busy = run.options.quick, run.options.allow_busy
    options = HeadlineOptions.quick(allow_busy=busy) if quick else HeadlineOptions(allow_busy=busy)
    measure_headline(options, run.say, run.save, section)


def run_jit(run: ArticleRun, section: Json) -> None:
    quick, busy = run.options.quick, run.options.allow_busy
    options = JitOptions.quick(allow_busy=busy) if quick else JitOptions(allow_busy=busy)
    measure_jit_tips(options, run.say, run.save, section)
    from benchmarks.plots_jit import plot_jit_curves

    plot_jit_curves(section, run.folder / "plots" / "jit.png")


def run_article_micro(run: ArticleRun, section: Json) -> None:
    from benchmarks.micro import ARTICLE_COMBINATIONS, run_micro
    from benchmarks.planning import plan_pinning

    pinning = plan_pinning()
    cpus = set(pinning["server_cpus"]) if pinning["pinned"] else None
    result = run_micro(
        n=MICRO_N,
        fast=run.options.quick,
        cpus=cpus,
        combinations=ARTICLE_COMBINATIONS,
        on_step=lambda label: run.say(f"article micro: {label}"),
    )
    section.update(result)
    if result.get("error"):
        raise RuntimeError(result["error"])


def run_builds(run: ArticleRun, section: Json) -> None:
    """Both extensions built from scratch, timed, on each interpreter (one after the other)."""
    from build_timing import time_build
    from variants import INTERPRETERS

    section["interpreters"] = {}
    for name, interpreter in INTERPRETERS.items():
        run.say(f"article builds: {name}")
        section["interpreters"][name] = time_build(interpreter)
        run.save()


def run_versions(run: ArticleRun, section: Json) -> None:
    """The baseline on each newer CPython installed here, beside 3.11, by the main harness."""
    from benchmarks.planning import Options
    from benchmarks.progress import RunProgress
    from benchmarks.runner import Run
    from variants import UPGRADE_VARIANTS

    installed = [v.name for v in UPGRADE_VARIANTS if v.installed]
    section["skipped"] = [
        f"{v.display_name}: not installed here (make other-cpythons creates it where "
        f"python{v.interpreter.removeprefix('cpython')} is installed)"
        for v in UPGRADE_VARIANTS
        if not v.installed
    ]
    if not installed:
        return
    folder = run.folder / "versions"
    options = Options(
        variants=["baseline", *installed],
        n_values=[0, 20] if run.options.quick else VERSIONS_N,
        ladder=False,
        cores=False,
        scoring=False,
        micro=False,
        locust_seconds=0,  # the question is throughput; the variants' Locust rows answer the rest
        allow_busy=run.options.allow_busy,
        output_dir=folder,
        **({"repeats": 1, "duration_seconds": 1.0} if run.options.quick else {}),
    )
    path = Run(options, RunProgress(quiet=False)).execute()
    shutil.copyfile(path, folder / "latest.json")
    path.unlink()  # latest.json holds the same: one file to commit
    section["results_file"] = str((folder / "latest.json").relative_to(run.folder))


PART_RUNNERS: dict[str, Callable[[ArticleRun, Json], None]] = {
    "headline": run_headline,
    "jit": run_jit,
    "micro": run_article_micro,
    "builds": run_builds,
    "versions": run_versions,
}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.article", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run, into scratch/")
    parser.add_argument("--parts", help=f"comma-separated, some of {','.join(PARTS)} (default all)")
    parser.add_argument("--allow-busy", action="store_true", help="measure on busy cores anyway")
    parser.add_argument("--out", type=Path, help="write here (default: see above)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",")] if args.parts else list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    options = ArticleOptions(parts, args.quick, args.allow_busy, args.out)
    path = ArticleRun(options, print).execute()
    print(f"results: {path}")
    if options.is_reference():
        from benchmarks.article_readme import update_article_sections

        changed = update_article_sections()
        print("README.md updated" if changed else "README.md already up to date")
    else:
        print("the reference in benchmarks/results/article/ is unchanged (a quick or partial run)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
