"""What the screens that show computed desk data share: attaching to the desk and reloading in a worker.

The store opens in a worker after the first paint, so a screen may be pushed before or after it is ready:
``attach_desk`` (end of ``on_mount``) takes the desk if it is already there, and the app calls
``desk_ready`` when it arrives. Each reload gets a new generation number so that a worker's late result
for an older reload can be told apart and dropped.
"""

from __future__ import annotations

from textual.screen import Screen


class DeskScreen(Screen):
    def __init__(self) -> None:
        super().__init__()
        self.desk = None
        self._generation = 0

    def attach_desk(self) -> None:
        desk = getattr(self.app, "desk", None)
        if desk is not None:
            self.desk_ready(desk)

    def desk_ready(self, desk) -> None:
        if self.desk is desk:
            return
        self.desk = desk
        self.on_desk(desk)
        self.reload()

    def on_desk(self, desk) -> None:
        """Set up what depends on the desk (caches), before the first load."""

    def reload(self) -> None:
        if self.desk is None:
            return
        self._generation += 1
        self.load(self._generation)

    def load(self, generation: int) -> None:
        """Start loading the screen's data (in a worker)."""
        raise NotImplementedError
