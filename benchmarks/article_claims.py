"""What the article "How to Optimize Python 3.15 FastAPI Apps by 40% with Cython 3.1 and PyPy 7.4"
claims, quoted as data so the headline measurement (benchmarks/article_headline.py) can be set
beside it (benchmarks/article_doc.py).

Everything here is the article's claim as the article states it, not a measurement of this
project: its test settings (`wrk -t4 -c100 -d30s` against `GET /fib/35` served by 4 uvicorn
workers) and its headline table, one row per configuration, each mapped to the variant of
variants.py that serves the same configuration. The article says "MB" for memory per worker and
does not say which kind of memory (RSS, USS, PSS); the comparison uses our USS in MiB.

One number follows from the article's own figures: its compute time for fib(35). A worker of
code that holds the GIL computes one request at a time (create_app in baseline/baseline_app.py),
so 4 workers serve at most 4 / compute seconds requests per second, whatever else is fast. Code
that releases the GIL (Cython's nogil) can compute on more cores than there are workers, but one
core still finishes at most 1 / compute seconds requests per second: the article's rates would
need thousands of cores.
"""

from __future__ import annotations

from dataclasses import dataclass

ARTICLE_TITLE = "How to Optimize Python 3.15 FastAPI Apps by 40% with Cython 3.1 and PyPy 7.4"


@dataclass(frozen=True)
class ArticleSettings:
    """The article's test, as it states it."""

    path: str
    n: int
    connections: int
    wrk_threads: int
    duration_seconds: int
    workers: int


ARTICLE_SETTINGS = ArticleSettings(
    path="/fib/35", n=35, connections=100, wrk_threads=4, duration_seconds=30, workers=4
)


@dataclass(frozen=True)
class ClaimedRow:
    """One row of the article's headline table, and the variant of variants.py it maps to."""

    configuration: str
    variant: str
    requests_per_second: float
    p99_ms: float
    compute_seconds: float  # fib(35), per request
    memory_mb_per_worker: float


CLAIMED_ROWS: tuple[ClaimedRow, ...] = (
    ClaimedRow("CPython baseline", "baseline", 12_450, 210, 2.14, 128),
    ClaimedRow("CPython + Cython", "cython", 16_820, 142, 0.08, 132),
    ClaimedRow("PyPy (JIT only)", "pypy", 17_950, 118, 0.12, 210),
    ClaimedRow("PyPy + Cython", "pypy-cython", 21_430, 89, 0.05, 215),
)


def claimed_row(variant: str) -> ClaimedRow:
    """The article's row for `variant`."""
    for row in CLAIMED_ROWS:
        if row.variant == variant:
            return row
    mapped = ", ".join(row.variant for row in CLAIMED_ROWS)
    raise KeyError(f"the article has no row for {variant!r}; its rows map to: {mapped}")


def claimed_ceiling_rps(row: ClaimedRow, workers: int = ARTICLE_SETTINGS.workers) -> float:
    """The most requests/s the row's own compute time allows: `workers` workers, each computing
    one request at a time (2.14 s per request with 4 workers: at most ~1.9 requests/s)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    return workers / row.compute_seconds
