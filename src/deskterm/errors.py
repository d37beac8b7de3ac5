"""Errors that every entry point (CLI, TUI) turns into a message and an exit code.

``BadInput`` is exit 2 (bad file, option or configuration); ``Refused`` is exit 1 (the operation was
understood but not allowed: a workflow rule, a conflicting update). Messages are one line per problem,
``where: what``.
"""

from __future__ import annotations


class DeskError(Exception):
    exit_code = 1

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class BadInput(DeskError):
    exit_code = 2


class CannotConnect(BadInput):
    """The desk's server cannot be reached (or refuses the connection): said at once, never tried again by another
    path (an unreachable host costs its whole connect timeout each time)."""


class Refused(DeskError):
    exit_code = 1


class Conflict(Refused):
    """The ticket changed since the version the caller read."""

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class DeskLost(BadInput):
    """The desk this process opened is gone: its SQLite file was deleted or replaced by another file.
    Nothing is written to the file that was opened (it may be unlinked: a write there would be lost)."""
