"""python -m benchmarks run | table FILE | plot FILE | compare OLD NEW (see --help)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from benchmarks.planning import QUICK, BenchmarkError, Options
from benchmarks.progress import RunProgress
from benchmarks.reference import incomplete_reasons, promote, scratch_reasons
from benchmarks.results import RESULTS_DIR, ResultsFormatError, load_results, write_atomically


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 up, got {text!r}")
    return int(text)


# Locust spends its first second starting its users: a 1-second run completed no request here.
MIN_LOCUST_SECONDS = 2


def _locust_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds != 0 and not MIN_LOCUST_SECONDS <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected 0 (skip Locust) or at least {MIN_LOCUST_SECONDS} seconds (Locust needs one "
            f"to start its users), got {text!r}"
        )
    return seconds


def _names(text: str, known: list[str] | None = None) -> list[str]:
    from variants import variant_names

    known = variant_names() if known is None else known
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    return names


def _scoring_names(text: str) -> list[str]:
    from variants import scoring_variant_names

    return _names(text, scoring_variant_names())


def _port_override(text: str) -> tuple[str, int]:
    name, _, port = text.partition("=")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected VARIANT=PORT, got {text!r}")
    return _names(name)[0], int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="verify and measure the variants")
    run.add_argument("--quick", action="store_true", help="a smoke run: 2 n, 1 repeat, short runs")
    run.add_argument("--variants", type=_names, help="comma-separated (default: all four)")
    run.add_argument("--n", type=_ints, dest="n_values", help="work sizes (default 0,10,20,25,30)")
    run.add_argument("--connections", type=_ints, help="wrk connections (default 16)")
    run.add_argument("--repeats", type=int, help="fresh wrk runs per point (default 3)")
    run.add_argument("--duration", type=float, dest="duration_seconds", help="seconds per wrk run")
    run.add_argument("--max-point-seconds", type=float, help="longest wrk run at a slow point")
    run.add_argument("--warmup-max-cpython", type=float, help="seconds (default 8)")
    run.add_argument("--warmup-max-pypy", type=float, help="seconds (default 30)")
    run.add_argument("--locust-seconds", type=_locust_seconds, help="0 skips Locust (default 5)")
    run.add_argument(
        "--locust-repeats", type=_positive, help="fresh Locust runs per variant (default 3)"
    )
    run.add_argument("--locust-users", type=int, help="Locust users (default 16)")
    run.add_argument("--locust-processes", type=int, help="Locust worker processes (default 1)")
    run.add_argument(
        "--no-ladder",
        dest="ladder",
        action="store_false",
        default=None,
        help="skip the framework's ceiling (bare ASGI, Starlette, FastAPI) per stack",
    )
    run.add_argument(
        "--no-cores",
        dest="cores",
        action="store_false",
        default=None,
        help="skip the runs with 1 and 2 workers on every CPU",
    )
    run.add_argument(
        "--workload",
        choices=("all", "fib", "scoring"),
        default="all",
        help="fib: the tutorial's variants, ladder, whole-machine runs and micro-benchmark; "
        "scoring: the case study's scoring service alone (default: all)",
    )
    run.add_argument(
        "--scoring-variants", type=_scoring_names, help="comma-separated (default: all six)"
    )
    run.add_argument("--scoring-seconds", type=float, help="seconds per wrk run (default 4)")
    run.add_argument("--scoring-repeats", type=_positive, help="wrk runs per flavour (default 3)")
    run.add_argument(
        "--scoring-locust-seconds",
        type=_locust_seconds,
        help="0 skips the scoring Locust runs (default 4)",
    )
    run.add_argument(
        "--scoring-locust-repeats", type=_positive, help="Locust runs per flavour (default 3)"
    )
    run.add_argument("--scoring-warmup-max-pypy", type=float, help="seconds (default 45)")
    run.add_argument("--ladder-seconds", type=_positive, help="seconds per ladder run (default 2)")
    run.add_argument(
        "--ladder-repeats", type=_positive, help="interleaved ladder rounds (default 3)"
    )
    run.add_argument("--cores-n", type=int, help="n of the whole-machine runs (default 30)")
    run.add_argument("--no-micro", dest="micro", action="store_false", default=None)
    run.add_argument("--micro-n", type=int, help="n of the micro-benchmark (default 25)")
    run.add_argument(
        "--no-start",
        dest="start_servers",
        action="store_false",
        default=None,
        help="measure servers already running on the variants' ports (e.g. docker compose)",
    )
    run.add_argument("--free-ports", action="store_true", default=None, help="start on free ports")
    run.add_argument(
        "--port",
        dest="ports",
        type=_port_override,
        action="append",
        help="VARIANT=PORT: where that variant is (or is started); repeatable",
    )
    run.add_argument("--fib-max-n", type=int, help="FIB_MAX_N for the servers (default 35)")
    run.add_argument("--allow-busy", action="store_true", default=None, help="skip the idle check")
    run.add_argument(
        "--output-dir",
        type=Path,
        help="where this run writes (default: a new folder under benchmarks/results/scratch/; "
        "only a complete run with make bench's defaults replaces the reference results)",
    )
    run.add_argument("--no-plots", action="store_true")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    table = commands.add_parser("table", help="render the Markdown table of a results file")
    table.add_argument("results", type=Path)
    table.add_argument("--out", type=Path, help="write it here as well as printing it")

    plot = commands.add_parser("plot", help="render the PNG plots of a results file")
    plot.add_argument("results", type=Path)
    plot.add_argument("--out", type=Path, help="folder (default: plots/ beside the file)")

    readme = commands.add_parser(
        "readme", help="regenerate the README's results section and code excerpts"
    )
    readme.add_argument("results", type=Path, nargs="?", default=RESULTS_DIR / "latest.json")
    readme.add_argument("--check", action="store_true", help="only say whether it is up to date")

    compare = commands.add_parser("compare", help="per-row ratios of two results files")
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    return parser


def options_from(arguments: argparse.Namespace) -> Options:
    """The run's Options: the defaults, the --quick preset over them, then the options given."""
    options = Options()
    if arguments.quick:
        for key, value in QUICK.items():
            setattr(options, key, value)
    for key in (
        "variants", "n_values", "connections", "repeats", "duration_seconds", "max_point_seconds",
        "locust_seconds", "locust_repeats", "locust_users", "locust_processes", "ladder",
        "ladder_seconds", "ladder_repeats", "cores", "cores_n",
        "micro", "micro_n", "start_servers", "scoring_variants", "scoring_seconds",
        "scoring_repeats", "scoring_locust_seconds", "scoring_locust_repeats",
        "free_ports", "fib_max_n", "allow_busy", "output_dir",
    ):  # fmt: skip
        value = getattr(arguments, key)
        if value is not None:
            setattr(options, key, value)
    if arguments.scoring_warmup_max_pypy is not None:
        options.scoring_warmup_max_seconds = {
            **options.scoring_warmup_max_seconds,
            "pypy": arguments.scoring_warmup_max_pypy,
        }
    if arguments.workload == "fib":
        options.scoring = False
    elif arguments.workload == "scoring":
        options.variants, options.ladder, options.cores, options.micro = [], False, False, False
    if arguments.ports:
        options.ports = dict(arguments.ports)
    for interpreter in ("cpython", "pypy"):
        value = getattr(arguments, f"warmup_max_{interpreter}")
        if value is not None:
            options.warmup_max_seconds = {**options.warmup_max_seconds, interpreter: value}
    return options


def command_run(arguments: argparse.Namespace) -> int:
    from benchmarks.runner import Run

    options = options_from(arguments)
    progress = RunProgress(quiet=arguments.quiet)
    run = Run(options, progress)
    try:
        path = run.execute()
    except BenchmarkError as error:
        progress.stop()
        print(f"benchmark: not measuring: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.stop()
        kept = f"; results so far are in {run.path}" if run.path.exists() else ""
        print(f"benchmark: interrupted{kept}", file=sys.stderr)
        return 130
    finally:
        progress.stop()
    table = render_outputs(path, run.folder, plots=not arguments.no_plots)
    results = load_results(path)
    not_reference = scratch_reasons(options, Options()) + incomplete_reasons(results)
    if not arguments.quiet:
        print(table)
    if not_reference:
        print(
            f"results: {run.folder} (latest.json, latest.md, plots/). The reference results in "
            f"{RESULTS_DIR} are unchanged: {'; '.join(not_reference)}."
        )
    else:
        promote(path)
        print(f"results: {run.folder}; they are now the reference results in {RESULTS_DIR}")
    failed = [n for n, v in results["variants"].items() if v["status"] != "measured"]
    if failed:
        print(f"benchmark: not measured: {', '.join(failed)} (the table says why)", file=sys.stderr)
        return 1
    return 0


def render_outputs(path: Path, output_dir: Path, plots: bool = True) -> str:
    """The run's own table and plots, beside its results file."""
    from benchmarks.table import render_table

    results = load_results(path)
    table = render_table(results)
    write_atomically(output_dir / "latest.md", table)
    if plots:
        from benchmarks.plots import render_plots

        render_plots(results, output_dir / "plots")
    return table


def command_table(arguments: argparse.Namespace) -> int:
    from benchmarks.table import render_table

    table = render_table(load_results(arguments.results))
    if arguments.out:
        write_atomically(arguments.out, table)
    print(table)
    return 0


def command_plot(arguments: argparse.Namespace) -> int:
    from benchmarks.plots import render_plots

    out = arguments.out or arguments.results.parent / "plots"
    for path in render_plots(load_results(arguments.results), out):
        print(path)
    return 0


def command_readme(arguments: argparse.Namespace) -> int:
    """The generated parts of the README (the results section, the code excerpts) and of the case
    study (case-study/fraud-detection-migration.md)."""
    from benchmarks.article_readme import (
        ARTICLE_RESULTS,
        load_article_results,
        render_article_blocks,
    )
    from benchmarks.case_study_doc import check_case_study, update_case_study
    from benchmarks.excerpts import refresh_excerpts
    from benchmarks.readme import README, render_readme

    results = load_results(arguments.results)
    current = README.read_text()
    wanted = refresh_excerpts(render_readme(current, results))
    article = load_article_results()  # make bench-article's reference, when committed
    if article is not None:
        wanted = render_article_blocks(wanted, article, ARTICLE_RESULTS.parent)
    if arguments.check:
        stale_parts = check_case_study(results)
        if stale_parts:
            parts = ", ".join(stale_parts)
            print(f"benchmark: the case study's {parts} are stale", file=sys.stderr)
        if wanted != current:
            stale = f"README.md is stale against {arguments.results} or the code it quotes"
            print(f"benchmark: {stale}", file=sys.stderr)
        return 1 if wanted != current or stale_parts else 0
    if wanted != current:
        write_atomically(README, wanted)
    print("README.md updated" if wanted != current else "README.md already up to date")
    print("case study updated" if update_case_study(results) else "case study already up to date")
    return 0


def command_compare(arguments: argparse.Namespace) -> int:
    from benchmarks.compare import render_comparison

    old, new = load_results(arguments.old), load_results(arguments.new)
    print(render_comparison(old, new, arguments.old.name, arguments.new.name))
    return 0


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    commands = {
        "run": command_run,
        "table": command_table,
        "plot": command_plot,
        "compare": command_compare,
        "readme": command_readme,
    }
    try:
        return commands[arguments.command](arguments)
    except (ResultsFormatError, FileNotFoundError) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
