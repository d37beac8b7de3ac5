"""Starting the app: paint first, then open the database (SQLAlchemy's import costs most of a second)."""

from __future__ import annotations

import sys

from ..config import Config


def run_app(db: str | None, config: Config) -> int:
    """Run the app; its exit code: 0 when the agent quit, non-zero when it stopped on an error (Textual
    prints the traceback and sets the code; the unsent drafts are on disk whatever happened)."""
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
