"""The ladder of a results file (benchmarks/ladder.py): where a cheap request's time goes, per HTTP
stack. Lookups of its stacks and rungs, and the sentences drawn from them, which the table, the
README and the plots share.
"""

from __future__ import annotations

from benchmarks.formatting import (
    MISSING,
    display_name,
    format_number,
    format_percent,
    format_ratio,
    ratio_of,
    warning_mark,
)
from benchmarks.results import Json

INTERPRETER_NAMES = {"cpython": "CPython", "pypy": "PyPy"}
# The framework rungs, each adding one layer to the one before it.
FRAMEWORK_RUNGS = ("asgi", "starlette", "fastapi")
FLOOR = "fastapi"  # FastAPI with our response model and no computation
FLOOR_NAME = "FastAPI's floor"


def stacks_of(results: Json) -> list[Json]:
    return (results.get("ladder") or {}).get("stacks") or []


def measured_stacks(results: Json) -> list[Json]:
    """The stacks with at least one measured rung."""
    return [stack for stack in stacks_of(results) if measured_rungs(stack)]


def runtime_of(results: Json, interpreter: str) -> str:
    entry = results.get("environment", {}).get("interpreters", {}).get(interpreter) or {}
    return entry.get("runtime") or INTERPRETER_NAMES.get(interpreter, interpreter)


def stack_name(results: Json, stack: Json) -> str:
    """`CPython 3.11.7 · uvloop + httptools`."""
    return f"{runtime_of(results, stack['interpreter'])} · {stack['loop']} + {stack['http']}"


def chosen_stack(results: Json, interpreter: str) -> Json | None:
    """The interpreter's stack in the variants' table."""
    stacks = stacks_of(results)
    return next((s for s in stacks if s["interpreter"] == interpreter and s.get("chosen")), None)


def stack_difference(stack: Json, other: Json) -> str:
    """What `stack` runs that `other` does not: `httptools`, or `uvloop + httptools`."""
    parts = [stack[key] for key in ("loop", "http") if stack[key] != other[key]]
    return " + ".join(parts) or f"{stack['loop']} + {stack['http']}"


def measured_rungs(stack: Json) -> list[Json]:
    """The rungs with a summary: an interrupted stack may hold rungs never measured."""
    return [rung for rung in stack.get("rungs", []) if rung.get("summary")]


def rung_median(stack: Json, key: str) -> float | None:
    for rung in measured_rungs(stack):
        if rung["key"] == key:
            return rung["summary"]["requests_per_second"]["median"]
    return None


def rung_figures(stack: Json, rung: Json) -> str:
    """`10,853 (100%)`: the rung's median requests/s and its share of the stack's FastAPI floor,
    with ⚠ where the table flags it."""
    median = rung["summary"]["requests_per_second"]["median"]
    share = format_percent(ratio_of(median, rung_median(stack, FLOOR)))
    return f"{format_number(median)} ({share}){warning_mark(rung['summary'])}"


def base_key(key: str) -> str | None:
    """The rung that `key` adds one layer to: the framework rung before it, FastAPI's floor for a
    variant (our contract), the variant itself for its offloaded rung (the thread hand-off)."""
    if key.startswith("offloaded:"):
        return "variant:" + key.split(":", 1)[1]
    if key.startswith("variant:"):
        return FLOOR
    index = FRAMEWORK_RUNGS.index(key) if key in FRAMEWORK_RUNGS else 0
    return FRAMEWORK_RUNGS[index - 1] if index else None


def layer_cost(stack: Json, rung: Json) -> str:
    """`0.600× bare ASGI app`: the rung's requests/s over those of the rung it builds on."""
    base = base_key(rung["key"])
    labels = {other["key"]: other["label"] for other in measured_rungs(stack)}
    if base not in labels:
        return MISSING
    ratio = ratio_of(rung["summary"]["requests_per_second"]["median"], rung_median(stack, base))
    return f"{format_ratio(ratio)} {FLOOR_NAME if base == FLOOR else labels[base]}"


# Sentences


def handoff_sentence(results: Json, stack: Json) -> str | None:
    """What handing every computation to a worker thread (the old design) costs at n=0."""
    offloaded = [rung for rung in measured_rungs(stack) if rung["key"].startswith("offloaded:")]
    if not offloaded:
        return None
    key = offloaded[0]["key"]
    inline, handed = rung_median(stack, base_key(key)), rung_median(stack, key)
    if not inline:
        return None
    return (
        f"{stack_name(results, stack)}: handing every computation to a worker thread costs "
        f"{format_percent(1 - handed / inline)} of n=0 throughput "
        f"({display_name(results, offloaded[0]['variant'])}: {format_number(inline)} → "
        f"{format_number(handed)} requests/s)."
    )


def stack_comparison(results: Json, chosen: Json, other: Json) -> str | None:
    """The chosen stack over another of the same interpreter: its first variant and the floor."""
    variants = [r for r in measured_rungs(chosen) if r["key"].startswith("variant:")]
    if not variants:
        return None
    variant = variants[0]
    figures = []
    for key, what in ((variant["key"], f"{variant['label']} at n=0"), (FLOOR, FLOOR_NAME)):
        mine, theirs = rung_median(chosen, key), rung_median(other, key)
        if mine is not None and theirs:
            figures.append(
                f"{what} serves {format_ratio(mine / theirs)} the requests/s "
                f"({format_number(mine)} against {format_number(theirs)})"
            )
    if not figures:
        return None
    return (
        f"{runtime_of(results, chosen['interpreter'])}, {stack_difference(chosen, other)} "
        f"against {stack_difference(other, chosen)}: " + "; ".join(figures) + "."
    )


def stack_comparisons(results: Json) -> list[str]:
    """Each stack measured beside a chosen one, compared with it."""
    sentences = []
    for stack in stacks_of(results):
        chosen = None if stack.get("chosen") else chosen_stack(results, stack["interpreter"])
        sentence = stack_comparison(results, chosen, stack) if chosen else None
        if sentence:
            sentences.append(sentence)
    return sentences


def floor_shares(results: Json, stacks: list[Json]) -> str | None:
    """Each variant at n=0 as a share of FastAPI's floor on its own (chosen) stack."""
    shares = []
    for stack in (stack for stack in stacks if stack.get("chosen")):
        floor = rung_median(stack, FLOOR)
        for rung in measured_rungs(stack):
            if rung["key"].startswith("variant:") and floor:
                share = ratio_of(rung_median(stack, rung["key"]), floor)
                shares.append(f"{rung['label']}: {format_percent(share)}")
    if not shares:
        return None
    return "At n=0 each variant serves this share of FastAPI's floor on its own stack: " + (
        "; ".join(shares) + "."
    )
