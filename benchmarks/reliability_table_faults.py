"""The README's tables of the two faults `make soak` causes (benchmarks/reliability_faults.py): a
worker killed under load, and a graceful shutdown under load. Each table is a list of columns
keyed by the entries' field names, so a variant measured later simply fills its row."""

from __future__ import annotations

from collections import Counter

from benchmarks.formatting import MISSING, format_number, markdown_table
from benchmarks.reliability_cells import (
    Column,
    count_of,
    count_text,
    first_value,
    notes_lines,
    number_of,
    out_of,
    seconds_of,
    setting,
    table_rows,
    yes_no,
)
from benchmarks.results import Json

# How a new connection after the signal fared, in this order; anything else (an OSError's text)
# after them.
PROBE_OUTCOMES = ("answered", "reset", "refused", "closed", "hung")


# Killed worker


KILLED_WORKER_COLUMNS: list[Column] = [
    ("Replaced", lambda entry: yes_no(entry.get("replaced"))),
    ("New worker serving s", seconds_of("new_worker_ready_seconds", "**never**")),
    ("/health answered s", seconds_of("health_seconds", "**not within 10 s**")),
    ("Back within 10% s", seconds_of("recovered_within_10_percent_seconds", "**never**")),
    ("Requests/s before", number_of("requests_per_second_before")),
    ("Connections", count_of("connections")),
    ("Failed requests", count_of("failed_requests")),
]


def killed_worker_lines(entries: Json) -> list[str]:
    kill_at = format_number(first_value(entries, "kill_at_seconds"))
    intro = (
        f"**Killed worker**: each variant with {setting(entries, 'workers')} workers under "
        f"wrk load in 1-second runs, one worker killed with `kill -9` {kill_at} s in. "
        "Seconds from the kill "
        "until uvicorn's supervisor had a replacement serving, until `/health` then answered, "
        "and until a 1-second run was back within 10% of the requests/s before the kill. Failed "
        "requests: wrk's errors over the whole run; wrk has one request in flight per "
        "connection, so those on the killed worker number at most the connections:"
    )
    return section_lines(intro, entries, KILLED_WORKER_COLUMNS)


# Graceful shutdown


def long_request(entry: Json) -> str:
    if entry.get("in_flight_request"):
        return entry["in_flight_request"]
    return MISSING if entry.get("n") is None else f"GET /fib/{entry['n']}"  # an older file


def in_flight_completed(entry: Json) -> str:
    completed = out_of(entry.get("completed_200"), entry.get("clients"))
    reset = entry.get("reset_in_backlog")
    return f"{completed}, {reset} reset in the backlog" if reset else completed


def probe_outcome(outcome: str) -> str:
    """`answered 200` for a status line, the outcome itself (reset, refused, …) otherwise."""
    if outcome.startswith("HTTP/"):
        status = outcome.split(" ", 2)[1] if " " in outcome else outcome
        return f"answered {status}"
    return outcome


def outcome_rank(label: str) -> int:
    kind = label.split(" ", 1)[0]
    return PROBE_OUTCOMES.index(kind) if kind in PROBE_OUTCOMES else len(PROBE_OUTCOMES)


def new_connections(entry: Json) -> str:
    """How the connections opened after the signal fared: `2 answered 200, 1 reset`."""
    probes = entry.get("new_connections_after_signal")
    if probes is None:
        return MISSING
    if not probes:
        return "none tried"
    counts = Counter(probe_outcome(probe["outcome"]) for probe in probes)
    labels = sorted(counts, key=outcome_rank)
    return ", ".join(f"{counts[label]} {label}" for label in labels)


def longest_wait(entry: Json) -> str:
    """The longest any new connection waited for its outcome, answered ones included (the
    recorded new_connection_longest_wait_seconds counts only the reset and closed ones)."""
    probes = entry.get("new_connections_after_signal")
    if not probes:
        return MISSING
    return format_number(max(probe["seconds"] for probe in probes))


def processes_left(entry: Json) -> str:
    left = entry.get("left_in_group")
    if left is None:
        return MISSING
    return "none" if not left else f"**{count_text(len(left))}**"


SHUTDOWN_COLUMNS: list[Column] = [
    ("Long requests", long_request),
    ("Completed with 200", in_flight_completed),
    ("New connections after the signal", new_connections),
    ("Longest wait s", longest_wait),
    ("Group exited s", seconds_of("group_exit_seconds", "**not within 30 s**")),
    ("Processes left", processes_left),
]


def sigkill_cell(entry: Json) -> str:
    if "sigkill_after_seconds" not in entry:
        return MISSING
    killed = entry["sigkill_after_seconds"]
    return "no" if killed is None else f"**after {format_number(killed)} s**"


def stuck_upload_cell(entry: Json) -> str:
    stuck = entry.get("stuck_upload")
    if stuck is None:
        return "—" if "stuck_upload" in entry else MISSING
    return f"{probe_outcome(stuck['outcome'])} after {format_number(stuck['seconds'])} s"


CONTAINER_STOP_COLUMNS: list[Column] = [
    ("Long requests", long_request),
    ("Completed with 200", in_flight_completed),
    ("Upload that never ends", stuck_upload_cell),
    ("Exited s", seconds_of("group_exit_seconds", "**not within 30 s**")),
    ("SIGKILL needed", sigkill_cell),
    ("Processes left", processes_left),
]


def container_stop_lines(entries: Json) -> list[str]:
    stop = first_value(entries, "stop") or "docker compose stop"
    timeout = setting(entries, "timeout_graceful_shutdown_seconds")
    intro = (
        f"**Container stop** ({stop}): the image's command (`sh -c \"exec python serve.py "
        '..."`) run as PID 1 of a PID namespace of its own, as in the container, with '
        f"{setting(entries, 'workers')} workers under wrk load and "
        f"{setting(entries, 'clients')} long requests in flight; the scoring service also gets "
        "one upload whose body never ends, which only uvicorn's "
        f"`--timeout-graceful-shutdown` ({timeout} s) stops:"
    )
    return section_lines(intro, entries, CONTAINER_STOP_COLUMNS)


def shutdown_lines(entries: Json) -> list[str]:
    intro = (
        f"**Graceful shutdown**: each variant with {setting(entries, 'workers')} workers "
        f"under wrk load and {setting(entries, 'clients')} long requests in flight when "
        "SIGTERM reaches uvicorn's supervisor: how many completed with 200 and the right answer; "
        "how the new connections opened one after another after the signal fared (answered, "
        "reset, refused, closed or hung) and the longest any of them waited; seconds from the "
        "signal until the process group exited, and how many of its processes were left:"
    )
    return section_lines(intro, entries, SHUTDOWN_COLUMNS)


def section_lines(intro: str, entries: Json, columns: list[Column]) -> list[str]:
    """The intro, the table, and the entries' notes below it."""
    headers = ["Variant", *[header for header, _ in columns]]
    notes = notes_lines(entries)
    table = markdown_table(headers, table_rows(entries, columns))
    return [intro, "", *table, *([""] if notes else []), *notes]
