"""What docker-compose.yml and .dockerignore must say, checked on their parsed form: each check
returns the problems it finds, an empty list when there are none (see dockerfile_checks.py).

The memory limit of each compose service is sized from the reference results: with WORKERS at its
compose default, (WORKERS × the variant's peak PSS per worker during `make bench` + an allowance
for the processes beside the workers) × a margin. The allowance covers uvicorn's supervisor and
multiprocessing's resource tracker (the emulated images are checked against it too); the margin is
for what one machine's run did not show: other request mixes, longer uptimes, the page cache a
container is also charged for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docker_files import (
    DEPLOYMENT,
    DOCKERFILES,
    ImageConfig,
    duration_seconds,
    interpolate,
    memory_bytes,
)
from dockerfile_checks import PROBE_START_PERIOD_MIN, unmet
from dockerignore import IgnoreRule, is_ignored
from processes import run_group
from variants import GRACEFUL_SHUTDOWN_SECONDS, ROOT, SUPERVISOR_ALLOWANCE_MIB, VARIANTS, Variant

RESULTS_FILE = ROOT / "benchmarks" / "results" / "latest.json"
MEMORY_MARGIN = 1.25

# Paths the build context must never hold: environments, build output, caches, history, results.
NEVER_IN_CONTEXT = (
    ".venv/cpython/bin/python",
    ".venv/pypy/lib/pypy3.9/site-packages/fastapi/__init__.py",
    "cython-optimized/build/temp-pypy/fib_cython.o",
    "cython-optimized/fib_cython.c",
    "cython-optimized/fib_cython.cpython-311-x86_64-linux-gnu.so",
    "cython-optimized/fib_cython.pypy39-pp73-x86_64-linux-gnu.so",
    "baseline/__pycache__/baseline_app.cpython-311.pyc",
    ".git/HEAD",
    ".pytest_cache/README.md",
    ".ruff_cache/CACHEDIR.TAG",
    ".hypothesis/examples/x",
    "benchmarks/results/latest.json",
)
LEAKED_PREFIXES = (".venv/", ".git/", "benchmarks/", "cython-optimized/build/")
LEAKED_SUFFIXES = (".so", ".o", ".pyc", "fib_cython.c", "fib_pure.c")


def service_memory_limit(service: dict) -> int:
    return memory_bytes(service["deploy"]["resources"]["limits"]["memory"])


def default_workers(service: dict) -> int:
    return int(interpolate(service["environment"]["WORKERS"]))


def pypy_size_bytes(text: str) -> int:
    """A PYPY_GC_* size as PyPy reads it: a number, optionally KB, MB or GB (powers of 1024)."""
    number, unit = re.fullmatch(r"(\d+)([kmg]b)?", text.lower()).groups()
    return int(number) * {None: 1, "kb": 2**10, "mb": 2**20, "gb": 2**30}[unit]


# --- .dockerignore --------------------------------------------------------------------------------


def ignore_rule_problems(rules: list[IgnoreRule]) -> list[str]:
    """.dockerignore keeps environments, build output, caches, history and results out."""
    return [
        f"{path} would be in the build context"
        for path in NEVER_IN_CONTEXT
        if not is_ignored(path, rules)
    ]


def build_context_problems(context: set[str]) -> list[str]:
    """The real build context holds the sources the images copy, and nothing built or cached."""
    leaked = sorted(
        f
        for f in context
        if f.startswith(LEAKED_PREFIXES) or f.endswith(LEAKED_SUFFIXES) or "__pycache__" in f
    )
    needed = {"serve.py", "variants.py", "cython-optimized/fib_cython.pyx"}
    return unmet(
        (needed <= context, f"the context lacks {sorted(needed - context)}"),
        (not leaked, f"the context holds {leaked[:10]}"),
    )


# --- the compose file -----------------------------------------------------------------------------


def services_problems(compose: dict) -> list[str]:
    """One service per variant; `docker compose up` starts the PyPy one, `--profile all` the rest;
    the PyPy services get the longest start period and the most memory."""
    services = compose["services"]
    if sorted(services) != sorted(v.name for v in VARIANTS):
        return [f"services {sorted(services)}, variants {[v.name for v in VARIANTS]}"]
    problems = unmet(("profiles" not in services["pypy"], "`docker compose up` skips pypy"))
    problems += [
        f"{name}: not in profile all"
        for name, service in services.items()
        if name != "pypy" and service.get("profiles") != ["all"]
    ]

    def start(name: str) -> float:
        return duration_seconds(services[name]["healthcheck"]["start_period"])

    def memory(name: str) -> int:
        return service_memory_limit(services[name])

    pypy, cpython = ("pypy", "pypy-cython"), ("baseline", "cython")
    return problems + unmet(
        (min(map(start, pypy)) > max(map(start, cpython)), "PyPy's start period is not longest"),
        (min(map(memory, pypy)) > max(map(memory, cpython)), "PyPy's memory limit is not largest"),
    )


def service_problems(compose: dict, variant: Variant, image: ImageConfig) -> list[str]:
    """The variant's service builds its flavour from the repository root and runs it as `make
    run-NAME` does: its port on loopback, serve.py's settings, WORKERS CPUs, the image's probe."""
    service = compose["services"][variant.name]
    build, environment = service["build"], service["environment"]
    limits = service["deploy"]["resources"]["limits"]
    port = variant.default_port
    check = service["healthcheck"]
    return unmet(
        ((DEPLOYMENT / build["context"]).resolve() == ROOT, "not built from the repository root"),
        (ROOT / build["dockerfile"] == DOCKERFILES[variant.interpreter], "the wrong Dockerfile"),
        (build.get("args") == {"VARIANT": variant.name}, f"build args {build.get('args')}"),
        (service["image"].endswith(f"/{variant.name}:local"), f"image {service['image']}"),
        (service["ports"] == [f"127.0.0.1:{port}:{port}"], f"ports {service['ports']}"),
        (image.exposed == [str(port)], f"the image exposes {image.exposed}, not {port}"),
        (not {"PORT", "HOST"} & set(environment), "PORT or HOST overrides serve.py's"),
        (interpolate(environment["FIB_MAX_N"]) == "35", "FIB_MAX_N's default is not 35"),
        (interpolate(environment["FIB_MAX_N"], {"FIB_MAX_N": "30"}) == "30", "FIB_MAX_N is fixed"),
        (service["restart"] in {"unless-stopped", "always", "on-failure"}, "no restart policy"),
        (
            duration_seconds(service.get("stop_grace_period", "10s")) > GRACEFUL_SHUTDOWN_SECONDS,
            "stop_grace_period is not above uvicorn's --timeout-graceful-shutdown",
        ),
        # Inside a container os.sched_getaffinity sees every host core: WORKERS follows the CPUs.
        *[
            (
                interpolate(environment["WORKERS"], env) == interpolate(limits["cpus"], env),
                f"WORKERS and the CPU limit differ under {env}",
            )
            for env in ({}, {"WORKERS": "4"})
        ],
        (default_workers(service) == 2, "WORKERS' default is not 2"),
        (service.get("network_mode") != "host", "host networking"),
        (not [n for n in environment if n.startswith("PYPY_")], "compose sets PYPY_* variables"),
        (check["test"] == ["CMD", *image.healthcheck.command], "not the image's probe"),
        *[
            (
                duration_seconds(check[key]) == image.healthcheck.seconds(option),
                f"{key} differs from the image's",
            )
            for key, option in (
                ("start_period", "start-period"),
                ("interval", "interval"),
                ("timeout", "timeout"),
            )
        ],
        (
            duration_seconds(check["start_period"]) >= PROBE_START_PERIOD_MIN[variant.interpreter],
            "the start period is too short for the warm-up",
        ),
    )


def load_reference_results() -> dict:
    """The committed results of the last full `make bench`, read as plain JSON: of its documented
    format (benchmarks/results.py) only each variant's measured peak memory per worker is used."""
    return json.loads(RESULTS_FILE.read_text())


def memory_limit_problems(compose: dict, variant: Variant, results: dict) -> list[str]:
    """The memory limit covers (WORKERS × the measured peak per worker + the allowance) × the
    margin; on PyPy it also holds every worker's GC heap at PYPY_GC_MAX (each worker holds memory
    outside that heap too), so the heap cap strikes before the container's limit."""
    peak_mib = results["variants"][variant.name]["memory"]["peak_pss_mib_per_worker"]
    service = compose["services"][variant.name]
    workers = default_workers(service)
    allowance = SUPERVISOR_ALLOWANCE_MIB[variant.interpreter]
    needed_mib = (workers * peak_mib + allowance) * MEMORY_MARGIN
    limit = service_memory_limit(service)
    gc_max = dict(variant.environment).get("PYPY_GC_MAX")
    return unmet(
        (peak_mib > 0, f"no measured peak for {variant.name} in {RESULTS_FILE.name}"),
        (
            limit >= needed_mib * 2**20,
            f"memory limit {limit / 2**20:.0f} MiB < ({workers} workers × {peak_mib:.0f} MiB + "
            f"{allowance} MiB) × {MEMORY_MARGIN} = {needed_mib:.0f} MiB",
        ),
        (
            gc_max is None or limit > workers * pypy_size_bytes(gc_max),
            f"{workers} GC heaps at PYPY_GC_MAX={gc_max} exceed the memory limit",
        ),
    )


def compose_config_problems(compose_cli: list[str], path: Path) -> list[str]:
    """`docker compose config` (or v1's docker-compose) validates the file against the compose
    schema; it needs no engine, only the CLI. Every variant's service must come out of it."""
    command = [*compose_cli, "-f", str(path), "--profile", "all", "config", "--services"]
    result = run_group(command, timeout=60)
    if result.returncode != 0:
        return [f"{' '.join(command)}: {result.stderr.strip()}"]
    services = set(result.stdout.split())
    return unmet((services == {v.name for v in VARIANTS}, f"compose config lists {services}"))
