"""The "To triage" screen (``T`` from the queue): the new tickets not yet classified or routed, and for the
highlighted one the suggestions learned from the desk's resolved history and its similar tickets.

The suggestions are computed in a worker (``deskterm.triage``: full-text queries); nothing of it is imported
before the screen opens. ``a`` accepts every suggestion, ``C`` corrects the category (then accepts the rest
with it), ``l`` links the ticket to the open major incident offered, ``enter`` opens the ticket. Every change
goes through the service at the version the suggestions were made for, and the history keeps what was
suggested and what the agent chose.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...fmt import one_line
from ..keys import KeysFooter
from .base import LoadingScreen


class TriageScreen(LoadingScreen):
    KEYS_TITLE = "to triage"  # the title of its `?`
    BINDINGS = [
        # the list moves as every other list does (the OptionList alone knows only the arrows, home and end)
        Binding("j", "cursor_down", "Down", show=False, id="triage.down"),
        Binding("k", "cursor_up", "Up", show=False, id="triage.up"),
        Binding("g", "cursor_first", "First", show=False, id="triage.first"),
        Binding("G", "cursor_last", "Last", show=False, id="triage.last"),
        Binding("a", "accept", "Accept all", id="triage.accept"),
        Binding("C", "correct_category", "Correct category", id="triage.category"),
        Binding("l", "link_major", "Link to the major", id="triage.link"),
        Binding("enter", "open", "Open", priority=True, id="triage.open"),  # before the list selects
        Binding("ctrl+r", "reload", "Reload", show=False, id="triage.reload"),
        Binding("escape", "back", "Back", id="triage.back"),
    ]

    LOAD_GROUP = "triage-list"

    def __init__(self) -> None:
        super().__init__()
        self.tickets: list = []
        self.result: Any = None  # the Triage of the highlighted ticket
        self._suggest_again = False  # the highlighted ticket changed: its suggestions are read again

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Another agent changed tickets: the list is read again (a new ticket, one triaged elsewhere), and the
        suggestions of the ticket shown when it is one of them (they carry the version ``a`` writes at: a
        ticket changed by phone was refused as often as ``a`` was pressed)."""
        if self.result is not None and self.result.ticket.id in changed:
            self._suggest_again = True
        self.reload_soon()

    def data_changed(self) -> None:
        self._suggest_again = True
        self.reload_soon()

    def compose(self) -> ComposeResult:
        yield Static(Text("To triage: loading…"), id="triage-title")
        yield OptionList(id="triage-list")
        yield Static(Text(""), id="triage-pane")
        yield KeysFooter()

    def load(self, generation: int) -> None:
        self._load(generation)

    @work(thread=True, exclusive=True, group="triage-list")
    def _load(self, generation: int) -> None:
        from ... import triage

        tickets = triage.to_triage(self._desk)
        self.app.call_from_thread(self._loaded, generation, tickets)

    def _loaded(self, generation: int, tickets: list) -> None:
        if generation != self._generation or not self.is_attached:
            return
        self.tickets = tickets
        listed = self.query_one("#triage-list", OptionList)
        keep = listed.highlighted
        listed.clear_options()
        # one line a ticket: the subject is shortened to what the list shows (a row wrapped at 80 columns),
        # less the scroll bar that a long list gets
        room = listed.scrollable_content_region.width - 27 - listed.styles.scrollbar_size_vertical
        subject_width = max(20, room) if room > 0 else 47
        listed.add_options(
            [
                Option(
                    Text(f"#{t.id:<6} {one_line(t.category or '-', 18):<18} {one_line(t.subject, subject_width)}"),
                    id=str(t.id),
                )
                for t in tickets
            ]
        )
        n = len(tickets)
        self.query_one("#triage-title", Static).update(
            Text(f"To triage: {n} new ticket{'s' if n != 1 else ''} not yet classified or routed")
        )
        if tickets:
            listed.highlighted = min(keep or 0, n - 1)
            listed.focus()
        else:
            self.result = None
            self.query_one("#triage-pane", Static).update(Text("Nothing to triage."))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            # the list read again highlights its row again: the suggestions shown stay unless their ticket changed
            if self.result is not None and self.result.ticket.id == int(event.option.id) and not self._suggest_again:
                return
            self._suggest_again = False
            self.result = None
            self.query_one("#triage-pane", Static).update(Text("suggestions: looking at similar tickets…"))
            self._suggest(int(event.option.id), self._generation)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, exclusive=True, group="triage-suggest")
    def _suggest(self, ticket_id: int, generation: int) -> None:
        from ... import triage

        try:
            result = triage.suggest(self._desk, ticket_id)
        except Exception as exc:  # noqa: BLE001 - a ticket gone meanwhile, the desk busy: said in the pane
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show, result, generation)

    def _show_error(self, message: str) -> None:
        if self.is_attached:
            self.query_one("#triage-pane", Static).update(Text(f"suggestions: {one_line(message, 200)}"))

    def _show(self, result, generation: int) -> None:
        if not self.is_attached or generation != self._generation:
            return
        current = self._current_id()
        if current != result.ticket.id:
            return
        from ...domain.triage import LABELS

        self.result = result
        t = Text()
        t.append(f"#{result.ticket.id} {one_line(result.ticket.subject, 70)}\n", style="bold")
        if not result.votes:
            t.append("no suggestion: no similar resolved ticket\n", style="dim")
        for name, vote in result.votes.items():
            sure = name in result.suggestions
            t.append(
                f"{LABELS[name]:<17}{one_line(vote.value, 28):<29}{vote.confidence:>4.0%}", style="" if sure else "dim"
            )
            t.append("  suggested\n" if sure else "  below the threshold\n", style="dim")
        if result.major is not None:
            t.append(
                f"open major incident #{result.major[0]} {one_line(result.major[1], 50)} (l links)\n", style="bold"
            )
        for title, items in (
            ("possible duplicates", result.duplicates[:3]),
            ("resolved, may help", result.helpful[:3]),
        ):
            if items:
                t.append(f"{title}:\n", style="dim")
                for s in items:
                    code = f" ({one_line(s.resolution_code)})" if s.resolution_code else ""
                    t.append(f"  #{s.id} {s.status}{code} {one_line(s.subject, 50)}\n")
        t.append("a accepts all · C corrects the category · enter opens · esc back", style="dim")
        self.query_one("#triage-pane", Static).update(t)

    def _current_id(self) -> int | None:
        listed = self.query_one("#triage-list", OptionList)
        if listed.highlighted is None or not listed.option_count:
            return None
        option_id = listed.get_option_at_index(listed.highlighted).id
        return int(option_id) if option_id is not None else None

    def _ready(self) -> bool:
        if self.result is None or self.result.ticket.id != self._current_id():
            self.notify("the suggestions are not ready yet", severity="warning", markup=False)
            return False
        return True

    def action_accept(self, corrections: dict | None = None) -> None:
        if self._ready():
            self._apply(self.result, corrections or {})

    @work(thread=True, group="triage-apply")
    def _apply(self, result, corrections: dict) -> None:
        from ... import triage

        try:
            triage.accept(self._desk, result, corrections)
        except Exception as exc:  # noqa: BLE001 - refused, changed meanwhile, a bad category: said
            self.app.call_from_thread(self._said, f"#{result.ticket.id}: {exc}", "warning")
            return
        self.app.call_from_thread(self._said, f"#{result.ticket.id} triaged", "information")
        self.app.call_from_thread(self.action_reload)  # (its suggestions too)

    def _said(self, message: str, severity: str) -> None:
        self.notify(message, title="Triage", severity=severity, markup=False)  # type: ignore[arg-type]

    def action_correct_category(self) -> None:
        if not self._ready() or self.desk is None:
            return
        from .detail_modals import CategoryDialog

        suggested = self.result.suggestions.get("category")
        result = self.result

        def chosen(values: dict | None) -> None:
            typed = (values or {}).get("category", "").strip()
            if typed:
                self._apply(result, {"category": typed})

        self.app.push_screen(
            CategoryDialog(
                None,
                self.desk.config.taxonomy.paths(),
                about=f"suggested: {suggested.value if suggested else 'nothing'}; the others are applied too",
            ),
            chosen,
        )

    def action_link_major(self) -> None:
        if not self._ready():
            return
        if self.result.major is None:
            self.notify("no open major incident", severity="warning", markup=False)
            return
        self._link(self.result.ticket.id, self.result.major[0], self.result.ticket.version)

    @work(thread=True, group="triage-apply")
    def _link(self, ticket_id: int, major: int, version: int) -> None:
        try:
            self._desk.link(ticket_id, major, expect_version=version)
        except Exception as exc:  # noqa: BLE001 - refused or changed meanwhile: said
            self.app.call_from_thread(self._said, f"#{ticket_id}: {exc}", "warning")
            return
        self.app.call_from_thread(self._said, f"#{ticket_id} linked to major incident #{major}", "information")
        self.app.call_from_thread(self.action_reload)  # (its suggestions too)

    def action_open(self) -> None:
        ticket_id = self._current_id()
        if ticket_id is not None:
            from .detail import DetailScreen

            self.app.push_screen(DetailScreen(ticket_id))

    def _list(self) -> OptionList:
        return self.query_one("#triage-list", OptionList)

    def action_cursor_down(self) -> None:
        self._list().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._list().action_cursor_up()

    def action_cursor_first(self) -> None:
        self._list().action_first()

    def action_cursor_last(self) -> None:
        self._list().action_last()

    def action_reload(self) -> None:
        self._suggest_again = True
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
