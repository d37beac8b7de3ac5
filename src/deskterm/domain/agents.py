"""The directory of agents: who may be given a ticket, and what to suggest for a name that is not known.

Pure: the names come from the configuration (``[agents.NAME]``), from the OS users who have written to the
desk, and (opt-in) from a unix group's members; the service layer gathers them and asks here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A shift not ended by hand is over this long after it began (an app left open overnight, an agent who forgot
# `deskterm shift end`): the roster no longer counts it, and opening the app starts a new one.
MAX_SHIFT = timedelta(hours=12)


def on_shift(since: datetime | None, now: datetime) -> bool:
    """Whether a shift that began at ``since`` (None: ended) is still on at ``now``."""
    return since is not None and since <= now < since + MAX_SHIFT


@dataclass(frozen=True)
class AgentEntry:
    """An agent of the configuration: ``name`` is what tickets are assigned to (usually the login)."""

    name: str
    display: str = ""
    groups: tuple[str, ...] = ()
    os_user: str = ""  # the OS account, when it is not ``name``


@dataclass(frozen=True)
class Directory:
    """Every agent known to the desk, by name, with their configuration entry when they have one."""

    names: tuple[str, ...] = ()
    entries: dict[str, AgentEntry] = field(default_factory=dict)
    allow_new: bool = False

    @classmethod
    def of(cls, configured: Iterable[AgentEntry], seen: Iterable[str], allow_new: bool = False) -> Directory:
        entries = {a.name: a for a in configured}
        names = sorted({*entries, *(n for n in seen if n and n != "customer")}, key=str.casefold)
        return cls(tuple(names), entries, allow_new)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def display(self, name: str) -> str:
        entry = self.entries.get(name)
        return entry.display if entry and entry.display else name

    def resolve(self, typed: str) -> str | None:
        """The agent a typed name means: the name itself, the same name in another case, or an agent whose
        display name it is (any case); None when nobody is meant."""
        typed = typed.strip()
        if typed in self.names:
            return typed
        folded = typed.casefold()
        for name in self.names:
            if name.casefold() == folded or self.display(name).casefold() == folded:
                return name
        return None

    def suggest(self, typed: str, limit: int = 3) -> list[str]:
        """The names closest to a name that is not known (a typo: "alcie" → alice)."""
        folded = {n.casefold(): n for n in self.names}
        close = difflib.get_close_matches(typed.strip().casefold(), list(folded), n=limit, cutoff=0.6)
        starts = [n for f, n in folded.items() if f.startswith(typed.strip().casefold()) and typed.strip()]
        out: list[str] = []
        for name in [*starts, *(folded[c] for c in close)]:
            if name not in out:
                out.append(name)
        return out[:limit]

    def unknown_message(self, typed: str) -> str:
        """``unknown agent 'alcie' (did you mean alice?)``: for the CLI's stderr and the screens' notices."""
        guesses = self.suggest(typed)
        hint = f" (did you mean {' or '.join(guesses)}?)" if guesses else ""
        return f"unknown agent {typed.strip()!r}{hint}; `deskterm agents` lists them"
