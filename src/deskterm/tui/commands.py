"""The command palette (ctrl+p): every action of the current screen and the app-wide places, in plain words.

The same list as ``?`` (tui/keys.py ``key_entries``), less the moving keys: each entry reads what it does
("Claim the ticket: assign it to yourself") with its keys, and runs the binding's action where the binding
lives (the screen, one of its widgets, or the app: escalations, dashboard, handover).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .keys import MOVE, KeyEntry, key_entries

LEFT_OUT = {"app.palette"}  # the palette itself


class ScreenActions(Provider):
    """Lists what the screen the palette was opened from does, and the places every screen can go to."""

    def _entries(self) -> list[tuple[KeyEntry, str]]:
        out = []
        for entry in key_entries(self.screen):
            if entry.group == MOVE or entry.id in LEFT_OUT or entry.action == "command_palette":
                continue
            out.append((entry, f"{entry.words} ({entry.key_text})"))
        return out

    @staticmethod
    def _run(entry: KeyEntry):
        return partial(entry.namespace.run_action, entry.action)  # type: ignore[union-attr]

    async def discover(self) -> Hits:
        for entry, label in self._entries():
            yield DiscoveryHit(label, self._run(entry), help=entry.group)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry, label in self._entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), self._run(entry), help=entry.group)
