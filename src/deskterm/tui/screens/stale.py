"""No change made blind: what a dialog or a draft saw of its ticket, and what to do when the ticket moved on.

Every dialog of the ticket screen, and every reply or note draft, keeps the ``Seen`` of the ticket when it was
opened (begun): its version and its newest history event. On confirm the change is applied with that version
(``expect_version``, the service's only mechanism, as the CLI's ``--expect-version``). When another agent
changed the ticket meanwhile the service refuses, and ``StaleDialog`` shows what changed since (who, what,
from the history events newer than the one seen) and lets the agent choose: apply anyway (on the ticket as it
is now), re-open the dialog on the new state, or cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ...fmt import one_line
from ..widgets.timeline import describe

APPLY, REOPEN, CANCEL = "apply", "reopen", "cancel"


@dataclass(frozen=True)
class Seen:
    """The ticket as a dialog or a draft saw it: its version and the id of its newest event (0: none)."""

    version: int
    last_event: int = 0

    @classmethod
    def of(cls, record) -> Seen:
        return cls(record.version, max((e.id for e in record.events), default=0))

    def news(self, record) -> list:
        """The events of ``record`` newer than what was seen, oldest first."""
        return [e for e in record.events if e.id > self.last_event]


def change_line(e, zone: ZoneInfo) -> str:
    """``10:42 bob: status pending → open``; a message with the start of its text."""
    what = describe(e)
    if e.kind == "reply" and e.body:
        what += f": {one_line(e.body, 60)}"
    return f"{e.at.astimezone(zone):%H:%M} {one_line(e.author, 24)}: {what}"


def public_news(events, zone: ZoneInfo) -> str | None:
    """``bruno replied at 10:42: …`` for the newest public message among ``events`` (None without one)."""
    messages = [e for e in events if e.kind == "reply" and e.public]
    if not messages:
        return None
    e = messages[-1]
    who = "the customer wrote" if e.author == "customer" else f"{one_line(e.author, 24)} replied"
    more = f" (and {len(messages) - 1} more message{'s' if len(messages) > 2 else ''})" if len(messages) > 1 else ""
    return f"{who} at {e.at.astimezone(zone):%H:%M}: {one_line(e.body, 60)}{more}"


class StaleDialog(ModalScreen[str]):
    """The ticket changed since the dialog (or draft) was opened: what changed, and apply / re-open / cancel.

    Returns ``APPLY``, ``REOPEN`` or ``CANCEL`` (esc). Nothing has been written when it shows.
    """

    BINDINGS = [
        Binding("a", "choose('apply')", "Apply anyway", id="stale.apply"),
        Binding("r", "choose('reopen')", "Re-open", id="stale.reopen"),
        Binding("escape,c", "choose('cancel')", "Cancel", id="stale.cancel"),
    ]

    def __init__(self, what: str, seen: Seen, record, zone: ZoneInfo, draft: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.seen = seen
        self.record = record
        self.draft = draft  # "reply" or "note" for a draft; None for a dialog
        self.changes = [change_line(e, zone) for e in seen.news(record)]
        self.news = public_news(seen.news(record), zone) if draft == "reply" else None

    def compose(self) -> ComposeResult:
        since = "this draft began" if self.draft else "you opened this dialog"
        send = "send" if self.draft == "reply" else ("add" if self.draft == "note" else "apply")
        with Vertical(id="stale"):
            yield Label(
                Text(
                    f"{self.what}: not applied yet — ticket #{self.record.id} changed since {since} "
                    f"(v{self.seen.version} → v{self.record.version})"
                ),
                id="stale-title",
            )
            if self.news:
                yield Label(Text(f"{self.news}; {send} anyway?"), id="stale-news")
            with VerticalScroll(id="stale-changes"):
                body = "\n".join(self.changes) if self.changes else "(no history event: a field changed without one)"
                yield Static(Text(body))
            editor = "editor" if self.draft else "dialog"
            kept = " (the draft is kept)" if self.draft else " (nothing is changed)"
            yield OptionList(
                Option(Text(f"a  {send} anyway, on the ticket as it is now"), id=APPLY),
                Option(Text(f"r  re-open the {editor} on the new state"), id=REOPEN),
                Option(Text(f"esc  cancel{kept}"), id=CANCEL),
                id="stale-choices",
            )
            yield Label(Text("a / r / esc, or enter on a line"), classes="stale-hint")

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        choices.highlighted = 1  # the harmless default: look again
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
