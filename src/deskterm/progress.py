"""Progress of long work (an import, a database copy, a report, deadlines derived again) on stderr, when stderr is a
terminal.

``progress(label, total, quiet)`` is a context manager giving ``advance(n)``: on a terminal (and without
``--quiet``) a line of Rich's progress display (the library Textual already brings) shows the count, the rate
and the time left, redrawn a few times a second on stderr and cleared at the end; otherwise (a pipe, a file,
cron, ``--quiet``) nothing is written and ``advance`` costs one call. Standard output is never touched, so
what a command prints stays what scripts read.

Work of several steps (a report reads the tickets, then their histories, then computes) takes a ``Progress``
hook at its boundary, ``progress(what, done, total)``, and knows nothing of how it is shown: ``steps(quiet)``
draws it on stderr the same way, one step after the other; the app shows it on its screens (tui/loading.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


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
    with _display() as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{speed:,.0f}/s")

        yield advance


def _nothing(n: int) -> None:
    pass


def _display() -> Any:
    """Rich's progress line on stderr: the label, a bar, done/total, the rate, the time left."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    # (no percentage: the bar and done/total say it, and at 80 columns the room goes to the label and the count)
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    ]
    # markup off: a label never interprets brackets; transient: the line goes once the work is done
    console = Console(file=sys.stderr, markup=False, highlight=False)
    return Progress(*columns, console=console, transient=True, refresh_per_second=4)


Progress = Callable[[str, int, int | None], None]
"""``progress(what, done, total)``: of the step ``what`` (a few words: "reading histories"), ``done`` of ``total``
(None: not known) so far. The hook long work takes at its boundary (``Desk.rederive``, ``reports.compute``,
``queries.load_tickets``…): the command line shows it with ``steps``, the app on its screens (tui/loading.py)."""

# the items between two reports of ``counting``: a ticket computed (its SLA replayed) costs 0.1-5 ms, a report far
# less; a row read costs a few µs (``ROWS``)
EVERY = 64
ROWS = 1024


def counting(
    items: Iterable[T], progress: Progress | None, what: str, total: int | None = None, every: int = EVERY
) -> Iterator[T]:
    """``items``, telling ``progress`` how many have gone (every ``every`` of them, and at the end)."""
    if progress is None:
        yield from items
        return
    done = 0
    progress(what, 0, total)
    for item in items:
        yield item
        done += 1
        if not done % every:
            progress(what, done, total)
    progress(what, done, total)


@contextmanager
def steps(quiet: bool = False) -> Iterator[Progress]:
    """A ``Progress`` drawn on stderr as ``progress`` draws it, one step after another on the same line (each its
    own count, rate and time left), when stderr is a terminal and not ``quiet``; otherwise nothing.

    Nothing is drawn, and Rich not even imported, until the first report: a command whose long work turns out
    to be no work (``rederive`` when the configuration did not change) writes nothing and costs nothing."""
    if not shown(quiet):
        yield _no_step
        return
    live: list[Any] = []  # [Progress, its task, the step's name], once the first report came

    def report(what: str, done: int, total: int | None) -> None:
        if not live:
            bar = _display()
            bar.start()
            live.extend((bar, None, None))
        bar, task, step = live
        if what != step:
            if task is not None:
                bar.remove_task(task)
            task = bar.add_task(what, total=total, rate="")
            live[1:] = [task, what]
        bar.update(task, completed=done, total=total)
        speed = bar.tasks[0].speed
        if speed:
            bar.update(task, rate=f"{speed:,.0f}/s")

    try:
        yield report
    finally:
        if live:
            live[0].stop()


def _no_step(what: str, done: int, total: int | None) -> None:
    pass
