"""The deskterm app (minimal list until the queue screen lands)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

from ..clock import Clock
from ..config import Config


class DeskApp(App):
    TITLE = "deskterm"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, db: str | None, config: Config, clock: Clock | None = None) -> None:
        super().__init__()
        self.db = db
        self.config = config
        self.clock = clock or Clock()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._load, thread=True)

    def _load(self) -> None:
        from ..fmt import compact, one_line
        from ..service import Desk
        from ..store.engine import open_store

        desk = Desk(open_store(self.db), self.config, clock=self.clock)
        rows = []
        for t in desk.tickets(statuses=["new", "open", "pending", "on_hold"]):
            sla = desk.sla(t)
            nearest = sla.nearest()
            left = compact(nearest.remaining) if nearest else ""
            rows.append((nearest.due if nearest and nearest.due else 2**62, (left, t.priority, t.status, str(t.id),
                         Text(one_line(t.customer, 24)), Text(one_line(t.subject, 60)))))
        rows.sort(key=lambda r: r[0])
        self.call_from_thread(self._show, [r for _, r in rows])

    def _show(self, rows: list) -> None:
        table = self.query_one(DataTable)
        table.add_columns("left", "prio", "status", "id", "customer", "subject")
        table.add_rows(rows)
