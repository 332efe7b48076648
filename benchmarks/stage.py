"""What the parts of a run (sweep.py, ladder.py, cores.py) need of it: the options, the CPUs, the
progress display, the results so far and how to add to them. runner.Run provides it; the parts
depend on this description, not on the runner that calls them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from benchmarks.planning import Options
from benchmarks.progress import RunProgress
from benchmarks.results import Json
from benchmarks.target import Target


class Run(Protocol):
    options: Options
    progress: RunProgress
    pinning: dict
    load_cpus: set[int]
    server_cpus: set[int]
    results: Json

    def save(self) -> None: ...

    def server_cpus_if_pinned(self) -> set[int] | None: ...

    def sampled_run(
        self, target: Target, load: Callable[[], dict], load_cpus: int | None = None
    ) -> dict: ...

    def add_record(self, record: Json) -> None: ...
