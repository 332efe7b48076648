"""What the harness points its load at: a server's address and, when the harness started it, its
processes (for sampling CPU and memory)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from benchmarks.servers import RunningServer, start_server, stop_server, wait_until_healthy
from variants import Variant

HEALTH_TIMEOUT_SECONDS = 90  # how long a started server may take to answer GET /health


@dataclass
class Target:
    """A variant being measured: where it answers and, when we started it, its processes."""

    variant: Variant
    base_url: str
    server: RunningServer | None = None

    def processes(self) -> list[psutil.Process]:
        return self.server.processes() if self.server else []

    def workers(self) -> list[psutil.Process]:
        return self.server.workers() if self.server else []


def fib_limit(fib_max_n: int) -> dict[str, str]:
    """The environment that sets a server's largest n (FIB_MAX_N)."""
    return {"FIB_MAX_N": str(fib_max_n)}


@contextmanager
def served_target(
    variant: Variant,
    *,
    workers: int,
    fib_max_n: int,
    cpus: set[int] | None,
    port: int | None = None,
) -> Iterator[Target]:
    """`variant` started (on `cpus`, if given) and healthy for the block, stopped however the block
    ends."""
    server = start_server(variant, port=port, workers=workers, env=fib_limit(fib_max_n), cpus=cpus)
    try:
        wait_until_healthy(server, timeout=HEALTH_TIMEOUT_SECONDS)
        yield Target(variant, server.base_url, server)
    finally:
        stop_server(server)
