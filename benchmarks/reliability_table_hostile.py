"""The README's tables of `make soak`'s hostile clients (benchmarks/reliability_clients.py): a
table per scenario, a row per variant, with what every scenario watches (`/health`, the real
requests) and the scenario's own figures, keyed by the field names the scenario records."""

from __future__ import annotations

import json

from benchmarks.formatting import MISSING, format_number, format_plain
from benchmarks.reliability_cells import (
    Column,
    answers_cell,
    count_text,
    failure_example,
    first_value,
    not_applicable_cell,
    out_of,
    setting,
    with_figures,
)
from benchmarks.reliability_table_faults import section_lines
from benchmarks.results import Json


def health_answered(scenario: Json) -> str:
    health = scenario.get("health") or {}
    answered, failures = health.get("answered"), health.get("failures")
    if answered is None or failures is None:
        return MISSING
    examples = health.get("failure_examples")
    return out_of(answered, answered + failures) + failure_example(failures, examples)


def health_max_ms(scenario: Json) -> str:
    return format_number((scenario.get("health") or {}).get("max_ms"))


def real_requests(scenario: Json) -> str:
    """`80 / 0`: real requests answered rightly / not; a failure's example after them."""
    real = scenario.get("real") or {}
    served, failed = real.get("served"), real.get("failed")
    if served is None or failed is None:
        return MISSING
    failed_text = f"**{count_text(failed)}**" if failed else "0"
    example = failure_example(failed, real.get("failure_examples"))
    return f"{count_text(served)} / {failed_text}{example}"


def hostile_of(scenario: Json) -> Json:
    return scenario.get("hostile") or {}


def closed_by_server(scenario: Json) -> str:
    hostile = hostile_of(scenario)
    return out_of(hostile.get("closed_by_server"), hostile.get("opened"))


def hostile_answers(key: str):
    return lambda scenario: answers_cell(hostile_of(scenario).get(key))


def hostile_figures(scenario: Json) -> str:
    """A scenario this module does not know yet: its figures as recorded."""
    hostile = hostile_of(scenario)
    return json.dumps(hostile, sort_keys=True) if hostile else MISSING


WATCHED: list[Column] = [
    ("/health answered", health_answered),
    ("/health max ms", health_max_ms),
    ("Real requests served / failed", real_requests),
]
# Each scenario's own figures (reliability_clients.measure_hostile_clients documents them).
SCENARIO_COLUMNS: dict[str, list[Column]] = {
    "slowloris": [("Closed by the server", closed_by_server)],
    "slowloris_limited": [("Closed by the server", closed_by_server)],
    "idle_keepalive": [
        ("First answers", hostile_answers("first_answers")),
        ("Closed by the server", closed_by_server),
    ],
    "health_flood": [("Flood answers", hostile_answers("answers"))],
}


def scenario_names(entries: Json) -> list[str]:
    """Every scenario any entry recorded, in the order they ran."""
    names: dict[str, None] = {}
    for entry in entries.values():
        names.update(dict.fromkeys(entry.get("scenarios") or {}))
    return list(names)


def scenario_entries(entries: Json, scenario: str) -> Json:
    """Per variant, the scenario's figures as a row's entry; a variant without figures keeps
    its own entry, which says why."""
    rows = {}
    for name, entry in entries.items():
        if not_applicable_cell(entry) is not None:
            rows[name] = entry
        else:
            figures = (entry.get("scenarios") or {}).get(scenario) or {}
            rows[name] = {**figures, "status": "measured"}
    return rows


def oversized_columns(rows: Json) -> list[Column]:
    """A column per oversized request any variant was sent (the scoring service gets bodies)."""
    requests: dict[str, None] = {}
    for row in with_figures(rows):
        requests.update(dict.fromkeys(hostile_of(row)))
    return [(f"`{request}` got", hostile_answers(request)) for request in requests]


def scenario_columns(scenario: str, rows: Json) -> list[Column]:
    if scenario == "oversized":
        return [*WATCHED, *oversized_columns(rows)]
    return [*WATCHED, *SCENARIO_COLUMNS.get(scenario, [("Hostile figures", hostile_figures)])]


def flood_threads(rows: Json) -> str:
    """The flood's threads, as the first variant with figures recorded them."""
    threads = [hostile_of(row).get("threads") for row in with_figures(rows)]
    return count_text(next((count for count in threads if count is not None), None))


def limit_of(rows: Json) -> str:
    """The --limit-concurrency the first variant with figures ran with."""
    for row in with_figures(rows):
        limit = (row.get("settings") or {}).get("UVICORN_LIMIT_CONCURRENCY")
        if limit is not None:
            return limit
    return MISSING


def scenario_intro(scenario: str, entries: Json, rows: Json) -> str:
    connections = setting(entries, "connections")
    intros = {
        "slowloris": f"*Slowloris*: {connections} connections each sending a request's headers "
        "a byte at a time, never finishing them:",
        "slowloris_limited": f"*Slowloris against `--limit-concurrency {limit_of(rows)}`*, a "
        "defence uvicorn has and the variants do not set: the same "
        f"{connections} connections against a server started with that limit. uvicorn counts "
        "the half-sent connections against it and answers everything past it 503, so the real "
        "requests and `/health` are the ones refused:",
        "idle_keepalive": f"*Idle keep-alive*: {connections} connections making one request "
        "each, then idling:",
        "oversized": "*Oversized requests*, each sent whole again and again, and the answers "
        "they got (a status code, `closed` or `hang`; only the scoring service is sent bodies; "
        f"{MISSING}: not sent):",
        "health_flood": f"*`/health` flood*: {flood_threads(rows)} threads asking `/health` "
        "back to back on keep-alive connections:",
    }
    return intros.get(scenario, f"*{scenario}*:")


def scenario_lines(scenario: str, entries: Json) -> list[str]:
    rows = scenario_entries(entries, scenario)
    intro = scenario_intro(scenario, entries, rows)
    return section_lines(intro, rows, scenario_columns(scenario, rows))


def hostile_lines(entries: Json) -> list[str]:
    seconds = first_value(entries, "seconds")
    lines = [
        "**Hostile clients**: each variant under each scenario for "
        f"{MISSING if seconds is None else format_plain(seconds)} s, while `/health` is probed "
        "and a light stream of real requests checks its answers (served: the right answer; "
        "failed: an error or a wrong one):",
    ]
    for scenario in scenario_names(entries):
        lines += ["", *scenario_lines(scenario, entries)]
    failed = [name for name, entry in entries.items() if not_applicable_cell(entry) is not None]
    if failed and not scenario_names(entries):  # no scenario table to show why
        lines += ["", *[f"- {name}: {not_applicable_cell(entries[name])}" for name in failed]]
    return lines
