"""Progress of long work (an import, a database copy) on stderr, when stderr is a terminal.

``progress(label, total, quiet)`` is a context manager giving ``advance(n)``: on a terminal (and without
``--quiet``) a line of Rich's progress display (the library Textual already brings) shows the count, the rate
and the time left, redrawn a few times a second on stderr and cleared at the end; otherwise (a pipe, a file,
cron, ``--quiet``) nothing is written and ``advance`` costs one call. Standard output is never touched, so
what a command prints stays what scripts read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


def shown(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Whether progress is shown: not ``quiet``, and stderr is a terminal."""
    stream = stream or sys.stderr
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


@contextmanager
def progress(label: str, total: int | None, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` counts ``n`` more of ``total`` (None: an unknown total, counted without a bar)."""
    if not shown(quiet):
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    ]
    # markup off: a label never interprets brackets; transient: the line goes once the work is done
    console = Console(file=sys.stderr, markup=False, highlight=False)
    with Progress(*columns, console=console, transient=True, refresh_per_second=4) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{speed:,.0f}/s")

        yield advance


def _nothing(n: int) -> None:
    pass
