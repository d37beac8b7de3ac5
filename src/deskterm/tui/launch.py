"""Starting the app: paint first, then open the database (SQLAlchemy's import costs most of a second)."""

from __future__ import annotations

from ..config import Config


def run_app(db: str | None, config: Config) -> None:
    from .app import DeskApp

    DeskApp(db=db, config=config).run()
