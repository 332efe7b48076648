"""The README's reliability tables of the killed worker, the shutdown and the hostile clients, and
the soak's memory plot: cells from hand-made entries (unsupported, failed, fields missing), the
committed soak's figures, and the plot's lines."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmarks.formatting import MISSING
from benchmarks.plots import MAX_PIXELS
from benchmarks.plots_soak import main as plots_soak_main
from benchmarks.plots_soak import memory_figure, write_memory_plot
from benchmarks.reliability_table import (
    MEMORY_PLOT,
    MEMORY_PLOT_LINK,
    load_soak_results,
    reliability_section,
)
from benchmarks.results import Json

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UNSUPPORTED = {
    "status": "measured",
    "workers": 2,
    "notes": ["fib variants only (GET /fib/10)"],
    "outcome": "unsupported",
    "error": None,
}
FAILED = {"status": "failed", "error": "pypy: the server exited with 1"}


def killed_worker_entry(**changes: object) -> Json:
    entry = {
        "status": "measured",
        "workers": 2,
        "connections": 8,
        "kill_at_seconds": 4.0,
        "replaced": True,
        "new_worker_ready_seconds": 0.5087,
        "health_seconds": 0.5117,
        "requests_per_second_before": 13339.2,
        "recovered_within_10_percent_seconds": 2.328,
        "failed_requests": 4,
        "notes": [],
        "left_behind": [],
        "outcome": "ok",
        "error": None,
    }
    return {**entry, **changes}


def shutdown_entry(**changes: object) -> Json:
    probes = [
        {"at_seconds": 0.2, "outcome": "HTTP/1.1 200 OK", "seconds": 0.006},
        {"at_seconds": 0.4, "outcome": "HTTP/1.1 200 OK", "seconds": 0.9},
        {"at_seconds": 0.6, "outcome": "reset", "seconds": 0.66},
    ]
    entry = {
        "status": "measured",
        "workers": 2,
        "clients": 4,
        "n": 34,
        "completed_200": 4,
        "new_connections_after_signal": probes,
        "new_connection_hung": False,
        "new_connection_longest_wait_seconds": 0.66,
        "group_exit_seconds": 1.313,
        "left_in_group": [],
        "notes": [],
        "left_behind": [],
        "outcome": "ok",
        "error": None,
    }
    return {**entry, **changes}


def scenario(hostile: Json, served: int = 80, failed: int = 0) -> Json:
    return {
        "health": {"answered": 41, "failures": 0, "failure_examples": [], "max_ms": 2.41},
        "real": {"served": served, "failed": failed, "failure_examples": ["status 500"][:failed]},
        "hostile": hostile,
    }


def hostile_entry(scoring: bool = False) -> Json:
    oversized = {"header_100kB": {"200": 79}}
    if scoring:
        oversized = {"header_100kB": {"415": 78, "closed": 1}, "body_over_limit": {"413": 79}}
    return {
        "status": "measured",
        "connections": 300,
        "seconds": 8.0,
        "scenarios": {
            "slowloris": scenario({"opened": 300, "bytes_trickled": 4800, "closed_by_server": 0}),
            "idle_keepalive": scenario(
                {"opened": 300, "first_answers": {"200": 300}, "closed_by_server": 121}
            ),
            "oversized": scenario(oversized, served=78, failed=1),
            "health_flood": scenario({"threads": 4, "answers": {"200": 110548}}),
        },
        "error": None,
    }


def results_with(**parts: Json) -> Json:
    renamed = {name.replace("_", "-"): entries for name, entries in parts.items()}
    return {"started_at": "2026-11-28T12:00:00Z", "parts": renamed}


def row_of(section: str, heading: str, variant: str) -> list[str]:
    """The cells of `variant`'s row in the first table after the line starting `heading`."""
    after = section.split(heading, 1)[1]
    for line in after.splitlines():
        if line.startswith(f"| {variant} |") or line.startswith(f"| {variant} ("):
            return [cell.strip() for cell in line.strip("|").split(" | ")]
    raise AssertionError(f"no row for {variant} after {heading!r}")


# Killed worker


def test_the_killed_worker_table_quotes_each_field():
    section = reliability_section(results_with(killed_worker={"baseline": killed_worker_entry()}))
    row = row_of(section, "**Killed worker**", "baseline")
    assert row == ["baseline", "yes", "0.509", "0.512", "2.33", "13,339", "8", "4"]
    assert "killed with `kill -9` 4.00 s in" in section


def test_a_worker_not_replaced_and_a_rate_not_recovered_say_so():
    entry = killed_worker_entry(
        replaced=False,
        new_worker_ready_seconds=None,
        recovered_within_10_percent_seconds=None,
        outcome="failed",
        notes=["no replacement worker served within 30 s of the kill"],
    )
    del entry["health_seconds"]  # not recorded: the missing marker, not a crash
    section = reliability_section(results_with(killed_worker={"pypy": entry}))
    row = row_of(section, "**Killed worker**", "pypy")
    assert row[:5] == ["pypy (**failed**)", "**no**", "**never**", MISSING, "**never**"]
    assert "- pypy: no replacement worker served within 30 s of the kill" in section


def test_unsupported_and_failed_entries_show_their_note_and_error():
    entries = {"scoring": UNSUPPORTED, "pypy": FAILED, "baseline": killed_worker_entry()}
    section = reliability_section(results_with(killed_worker=entries))
    scoring = row_of(section, "**Killed worker**", "scoring")
    assert scoring == ["scoring", "unsupported: fib variants only (GET /fib/10)", *[MISSING] * 6]
    pypy = row_of(section, "**Killed worker**", "pypy")
    assert pypy[1] == "not measured: pypy: the server exited with 1"
    assert "- scoring:" not in section  # an unsupported entry's note is its row, said once


# Shutdown


def test_the_shutdown_table_summarises_the_new_connections():
    section = reliability_section(results_with(shutdown={"baseline": shutdown_entry()}))
    row = row_of(section, "**Graceful shutdown**", "baseline")
    assert row == [
        "baseline",
        "GET /fib/34",
        "4 of 4",
        "2 answered 200, 1 reset",
        "0.900",  # the longest of every probe, answered ones included
        "1.31",
        "none",
    ]


def test_a_shutdown_that_hung_left_processes_and_lost_requests_shows_it():
    probes = [
        {"at_seconds": 0.2, "outcome": "refused", "seconds": 0.001},
        {"at_seconds": 0.4, "outcome": "hung", "seconds": 35.0},
        {"at_seconds": 0.6, "outcome": "HTTP/1.1 503 Service Unavailable", "seconds": 0.01},
        {"at_seconds": 0.8, "outcome": "closed", "seconds": 0.2},
    ]
    entry = shutdown_entry(
        completed_200=3,
        new_connections_after_signal=probes,
        group_exit_seconds=None,
        left_in_group=[101, 102],
        left_behind=[103],
    )
    del entry["n"]
    section = reliability_section(results_with(shutdown={"pypy": entry}))
    row = row_of(section, "**Graceful shutdown**", "pypy")
    assert row[1:] == [
        MISSING,
        "3 of 4",
        "1 answered 503, 1 refused, 1 closed, 1 hung",
        "35.0",
        "**not within 30 s**",
        "**2**",
    ]
    assert "- pypy: left behind after the server was stopped: 103" in section


def test_a_note_the_variants_share_is_said_once():
    note = "new connections after the signal waited in the supervisor's listen backlog"
    entries = {name: shutdown_entry(notes=[note]) for name in ("baseline", "cython")}
    section = reliability_section(results_with(shutdown=entries))
    assert section.count(note) == 1
    assert f"- baseline, cython: {note}" in section


# Hostile clients


def test_each_hostile_scenario_has_its_table():
    entries = {"baseline": hostile_entry(), "scoring": hostile_entry(scoring=True)}
    section = reliability_section(results_with(hostile=entries))
    assert "**Hostile clients**: each variant under each scenario for 8 s" in section
    assert row_of(section, "*Slowloris*", "baseline") == [
        "baseline",
        "41 of 41",
        "2.41",
        "80 / 0",
        "0 of 300",
    ]
    assert row_of(section, "*Idle keep-alive*", "baseline")[4:] == [
        "200 (300 of 300)",
        "121 of 300",
    ]
    assert "| Variant | /health answered | /health max ms | Real requests served / failed | " in (
        section
    )
    oversized_scoring = row_of(section, "*Oversized requests*", "scoring")
    assert oversized_scoring[3:] == [
        "78 / **1** (status 500)",
        "415 (78 of 79), closed (1 of 79)",
        "413 (79 of 79)",
    ]
    # The fib service is sent no body: its body column is the missing marker.
    assert row_of(section, "*Oversized requests*", "baseline")[4:] == ["200 (79 of 79)", MISSING]
    assert "*`/health` flood*: 4 threads" in section
    assert row_of(section, "*`/health` flood*", "baseline")[4] == "200 (110,548 of 110,548)"


def test_a_failed_hostile_entry_and_a_missing_scenario_do_not_break_the_tables():
    partial = hostile_entry()
    del partial["scenarios"]["health_flood"]
    del partial["scenarios"]["slowloris"]["health"]
    entries = {"baseline": partial, "pypy": FAILED, "scoring": hostile_entry(scoring=True)}
    section = reliability_section(results_with(hostile=entries))
    assert row_of(section, "*Slowloris*", "baseline")[1:3] == [MISSING, MISSING]
    assert row_of(section, "*`/health` flood*", "baseline")[1:] == [MISSING] * 4
    assert row_of(section, "*Slowloris*", "pypy")[1] == (
        "not measured: pypy: the server exited with 1"
    )


def test_a_scenario_the_tables_do_not_know_yet_shows_its_figures():
    entry = hostile_entry()
    entry["scenarios"] = {"pipelining": scenario({"answered": 3})}
    section = reliability_section(results_with(hostile={"baseline": entry}))
    assert row_of(section, "*pipelining*", "baseline")[-1] == '{"answered": 3}'


# The committed soak


@pytest.fixture
def committed() -> Json:
    results = load_soak_results()
    if results is None:
        pytest.skip("no soak run is committed")
    return results


def test_the_committed_soak_renders_every_part(committed: Json) -> None:
    section = reliability_section(committed)
    headings = ("**Killed worker**", "**Graceful shutdown**", "**Container stop**")
    for heading in (*headings, "**Hostile clients**"):
        assert heading in section
    assert row_of(section, "**Killed worker**", "baseline")[1] == "yes"
    assert row_of(section, "**Killed worker**", "scoring")[1] == "yes"
    assert row_of(section, "**Graceful shutdown**", "cython")[2] == "4 of 4"
    stop = row_of(section, "**Container stop**", "scoring")
    assert stop[3].startswith("answered 500 after ") and stop[5] == "no", stop
    assert row_of(section, "*Slowloris*", "scoring-mypyc")[-1] == "0 of 300"
    assert f"![Memory per worker over the sustained runs]({MEMORY_PLOT_LINK})" in section


def test_the_readme_block_is_what_the_committed_soak_renders_to():
    from benchmarks.readme import README
    from benchmarks.reliability_table import END, START

    block = README.read_text().split(START, 1)[1].split(END, 1)[0].removeprefix("\n")
    assert block == reliability_section(load_soak_results())


def test_a_section_of_the_sustained_part_alone_has_no_fault_tables(committed: Json) -> None:
    sustained_only = {**committed, "parts": {"sustained": committed["parts"]["sustained"]}}
    section = reliability_section(sustained_only)
    assert "**Killed worker**" not in section and "**Hostile clients**" not in section
    empty = {**committed, "parts": {}}
    assert "measured no part" in reliability_section(empty)


# The memory plot


def line_labels(results: Json) -> list[str]:
    figure = memory_figure(results)
    assert figure is not None
    return [line.get_label() for ax in figure.axes for line in ax.get_lines()]


def test_the_memory_plot_draws_a_line_per_variant_a_panel_per_runtime(committed: Json) -> None:
    figure = memory_figure(committed)
    assert figure is not None
    panels = {ax.get_title(): [line.get_label() for line in ax.get_lines()] for ax in figure.axes}
    assert sorted(panels) == ["CPython", "PyPy"]
    names = [label.split(" (ends at", 1)[0] for label in panels["CPython"]]
    assert names == ["baseline", "cython", "scoring", "scoring-cython", "scoring-cython-typed",
                     "scoring-mypyc", "cython LOOP=uvloop", "scoring LOOP=uvloop",
                     "scoring TURN_BUDGET_SECONDS=0"]  # fmt: skip
    assert [label.split(" (ends at", 1)[0] for label in panels["PyPy"]] == [
        "pypy",
        "pypy-cython",
        "scoring-pypy",
        "scoring-pypy-lean",
        "scoring-pypy TURN_BUDGET_SECONDS=0",
    ]
    last = committed["parts"]["sustained"]["baseline"]["memory_timeline"][-1][1]
    assert panels["CPython"][0] == f"baseline (ends at {last:.1f} MiB)"
    legend = figure.legends[0]  # below the panels, as in the other plots
    assert len(legend.get_texts()) == 14
    width, height = figure.get_size_inches() * figure.dpi
    assert width <= MAX_PIXELS and height <= MAX_PIXELS


def test_the_memory_plot_skips_variants_without_samples(committed: Json, tmp_path: Path) -> None:
    results = copy.deepcopy(committed)
    sustained = results["parts"]["sustained"]
    for name in list(sustained):
        if "pypy" in name:
            sustained[name]["memory_timeline"] = []
    sustained["scoring"] = FAILED
    labels = line_labels(results)
    # the committed file's 9 CPython rows (three with a setting), less the failed one
    assert len(labels) == 8 and not any("pypy" in label for label in labels)
    assert len(memory_figure(results).axes) == 1  # no PyPy panel without a PyPy line
    path = write_memory_plot(results, tmp_path / "memory.png")
    assert path == tmp_path / "memory.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    for entry in sustained.values():
        entry["memory_timeline"] = []
    assert write_memory_plot(results, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_the_command_redraws_the_plot_from_a_results_file(committed: Json, tmp_path: Path) -> None:
    import json

    source = tmp_path / "latest.json"
    source.write_text(json.dumps(committed))
    assert plots_soak_main([str(source)]) == 0
    assert (tmp_path / "memory.png").read_bytes()[:8] == PNG_SIGNATURE
    assert plots_soak_main([str(source), "--out", str(tmp_path / "other.png")]) == 0
    assert (tmp_path / "other.png").exists()


def test_the_committed_plot_is_where_the_readme_links_it():
    assert MEMORY_PLOT == ROOT / MEMORY_PLOT_LINK
    if load_soak_results() is not None:
        assert MEMORY_PLOT.read_bytes()[:8] == PNG_SIGNATURE
