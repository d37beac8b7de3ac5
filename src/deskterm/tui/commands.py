"""The command palette (ctrl+p): every action of the current screen that has a binding id, by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ScreenActions(Provider):
    """Lists the bindings (with an ``id``) of the screen the palette was opened from."""

    def _actions(self):
        screen = self.screen
        for binding in getattr(screen, "BINDINGS", []):
            if getattr(binding, "id", None) and binding.description:
                key = self.app.get_key_display(binding)
                yield binding, f"{binding.description} ({key})"

    async def discover(self) -> Hits:
        for binding, label in self._actions():
            yield DiscoveryHit(label, partial(self.screen.run_action, binding.action), help=binding.id)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for binding, label in self._actions():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self.screen.run_action, binding.action), help=binding.id)
