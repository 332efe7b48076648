"""The variants as data: everything else (make run-*, the tests, the benchmark harness) reads these
tables, so adding a variant is one entry here and one `run-NAME` line in the Makefile.

VARIANTS are the tutorial's four Fibonacci apps; SCORING_VARIANTS are the case study's fraud-scoring
service (case-study/), one per step of its migration. Both are served and measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# The interpreters live in virtual environments that `make setup` creates.
INTERPRETERS: dict[str, Path] = {
    "cpython": ROOT / ".venv" / "cpython" / "bin" / "python",
    "pypy": ROOT / ".venv" / "pypy" / "bin" / "python",
}
# Newer CPythons, for "should I just upgrade CPython?": `make other-cpythons` creates these where
# the interpreter is installed (the harness skips the rows of the ones that are absent).
OTHER_CPYTHONS: dict[str, Path] = {
    f"cpython{version}": ROOT / ".venv" / f"cpython{version}" / "bin" / "python"
    for version in ("3.12", "3.13")
}


# PyPy's GC sizes its nursery from the CPU's cache unless told, so the same app stayed small on one
# host and grew for minutes on another. A fixed 16 MB nursery kept a worker flat under load at
# nearly the throughput of the largest nurseries (benchmarks/pypy_gc.py measures it; the
# benchmark's memory columns show peak and end of run); PYPY_GC_MAX bounds the heap as a last
# resort (set too low, PyPy crashes instead of raising MemoryError, so it sits well above the peak).
PYPY_GC_SETTINGS = (("PYPY_GC_NURSERY", "16MB"), ("PYPY_GC_MAX", "300MB"))

# What a deployment of N workers holds besides them, per interpreter, in MiB: uvicorn's supervisor
# and multiprocessing's resource tracker. PyPy's supervisor is a whole PyPy process, hence more.
# The compose file's memory limits and the case study's capacity plan are sized with it.
SUPERVISOR_ALLOWANCE_MIB = {"pypy": 256, "cpython": 64}

# How long a stopping server lets in-flight requests finish (uvicorn --timeout-graceful-shutdown,
# whose default, None, lets one stuck request hold the shutdown forever: Server.shutdown in
# uvicorn/server.py). Above the longest computation the Fibonacci apps admit by default
# (FIB_BUDGET_SECONDS, 10 s) and below the compose file's stop_grace_period, after which Docker
# sends SIGKILL (its own default, 10 s, is shorter than a request the budget admits).
GRACEFUL_SHUTDOWN_SECONDS = 15


@dataclass(frozen=True)
class Variant:
    name: str
    display_name: str
    interpreter: str  # a key of INTERPRETERS or OTHER_CPYTHONS
    app: str  # uvicorn's "module:attribute"
    default_port: int
    # uvicorn's event loop and HTTP parser, chosen by measurement (the benchmark's ladder measures
    # the other stack beside each: uvloop on CPython, h11 on PyPy). asyncio on both: uvloop does
    # not install on PyPy, and on CPython it accepts one new connection per turn of a busy loop
    # (libuv PR #3696), so under a burst of new connections `/health` waited seconds (make soak).
    # httptools, built from source on PyPy and run through cpyext, still beats the pure-Python h11.
    loop: str
    http: str
    # Environment variables the server always runs with (make run-*, the harness, the images), as
    # (name, value) pairs; a value set in the caller's environment wins.
    environment: tuple[tuple[str, str], ...] = ()
    workload: str = "fib"  # "fib": GET /fib/{n}; "scoring": the case study's POST /score

    @property
    def interpreter_path(self) -> Path:
        return {**INTERPRETERS, **OTHER_CPYTHONS}[self.interpreter]

    @property
    def family(self) -> str:
        """ "cpython" or "pypy": what settings per interpreter (warm-up limits) are keyed by."""
        return "pypy" if self.interpreter == "pypy" else "cpython"

    @property
    def installed(self) -> bool:
        return self.interpreter_path.exists()


VARIANTS: tuple[Variant, ...] = (
    Variant(
        name="baseline",
        display_name="CPython, pure Python",
        interpreter="cpython",
        app="baseline.baseline_app:app",
        default_port=8000,
        loop="asyncio",
        http="httptools",
    ),
    Variant(
        name="cython",
        display_name="CPython + Cython",
        interpreter="cpython",
        app="cython_app:app",
        default_port=8001,
        loop="asyncio",
        http="httptools",
    ),
    Variant(
        name="pypy",
        display_name="PyPy, pure Python",
        interpreter="pypy",
        app="baseline.baseline_app:app",
        default_port=8002,
        loop="asyncio",
        http="httptools",
        environment=PYPY_GC_SETTINGS,
    ),
    Variant(
        name="pypy-cython",
        display_name="PyPy + Cython (cpyext)",
        interpreter="pypy",
        app="cython_app:app",
        default_port=8003,
        loop="asyncio",
        http="httptools",
        environment=PYPY_GC_SETTINGS,
    ),
)


def scoring_variant(
    name: str, display_name: str, interpreter: str, port: int, engine: str, validation: str
) -> Variant:
    """A step of the case study: the scoring service with one engine build and one validation."""
    pypy = interpreter == "pypy"
    settings = (("SCORING_ENGINE", engine), ("SCORING_VALIDATION", validation))
    return Variant(
        name=name,
        display_name=display_name,
        interpreter=interpreter,
        app="scoring_app:app",
        default_port=port,
        loop="asyncio",
        http="httptools",
        environment=(*PYPY_GC_SETTINGS, *settings) if pypy else settings,
        workload="scoring",
    )


# The migration's steps: the service as written; its engine compiled by Cython unchanged; then
# with Cython's pure-Python-mode types; the typed file compiled by mypyc instead; the service on
# PyPy; and on PyPy with the request checked in plain Python instead of pydantic (pydantic-core is
# a C extension, which PyPy runs through its slower C-API emulation).
SCORING_VARIANTS: tuple[Variant, ...] = (
    scoring_variant("scoring", "CPython, as written", "cpython", 8010, "python", "pydantic"),
    scoring_variant(
        "scoring-cython", "CPython + Cython (unchanged)", "cpython", 8011, "cython", "pydantic"
    ),
    scoring_variant(
        "scoring-cython-typed",
        "CPython + typed Cython",
        "cpython",
        8012,
        "cython-typed",
        "pydantic",
    ),
    scoring_variant("scoring-mypyc", "CPython + mypyc", "cpython", 8013, "mypyc", "pydantic"),
    scoring_variant("scoring-pypy", "PyPy", "pypy", 8014, "python", "pydantic"),
    scoring_variant(
        "scoring-pypy-lean",
        "PyPy, request checked in plain Python",
        "pypy",
        8015,
        "python",
        "python",
    ),
)
ALL_VARIANTS = VARIANTS + SCORING_VARIANTS

# The baseline, unchanged, on newer CPythons (their own environments with the same pins).
UPGRADE_VARIANTS: tuple[Variant, ...] = tuple(
    Variant(
        name=f"baseline-{interpreter}",
        display_name=f"CPython {interpreter.removeprefix('cpython')}, pure Python",
        interpreter=interpreter,
        app="baseline.baseline_app:app",
        default_port=8020 + index,
        loop="asyncio",
        http="httptools",
    )
    for index, interpreter in enumerate(OTHER_CPYTHONS)
)


def variant_names() -> list[str]:
    """The Fibonacci variants (the tutorial's)."""
    return [variant.name for variant in VARIANTS]


def scoring_variant_names() -> list[str]:
    return [variant.name for variant in SCORING_VARIANTS]


def get_variant(name: str) -> Variant:
    for variant in ALL_VARIANTS + UPGRADE_VARIANTS:
        if variant.name == name:
            return variant
    known = ", ".join(variant.name for variant in ALL_VARIANTS + UPGRADE_VARIANTS)
    raise KeyError(f"unknown variant {name!r}; the variants are: {known}")


def server_command(variant: Variant, host: str, port: int, workers: int) -> list[str]:
    """The uvicorn command line that serves `variant` (what `make run-NAME` executes)."""
    return [
        str(variant.interpreter_path),
        "-m",
        "uvicorn",
        variant.app,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        variant.loop,
        "--http",
        variant.http,
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_SECONDS),
        "--no-access-log",
    ]


def server_environment(base: dict[str, str], variant: Variant) -> dict[str, str]:
    """`base` with the variant's own environment under whatever `base` already sets (the apps
    import through the .pth file `make setup` puts in each environment, not PYTHONPATH)."""
    return {**dict(variant.environment), **base}
