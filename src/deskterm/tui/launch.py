"""Starting the app: paint first, then open the database (SQLAlchemy's import costs most of a second)."""

from __future__ import annotations

import sys

from ..config import Config


def run_app(db: str | None, config: Config) -> int:
    """Run the app; its exit code: 0 when the agent quit, non-zero when it stopped on an error (Textual
    prints the traceback and sets the code; the unsent drafts are on disk whatever happened)."""
    _few_arenas()
    from .app import DeskApp

    app = DeskApp(db=db, config=config)
    try:
        app.run()
    finally:
        if app.drafts is not None:
            app.drafts.close()
    code = app.return_code or 0
    if code:
        unsent = app.unsent_drafts()
        kept = f"; {unsent} unsent draft{'s are' if unsent != 1 else ' is'} kept for the next start" if unsent else ""
        why = f"stopped by {app.stopped_by}" if app.stopped_by else "the app stopped on an error"
        print(f"deskterm: {why} (exit {code}){kept}", file=sys.stderr)
    return code


# glibc's M_ARENA_MAX (mallopt): how many allocation arenas the threads of the process share
_M_ARENA_MAX = -8
ARENAS = 2


def _few_arenas() -> None:
    """At most ``ARENAS`` arenas of glibc's allocator, for the app's threads (the reader, the workers, presence).

    By default glibc gives each thread that allocates an arena of its own (up to eight per core), and memory freed
    in an arena stays there for that arena's next allocations: the first load of a large desk, read in workers,
    left each worker's arena holding its peak. An app on a jump host is one of thirty: its resident memory counts
    thirty times (issue 17). Called before the app starts its threads; nothing where the C library is not glibc."""
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS)
    except (OSError, AttributeError):  # (not glibc: its allocator as it is)
        pass
