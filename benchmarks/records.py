"""The entries of the results file, built by typed constructors (the shape is in the docstring of
benchmarks/results.py): each constructor writes every key the format names, in the format's order,
and refuses what the format does not allow, so the harness never spells a key of the format by
hand and a mistake fails where it is made, not in the table or the plots later.

The entries are plain dicts: a run fills them in as it measures (a status, repeats, a summary)
and rewrites the file after every measurement, so what is on disk is always what the format says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from numbers import Real
from typing import Any

from benchmarks.ladder_plan import FRAMEWORK_RUNGS
from benchmarks.results import Json, summarize_repeats
from variants import INTERPRETERS, UPGRADE_VARIANTS, Variant, variant_names

STATUSES = ("pending", "measured", "failed", "interrupted")
SCENARIO_OF_TOOL = {"wrk": "fib", "locust": "mixed"}
FRAMEWORK_RUNG_KEYS = tuple(key for key, _, _ in FRAMEWORK_RUNGS)
CONTRACT_RUNG_KINDS = ("variant", "offloaded")  # "variant:NAME", "offloaded:NAME"
INTERRUPTED = "interrupted before it finished"


class RecordError(ValueError):
    """An entry the results format does not allow: a mistake in the harness, not a measurement."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RecordError(message)


def _require_variant(name: str) -> None:
    known = name in variant_names() or name in {v.name for v in UPGRADE_VARIANTS}
    _require(known, f"unknown variant {name!r}")


def _require_n(n: Any) -> None:
    _require(isinstance(n, int) and not isinstance(n, bool) and n >= 0, f"n must be >= 0: {n!r}")


def _require_count(value: Any, what: str) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool), f"{what} must be an int")
    _require(value >= 1, f"{what} must be at least 1, not {value}")


def _require_seconds(value: Any) -> None:
    _require(isinstance(value, Real) and value > 0, f"a duration must be positive, not {value!r}")


def _require_repeats(repeats: Any) -> None:
    _require(isinstance(repeats, list), "repeats must be a list")
    _require(bool(repeats), "a record needs at least one repeat")
    _require(all(isinstance(r, dict) for r in repeats), "every repeat must be a dict")


def _require_load(tool: str, connections: int, duration_seconds: float, repeats: Any) -> None:
    _require(tool in SCENARIO_OF_TOOL, f"tool must be one of {sorted(SCENARIO_OF_TOOL)}")
    _require_count(connections, "connections")
    _require_seconds(duration_seconds)
    _require_repeats(repeats)


def variant_entry(variant: Variant) -> Json:
    """A variant as it starts: pending, with nothing measured yet."""
    _require_variant(variant.name)
    return {
        "display_name": variant.display_name,
        "interpreter": variant.interpreter,
        "loop": variant.loop,  # uvicorn's event loop and HTTP parser (variants.py)
        "http": variant.http,
        "runtime": None,
        "implementation": None,
        "status": "pending",
        "error": None,
        "verification": None,
        "warmup": None,
        "memory": None,
    }


def wrk_record(
    variant: str,
    n: int,
    connections: int,
    duration_seconds: float,
    repeats: list[Json],
    compute_times_ms: list[float] | None,
) -> Json:
    """One point of the sweep: GET /fib/`n` with `connections`, and the compute time the server
    reported at that n."""
    _require_n(n)
    return _load_record(variant, "wrk", n, connections, duration_seconds, repeats, compute_times_ms)


def locust_record(variant: str, users: int, duration_seconds: float, repeats: list[Json]) -> Json:
    """The mixed scenario: `users` Locust users (the record's connections)."""
    return _load_record(variant, "locust", None, users, duration_seconds, repeats, None)


def _load_record(
    variant: str,
    tool: str,
    n: int | None,
    connections: int,
    duration_seconds: float,
    repeats: list[Json],
    compute_times_ms: list[float] | None,
) -> Json:
    _require_variant(variant)
    _require_load(tool, connections, duration_seconds, repeats)
    return {
        "variant": variant,
        "tool": tool,
        "scenario": SCENARIO_OF_TOOL[tool],
        "n": n,
        "connections": connections,
        "duration_seconds": duration_seconds,
        "repeats": repeats,
        "summary": summarize_repeats(repeats, compute_times_ms),
    }


def ladder_section(path: str, connections: int, duration_seconds: float, repeats: int) -> Json:
    """The ladder as it starts: how each rung is measured, no stack yet."""
    _require(path.startswith("/"), f"the ladder's path must start with /, not {path!r}")
    _require_count(connections, "connections")
    _require_seconds(duration_seconds)
    _require_count(repeats, "the ladder's repeats")
    return {
        "path": path,
        "connections": connections,
        "duration_seconds": duration_seconds,
        "repeats": repeats,
        "stacks": [],
    }


def ladder_stack_entry(interpreter: str, loop: str, http: str, chosen: bool) -> Json:
    """A stack of the ladder as it starts: pending, no rungs yet."""
    _require(interpreter in INTERPRETERS, f"unknown interpreter {interpreter!r}")
    _require(isinstance(chosen, bool), "chosen must be True or False")
    return {
        "interpreter": interpreter,
        "loop": loop,
        "http": http,
        "chosen": chosen,
        "status": "pending",
        "error": None,
        "rungs": [],
    }


def rung_entry(
    key: str, label: str, variant: str | None, app: str, environment: dict[str, str]
) -> Json:
    """A rung as it starts: what it serves, nothing measured yet (see the RUNG of the format)."""
    kind, _, name = key.partition(":")
    if name:
        _require(kind in CONTRACT_RUNG_KINDS, f"unknown kind of rung {key!r}")
        _require(variant == name, f"rung {key!r} must name its variant, not {variant!r}")
        _require_variant(name)
    else:
        _require(key in FRAMEWORK_RUNG_KEYS, f"unknown rung {key!r}")
        _require(variant is None, f"the framework rung {key!r} measures no variant")
    return {
        "key": key,
        "label": label,
        "variant": variant,
        "app": app,
        "environment": dict(environment),
        "warmup": None,
        "repeats": [],
        "summary": None,
    }


def cores_section(n: int, connections: int, cpus: list[int], note: str) -> Json:
    """The whole-machine runs as they start: where they run, no run yet."""
    _require_n(n)
    _require_count(connections, "connections")
    _require(bool(cpus) and all(isinstance(cpu, int) for cpu in cpus), "cpus must list CPUs")
    return {"n": n, "connections": connections, "cpus": cpus, "note": note, "runs": []}


def cores_run_entry(variant: str, workers: int) -> Json:
    """One whole-machine run as it starts: pending, nothing measured yet."""
    _require_variant(variant)
    _require_count(workers, "workers")
    return {
        "variant": variant,
        "workers": workers,
        "status": "pending",
        "error": None,
        "warmup": None,
        "duration_seconds": None,
        "repeats": [],
        "summary": None,
    }


def scoring_section(
    path: str, connections: int, duration_seconds: float, repeats: int, bodies: Json
) -> Json:
    """The case study's measurements as they start: how each flavour is loaded, none measured."""
    _require(path.startswith("/"), f"a path, not {path!r}")
    _require_count(connections, "connections")
    _require_seconds(duration_seconds)
    _require_count(repeats, "repeats")
    _require(set(bodies) == {"seed", "count", "history_length"}, f"bodies: {bodies!r}")
    return {
        "path": path,
        "connections": connections,
        "duration_seconds": duration_seconds,
        "repeats": repeats,
        "bodies": dict(bodies),
        "variants": {},
    }


def scoring_entry(variant: Variant) -> Json:
    """One flavour of the scoring service as it starts: pending, nothing measured yet."""
    _require(variant.workload == "scoring", f"{variant.name} is not a scoring variant")
    settings = dict(variant.environment)
    return {
        "display_name": variant.display_name,
        "interpreter": variant.interpreter,
        "engine": settings["SCORING_ENGINE"],
        "validation": settings["SCORING_VALIDATION"],
        "runtime": None,
        "compiled": None,
        "status": "pending",
        "error": None,
        "verification": None,
        "warmup": None,
        "wrk": None,
        "locust": None,
        "memory": None,
    }


def scoring_load(tool: str, connections: int, duration_seconds: float, repeats: list[Json]) -> Json:
    """One tool's runs against a flavour, with their summary."""
    _require_load(tool, connections, duration_seconds, repeats)
    return {
        "tool": tool,
        "connections": connections,
        "duration_seconds": duration_seconds,
        "repeats": repeats,
        "summary": summarize_repeats(repeats, None),
    }


def micro_section(n: int, results: list[Json], error: str | None) -> Json:
    """The micro-benchmark: the combinations measured and, if some could not be, why."""
    _require_n(n)
    _require(isinstance(results, list), "results must be a list")
    _require(bool(results) or error is not None, "a micro-benchmark without results says why")
    return {"n": n, "results": results, "error": error}


def set_status(entry: Json, status: str, error: str | None = None) -> None:
    """Move a variant, a ladder stack or a whole-machine run on from "pending"."""
    _require(status in STATUSES, f"status must be one of {STATUSES}, not {status!r}")
    _require((error is None) == (status in ("pending", "measured")), f"{status} with error {error}")
    entry["status"], entry["error"] = status, error


@contextmanager
def recorded_outcome(
    entry: Json,
    subject: str,
    save: Callable[[], None],
    say: Callable[[str], None],
    part: str = "",
) -> Iterator[None]:
    """Measure in the block, then record in `entry` how it ended: measured; failed (the error is
    recorded and said, and the run goes on: one failure must not lose the rest); or interrupted
    (saved, then the interruption goes on). The error starts with `subject` ("pypy", "cpython
    uvloop+httptools"); the message also names the `part` of the run ("ladder", "cores")."""
    try:
        yield
        set_status(entry, "measured")
    except KeyboardInterrupt:
        set_status(entry, "interrupted", INTERRUPTED)
        save()
        raise
    except Exception as error:
        set_status(entry, "failed", f"{subject}: {error}")
        shown = f"{part} {subject}" if part else subject
        say(f"[red]{shown} failed:[/red] {error}")
    save()
