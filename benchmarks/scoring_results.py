"""The case study's figures, read from a results file's "scoring" section: which flavours were
measured, their requests/s, what each step of the migration gained, the server's CPU time per
request. The table, the plots and case-study/fraud-detection-migration.md all read them here."""

from __future__ import annotations

from benchmarks.results import Json

AS_WRITTEN = "scoring"  # the flavour every other one is compared with: the service as written


def scoring_entries(results: Json) -> dict[str, Json]:
    """The flavours in the order they were measured (empty for a file without the case study)."""
    return dict((results.get("scoring") or {}).get("variants") or {})


def measured_flavours(results: Json) -> dict[str, Json]:
    return {
        name: entry
        for name, entry in scoring_entries(results).items()
        if entry["status"] == "measured" and entry.get("wrk")
    }


def wrk_summary(entry: Json) -> Json:
    return entry["wrk"]["summary"]


def flavour_rps(entry: Json | None) -> float | None:
    if not entry or not entry.get("wrk"):
        return None
    return wrk_summary(entry)["requests_per_second"]["median"]


def gain_over_as_written(results: Json, name: str) -> float | None:
    """A flavour's requests/s over the service as written (None where either is missing)."""
    entries = scoring_entries(results)
    mine, base = flavour_rps(entries.get(name)), flavour_rps(entries.get(AS_WRITTEN))
    return mine / base if mine and base else None


def cpu_us_per_request(summary: Json) -> float | None:
    """The server's CPU time per answered request, in µs: its busy cores over requests/s."""
    cores, rps = summary.get("server_cpu_cores"), summary["requests_per_second"]["median"]
    return cores / rps * 1e6 if cores and rps else None


def warm_after_seconds(entry: Json) -> float | None:
    """When the warm-up curve reached its plateau (None without one)."""
    return (entry.get("warmup") or {}).get("plateau_start_seconds")
