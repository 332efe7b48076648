"""Progress with an ETA while a run measures: a rich progress bar on a terminal, one line per step
otherwise (CI logs). Units are estimated seconds of work."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PACE_AFTER_SECONDS = 30.0  # of estimated work, before the ETA follows the pace measured so far


class RunProgress:
    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.total = 0.0
        self.done = 0.0
        self.current = 0.0
        self.started = time.monotonic()

    def start(self, estimated_seconds: float) -> None:
        self.total, self.started = estimated_seconds, time.monotonic()
        if self.live:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task("starting", total=estimated_seconds)

    def step(self, label: str, estimate: float, planned: float | None = None) -> None:
        """The previous step is done; `label` starts, expected to take `estimate` seconds
        (`planned` is what the first estimate assumed for it, if that differs)."""
        self.done += self.current
        self.current = estimate
        if planned is not None:
            self.total += estimate - planned
        if self.progress is not None and self.task is not None:
            self.progress.update(
                self.task, description=label, completed=self.done, total=self.total
            )
        elif not self.quiet:
            elapsed = time.monotonic() - self.started
            left = max(self.total - self.done, 0.0) * self.pace(elapsed)
            self.console.print(f"[{_clock(elapsed)} | ETA {_clock(left)}] {label}", highlight=False)

    def pace(self, elapsed: float) -> float:
        """Seconds taken per estimated second so far, once enough has run to say (the
        estimate's constants come from one machine; a slower one corrects them as it goes)."""
        if self.done < PACE_AFTER_SECONDS:
            return 1.0
        return min(max(elapsed / self.done, 0.5), 2.0)

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"
