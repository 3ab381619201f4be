"""A progress line on stderr (rich): done/total, rate, ETA, then tokens, cost, concurrency and any pause.

Updates are throttled (the bar is redrawn 4 times a second; per-item calls only add to a counter), so a fast
run does not spend its CPU drawing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Advance:
    """Callable `advance(n)` for the executor, plus `set_info(text)` and `message(text)`."""

    def __init__(self, prog: Any, task: Any, console: Any) -> None:
        self.prog = prog
        self.task = task
        self.console = console
        self._pending = 0
        self._last = 0.0

    def __call__(self, n: int = 1) -> None:
        self._pending += n
        now = time.monotonic()
        if now - self._last >= 0.1:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        self._last = now or time.monotonic()
        if self._pending:
            self.prog.advance(self.task, self._pending)
            self._pending = 0
        speed = self.prog.tasks[self.task].speed
        if speed:
            self.prog.update(self.task, rate=f"{speed:.1f}/s")

    def set_info(self, text: str) -> None:
        self.flush()
        self.prog.update(self.task, info=text)

    def message(self, text: str) -> None:
        self.console.print(f"[yellow]{text}[/yellow]", highlight=False)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Advance]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[info]}")]
    with Progress(*columns, console=console, transient=False, refresh_per_second=4) as prog:
        task = prog.add_task(label[:40], total=total, rate="", info="")
        adv = Advance(prog, task, console)
        try:
            yield adv
        finally:
            adv.flush()
