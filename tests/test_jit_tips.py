"""The JIT-settings part (benchmarks/jit_tips.py, plots_jit.py): the plateau figures and the table
from a fixture section, the commands each setting starts, the probe of PyPy's JIT, and one real
run of the default against `--jit off` over HTTP."""

from __future__ import annotations

import statistics
import struct
from pathlib import Path

import psutil
import pytest

from benchmarks.jit_tips import (
    JIT_SETTINGS,
    JitOptions,
    JitTipError,
    article_sentence,
    check_flags_arrived,
    get_setting,
    jit_table,
    measure_jit_tips,
    plateau_summary,
    probe_jit,
    relative_spread,
    setting_command,
    setting_entry,
)
from benchmarks.plots_jit import jit_figure, plot_jit_curves
from benchmarks.records import set_status
from benchmarks.warmup import warmup_record
from variants import INTERPRETERS

SECONDS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
# Rises for two points, then flat: the plateau starts at the third (3.0 s), median 3,000.
DEFAULT_CURVE = [1000.0, 2000.0, 2900.0, 3000.0, 3100.0, 3000.0, 3050.0, 2950.0]
# The same shape, its plateau's median 2,985 (0.5% below the default's).
ARTICLE_CURVE = [1500.0, 2500.0, 2900.0, 2950.0, 3000.0, 3030.0, 2970.0, 3000.0]
# Flat from the first point, median 302.5.
OFF_CURVE = [300.0, 310.0, 305.0, 300.0, 295.0, 305.0, 300.0, 310.0]
DEFAULT_COMPILE_AT = 1040


def measured_entry(name: str, curve: list[float], compiled_at: int | None) -> dict:
    entry = setting_entry(get_setting(name))
    entry["probe"] = {
        "first_loop_compiled_at": compiled_at,
        "default_threshold": 1039,
        "default_function_threshold": 1619,
    }
    entry["warmup"] = warmup_record(20, 16, SECONDS, curve)
    set_status(entry, "measured")
    return entry


@pytest.fixture
def section() -> dict:
    failed = setting_entry(get_setting("lower"))
    set_status(failed, "failed", "lower: the server exited with 1")
    return {
        "variant": "pypy",
        "n": 20,
        "connections": 16,
        "seconds_per_curve": 8.0,
        "cpu_model": "Test CPU",
        "pinning": {"note": "load generator on CPU 0, server on CPU 1"},
        "settings": [
            measured_entry("default", DEFAULT_CURVE, DEFAULT_COMPILE_AT),
            failed,
            measured_entry("off", OFF_CURVE, None),
            measured_entry("article-variable", ARTICLE_CURVE, DEFAULT_COMPILE_AT),
        ],
    }


# Plateau figures and the table


def test_plateau_summary_of_a_rising_then_flat_curve() -> None:
    summary = plateau_summary(warmup_record(20, 16, SECONDS, DEFAULT_CURVE))
    assert summary["plateau_start_seconds"] == 3.0
    assert summary["plateau_requests_per_second"] == 3000.0
    assert summary["plateau_points"] == 6
    # Quartiles 2,937.5 and 3,062.5 of the six plateau points, over their median.
    assert summary["plateau_spread"] == pytest.approx(125 / 3000)


def test_plateau_summary_of_a_flat_curve_starts_at_its_first_point() -> None:
    summary = plateau_summary(warmup_record(20, 16, SECONDS, OFF_CURVE))
    assert summary["plateau_start_seconds"] == 1.0
    assert summary["plateau_requests_per_second"] == 302.5
    assert summary["plateau_points"] == 8


def test_one_dip_does_not_widen_the_spread_of_a_plateau() -> None:
    assert relative_spread([100.0, 100.0, 100.0, 100.0, 10.0, 100.0, 100.0]) == 0.0
    assert relative_spread([100.0]) == 0.0
    assert relative_spread([]) is None


def test_a_curve_still_rising_has_no_plateau() -> None:
    rising = [100.0 * (i + 1) for i in range(8)]
    summary = plateau_summary(warmup_record(20, 16, SECONDS, rising))
    assert summary == {
        "plateau_start_seconds": None,
        "plateau_requests_per_second": None,
        "plateau_points": 0,
        "plateau_spread": None,
    }


def test_the_table_of_the_fixture_section(section: dict) -> None:
    lines = jit_table(section).splitlines()
    assert lines[:6] == [
        "| setting | time to plateau s | plateau requests/s | vs default "
        "| JIT probe: first loop compiled at |",
        "|---|---|---|---|---|",
        "| default (no flag) | 3.00 | 3,000 | 1.00× | 1,040 iterations |",
        "| --jit threshold=200,function_threshold=300 | not measured (failed): lower: the server "
        "exited with 1 | — | — | — |",
        "| --jit off | 1.00 | 303 | 0.101× | never (no loop compiled) |",
        "| PYPY_JIT_THRESHOLD=100 (no flag) | 3.00 | 2,985 | 0.995× | 1,040 iterations |",
    ]
    assert lines[6] == ""
    assert lines[7] == article_sentence(section)


def test_the_sentence_says_the_variable_changed_nothing_within_the_noise(section: dict) -> None:
    assert article_sentence(section) == (
        "PYPY_JIT_THRESHOLD=100 changed nothing measurable: its plateau is within 0.500% of the "
        "default's, inside this run's noise of 4.17%; the JIT probe compiled its first loop at "
        "the same iteration (1040 against 1040), as PyPy reads no such variable: "
        "`--jit threshold=N` is the setting. The two are the same configuration, so their "
        "times to plateau (3.00 s and 3.00 s) show how much a time to plateau varies from run "
        "to run here."
    )


def test_the_sentence_reports_a_difference_beyond_the_noise(section: dict) -> None:
    faster = [value * 2 for value in ARTICLE_CURVE]
    section["settings"][3] = measured_entry("article-variable", faster, 200)
    assert article_sentence(section).startswith(
        "PYPY_JIT_THRESHOLD=100 moved the plateau by 99.0% against the default's, more than this "
        "run's noise of 4.17%, though PyPy does not read it; the JIT probe compiled its first "
        "loop at a different iteration (200 against 1040)"
    )


def test_without_both_plateaus_the_sentence_compares_nothing(section: dict) -> None:
    del section["settings"][0]
    assert article_sentence(section).startswith("PYPY_JIT_THRESHOLD: not compared")
    assert "| — |" in jit_table(section).splitlines()[2]  # no default: no "vs default"


# Settings and commands


def test_the_settings_cover_the_default_lower_thresholds_off_and_the_article() -> None:
    by_name = {setting.name: setting for setting in JIT_SETTINGS}
    assert by_name["default"].flags == [] and by_name["default"].environment == {}
    assert by_name["off"].flags == ["--jit", "off"]
    assert by_name["lower"].flags == ["--jit", "threshold=200,function_threshold=300"]
    assert by_name["much-lower"].flags == ["--jit", "threshold=20,function_threshold=30"]
    article = by_name["article-variable"]
    assert article.flags == [] and article.environment == {"PYPY_JIT_THRESHOLD": "100"}


@pytest.mark.parametrize("setting", JIT_SETTINGS, ids=lambda setting: setting.name)
def test_the_flags_land_right_after_the_interpreter(setting) -> None:
    command = setting_command(setting, 8123)
    flags = len(setting.flags)
    assert command[0] == str(INTERPRETERS["pypy"])
    assert command[1 : 1 + flags] == setting.flags
    assert command[1 + flags : 1 + flags + 3] == ["-m", "uvicorn", "baseline.baseline_app:app"]
    assert command[command.index("--workers") + 1] == "1"
    check_flags_arrived(command, setting.flags)  # what the run checks of the serving process


def test_flags_missing_from_the_serving_process_fail_the_setting() -> None:
    plain = setting_command(get_setting("default"), 8123)
    with pytest.raises(JitTipError, match=r"not with \['--jit', 'off'\] after the interpreter"):
        check_flags_arrived(plain, ["--jit", "off"])
    moved = [*plain, "--jit", "off"]  # given to uvicorn, not to PyPy
    with pytest.raises(JitTipError):
        check_flags_arrived(moved, [])


def test_unknown_setting_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="default, lower, much-lower, off, article-variable"):
        get_setting("PYPY_JIT_THRESHOLD")


# The plot


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR's width and height


def test_the_plot_is_1200_by_600_with_the_legend_off_the_axes(section: dict, tmp_path) -> None:
    path = plot_jit_curves(section, tmp_path / "jit.png")
    assert png_size(path) == (1200, 600)
    figure = jit_figure(section)
    figure.canvas.draw()
    (ax,) = figure.axes
    (legend,) = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [
        "default (no flag) (plateau from 3 s)",
        "--jit off (plateau from 1 s)",
        "PYPY_JIT_THRESHOLD=100 (no flag) (plateau from 3 s)",
    ]
    renderer = figure.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert not box.overlaps(ax.get_window_extent(renderer))
    assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1  # not cut off either


def test_a_section_without_curves_is_not_plotted(section: dict, tmp_path) -> None:
    section["settings"] = [section["settings"][1]]  # the failed one
    with pytest.raises(ValueError, match="no JIT setting has a warm-up curve"):
        plot_jit_curves(section, tmp_path / "jit.png")


# Real PyPy


def test_the_probe_sees_the_threshold_a_flag_sets_and_not_the_article_variable() -> None:
    default = probe_jit(get_setting("default"))
    assert default["default_threshold"] == 1039  # `pypy --jit help`
    assert default["default_function_threshold"] == 1619
    lower = probe_jit(get_setting("lower"))["first_loop_compiled_at"]
    much_lower = probe_jit(get_setting("much-lower"))["first_loop_compiled_at"]
    assert much_lower < lower < default["first_loop_compiled_at"]
    assert probe_jit(get_setting("off"))["first_loop_compiled_at"] is None
    article = probe_jit(get_setting("article-variable"))
    assert article["first_loop_compiled_at"] == default["first_loop_compiled_at"]


def test_the_quick_preset_serves_default_and_jit_off_over_http() -> None:
    section: dict = {}
    said: list[str] = []
    saves: list[int] = []
    options = JitOptions.quick(settings=["default", "off"], allow_busy=True)
    measure_jit_tips(options, said.append, lambda: saves.append(1), section)

    default, off = section["settings"]
    for entry in (default, off):
        assert (entry["status"], entry["error"]) == ("measured", None)
        assert entry["verification"]["passed"]
        assert len(entry["warmup"]["seconds"]) >= 3
        assert entry["runtime"].startswith("PyPy 7.")
    assert len(saves) == 2  # after each setting
    assert off["serving_command"][1:3] == ["--jit", "off"]
    assert "--jit" not in default["serving_command"]
    assert off["probe"]["first_loop_compiled_at"] is None
    # Not a timing assertion on this project's code: without its JIT, PyPy runs fib(20) many
    # times slower, which proves the flag reached the interpreter that served.
    off_rps = statistics.median(off["warmup"]["requests_per_second"])
    default_rps = statistics.median(default["warmup"]["requests_per_second"])
    assert off_rps * 3 < default_rps, (off_rps, default_rps)


def test_ctrl_c_stops_the_server_and_records_the_setting_as_interrupted() -> None:
    section: dict = {}
    saves: list[int] = []

    def interrupt_once_serving(message: str) -> None:
        if "s of GET" in message:  # said once the server is up, before the curve
            raise KeyboardInterrupt

    options = JitOptions.quick(settings=["off", "default"], allow_busy=True)
    with pytest.raises(KeyboardInterrupt):
        measure_jit_tips(options, interrupt_once_serving, lambda: saves.append(1), section)

    (entry,) = section["settings"]  # the second setting never started
    assert (entry["status"], entry["error"]) == ("interrupted", "interrupted before it finished")
    assert saves == [1]
    running = [process.info["cmdline"] for process in psutil.process_iter(["cmdline"])]
    assert entry["serving_command"] not in running  # stopped with its process group


def test_an_n_the_server_would_refuse_is_refused_before_anything_starts() -> None:
    options = JitOptions.quick(n=36, fib_max_n=35, allow_busy=True)
    with pytest.raises(JitTipError, match=r"n must be from 0 to fib_max_n \(35\), not 36"):
        measure_jit_tips(options, print, lambda: None, {})
