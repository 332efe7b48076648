"""Where a run's outputs go. The committed reference (benchmarks/results/latest.json, latest.md,
plots/ and the README's results section; previous.json keeps the reference it replaced, for the
run-to-run comparison) changes only when a complete `make bench` finishes: every
variant measured with the default settings, the ladder, the whole-machine runs and the case study's
scoring service complete and the micro-benchmark done. Every other run (a smoke run, a partial or
interrupted one, one with other options or against servers it did not start) writes to a folder of
its own under benchmarks/results/scratch/, which git ignores."""

from __future__ import annotations

import shutil
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.results import RESULTS_DIR, Json, load_results, write_atomically

if TYPE_CHECKING:
    from benchmarks.planning import Options

SCRATCH_DIR = RESULTS_DIR / "scratch"
# Options that say where servers listen, not what is measured.
NOT_MEASUREMENT = {"free_ports", "ports", "output_dir"}


def scratch_reasons(options: Options, defaults: Options) -> list[str]:
    """Why a run with `options` cannot replace the reference ([] if it can): the options that
    differ from `make bench`'s defaults."""
    return [
        f"--{field.name.replace('_', '-')} differs from make bench's default"
        for field in fields(options)
        if field.name not in NOT_MEASUREMENT
        and getattr(options, field.name) != getattr(defaults, field.name)
    ]


def incomplete_reasons(results: Json) -> list[str]:
    """Why a finished run's results are not complete ([] if they are)."""
    reasons = [
        f"{name} was not measured ({entry['status']})"
        for name, entry in results["variants"].items()
        if entry["status"] != "measured"
    ]
    for stack in (results.get("ladder") or {"stacks": [None]})["stacks"]:
        if stack is None or stack["status"] != "measured":
            reasons.append("the ladder did not complete")
            break
    for run in (results.get("cores") or {"runs": [None]})["runs"]:
        if run is None or run["status"] != "measured":
            reasons.append("the whole-machine runs did not complete")
            break
    scoring = (results.get("scoring") or {"variants": {}})["variants"]
    if not scoring or any(entry["status"] != "measured" for entry in scoring.values()):
        reasons.append("the case study's scoring service was not measured")
    micro = results.get("micro") or {}
    if not micro.get("results") or micro.get("error"):
        reasons.append("the micro-benchmark did not complete")
    return reasons


def run_folder(output_dir: Path | None) -> Path:
    """The folder a run writes to: the one asked for, else a new one under scratch/."""
    if output_dir is not None:
        return output_dir
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return SCRATCH_DIR / stamp


def promote(
    results_path: Path,
    reference_dir: Path = RESULTS_DIR,
    readme: Path | None = None,
    case_study: Path | None = None,
) -> None:
    """Make a complete run the reference: its JSON, table, plots, the README's section and the
    case study's generated figures."""
    from benchmarks.case_study_doc import CASE_STUDY_DOC, update_case_study
    from benchmarks.plots import render_plots
    from benchmarks.readme import README, update_readme
    from benchmarks.table import render_table

    results = load_results(results_path)
    missing = incomplete_reasons(results)
    if missing:
        raise ValueError(f"{results_path} is not complete: {'; '.join(missing)}")
    reference_dir.mkdir(parents=True, exist_ok=True)
    if (reference_dir / "latest.json").exists():  # kept for the run-to-run comparison
        shutil.copyfile(reference_dir / "latest.json", reference_dir / "previous.json")
    shutil.copyfile(results_path, reference_dir / "latest.json")
    write_atomically(reference_dir / "latest.md", render_table(results))
    render_plots(results, reference_dir / "plots")
    update_readme(results, readme or README)
    update_case_study(results, case_study or CASE_STUDY_DOC)
