"""Every key of a screen, in plain words: one list for ``?`` (``KeysScreen``) and ``ctrl+p`` (commands.py).

The keys come from the bindings themselves, so a binding added to a screen is listed without more work: the
screen's and the app's bindings, the bindings of deskterm's own widgets on the screen (the queue's marks), and
the moving keys of the widget that has the focus (a list's arrows and pages). ``WORDS`` says, by binding id,
in which group a key is listed and what it does in plain words; a binding it does not know is listed under
"On this screen" with its own description. Keys are grouped, and the keys of one binding are listed together
(``esc, q``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from ..store.queue_terms import VIEWS

MOVE, ANYWHERE, ELSEWHERE, HERE = "Move", "Anywhere", "Go elsewhere", "On this screen"

# binding id → (group, what the key does in plain words)
WORDS: dict[str, tuple[str, str]] = {
    # the queue
    "queue.open": ("Tickets", "Open the ticket under the cursor"),
    "queue.claim": ("Tickets", "Claim the ticket: assign it to yourself"),
    "queue.mark": ("Tickets", "Mark or unmark the ticket (a, p, s and e then act on every marked one)"),
    "queue.mark_range": ("Tickets", "Mark every ticket from the last marked one to here"),
    "queue.assign": ("Tickets", "Assign the ticket, or the marked ones, to someone"),
    "queue.priority": ("Tickets", "Set the priority of the ticket, or of the marked ones"),
    "queue.status": ("Tickets", "Set the status of the ticket, or of the marked ones"),
    "queue.escalate": ("Tickets", "Escalate the ticket, or the marked ones"),
    "queue.link_problem": ("Tickets", "Link the ticket, or the marked ones, to a problem (its cause)"),
    "queue.undo": ("Tickets", "Undo the last assignment, priority or status change made here (for 10 s)"),
    "queue.roster": ("Tickets", "Roster: who is on shift, and the open tickets each agent holds"),
    "queue.search": ("Find and sort", "Search as you type: words, prio:P1 status:open customer:… assignee:me group:L2"),
    "queue.command": ("Find and sort", "Command line: a ticket number or ref, view …, sort …, q"),
    "queue.sort": ("Find and sort", "Sort by the next column"),
    "queue.reverse_sort": ("Find and sort", "Reverse the sort"),
    "queue.clear": ("Find and sort", "Close the prompt, else unmark, else clear the filter"),
    "queue.freeze": ("Find and sort", "Freeze the order: rows stay in place until pressed again"),
    "queue.reload": ("Find and sort", "Read the queue again"),
    "queue.next_view": ("Views", "Next view"),
    "queue.previous_view": ("Views", "Previous view"),
    **{f"queue.view.{key}": ("Views", f"View: {title}") for key, title in VIEWS.items()},
    "queue.keys": (ANYWHERE, "Every key of this screen (this list)"),
    "queue.quit": (ANYWHERE, "Quit deskterm (asks first while drafts are unsent)"),
    # the ticket
    "detail.reply": ("Write", "Reply to the customer"),
    "detail.note": ("Write", "Add an internal note (agents only)"),
    "detail.canned": ("Write", "Start a reply from a canned response"),
    "detail.customer": ("Read", "The customer: contact, VIP, notes, its other open and last resolved tickets"),
    "dashboard.customer_panel": ("Period and customer", "The panel of the customer at risk under the cursor"),
    "panel.close": ("This dialog", "Close the customer panel"),
    "panel.close_i": ("This dialog", "Close the customer panel"),
    "detail.same_caller": ("Write", "New ticket for the same caller (filled in)"),
    "app.new_ticket": (ANYWHERE, "New ticket: log a call (customer, contact, subject, priority…)"),
    "new.discard": ("This dialog", "Discard the new ticket's draft and close"),
    "new.same_caller": ("This dialog", "Same caller as the ticket the form was opened from"),
    "detail.broadcast": ("Write", "Reply to, or resolve, every ticket linked to this major incident"),
    "detail.status": ("Change the ticket", "Set the status"),
    "detail.resolve": ("Change the ticket", "Resolve, with a resolution code"),
    "detail.close": ("Change the ticket", "Close, with the customer's satisfaction"),
    "detail.priority": ("Change the ticket", "Set the priority (impact and urgency, or directly)"),
    "detail.type": ("Change the ticket", "Set the type and classification"),
    "detail.time": ("Change the ticket", "Log time spent on the ticket"),
    "detail.claim": ("Change the ticket", "Claim the ticket: assign it to yourself"),
    "detail.assign": ("Change the ticket", "Assign the ticket to someone"),
    "detail.escalate": ("Change the ticket", "Escalate: to a group above, or to a manager"),
    "detail.link": ("Change the ticket", "Link to a major incident, or unlink"),
    "detail.why": ("Read", "Why is it due then? The SLA deadlines explained"),
    "detail.retry_mail": ("Write", "Send the ticket's failed mail again"),
    "detail.reload": ("Read", "Read the ticket again"),
    "detail.back": (ELSEWHERE, "Back to the queue"),
    "detail.keys": (ANYWHERE, "Every key of this screen (this list)"),
    "ticket.back": (ELSEWHERE, "Back to the queue"),
    # the ticket's dialogs
    "detail.dialog.submit": ("This dialog", "Apply"),
    "detail.dialog.cancel": ("This dialog", "Cancel: nothing is changed"),
    "detail.why.close": ("This dialog", "Close"),
    "bulk.apply": ("This dialog", "Apply to the tickets listed"),
    "bulk.cancel": ("This dialog", "Cancel: nothing is changed"),
    # escalations
    "escalations.acknowledge": ("Escalations", "Acknowledge the escalation: you are on it"),
    "escalations.return": ("Escalations", "Return the ticket to L1, with a note"),
    "escalations.escalate": ("Escalations", "Escalate further"),
    "escalations.open": ("Escalations", "Open the ticket"),
    "escalations.reload": ("Escalations", "Read the escalations again"),
    "escalations.back": (ELSEWHERE, "Back"),
    # to triage
    "triage.accept": ("Triage", "Accept every suggestion for the ticket under the cursor"),
    "triage.category": ("Triage", "Correct the category (the other suggestions are applied with it)"),
    "triage.link": ("Triage", "Link the ticket to the open major incident offered"),
    "triage.open": ("Triage", "Open the ticket under the cursor"),
    "triage.reload": ("Triage", "Read the tickets to triage again"),
    "triage.back": (ELSEWHERE, "Back to the queue"),
    # the dashboard
    "dashboard.today": ("Period and customer", "Figures for today"),
    "dashboard.week": ("Period and customer", "Figures for this week"),
    "dashboard.month": ("Period and customer", "Figures for this month"),
    "dashboard.next_period": ("Period and customer", "Next period"),
    "dashboard.previous_period": ("Period and customer", "Previous period"),
    "dashboard.customer": ("Period and customer", "Next customer (all customers first)"),
    "dashboard.previous_customer": ("Period and customer", "Previous customer"),
    "dashboard.reload": ("Period and customer", "Compute the figures again"),
    "dashboard.back": (ELSEWHERE, "Back"),
    # the handover
    "handover.copy": ("Handover", "Copy the handover as Markdown (also saved to a file)"),
    "handover.more": ("Handover", "Cover one hour more"),
    "handover.less": ("Handover", "Cover one hour less"),
    "handover.next_section": ("Handover", "Next section"),
    "handover.previous_section": ("Handover", "Previous section"),
    "handover.reload": ("Handover", "Compute the handover again"),
    "handover.back": (ELSEWHERE, "Back"),
    # everywhere
    "app.escalations": (ELSEWHERE, "Escalations: the open ones, to acknowledge"),
    "app.dashboard": (ELSEWHERE, "Dashboard: SLA, satisfaction and the customers at risk"),
    "app.handover": (ELSEWHERE, "Handover: what the next shift must know"),
    "app.keys": (ANYWHERE, "Every key of this screen (this list)"),
    "app.quit": (ANYWHERE, "Quit deskterm (asks first while drafts are unsent)"),
    "app.quit_q": (ANYWHERE, "Quit deskterm (asks first while drafts are unsent)"),
    "app.palette": (ANYWHERE, "Every action by name (command palette)"),
}

# the moving keys of lists and scrolled panes, by action (the list itself names them in English only)
MOVES: dict[str, str] = {
    "cursor_down": "Down one line",
    "scroll_down": "Down one line",
    "cursor_up": "Up one line",
    "scroll_up": "Up one line",
    "page_down": "Down one page",
    "page_up": "Up one page",
    "first": "To the top",
    "cursor_first": "To the top",
    "scroll_home": "To the top",
    "scroll_top": "To the top",
    "last": "To the bottom",
    "cursor_last": "To the bottom",
    "scroll_end": "To the bottom",
    "scroll_bottom": "To the bottom",
}
SELECTS = {"select", "select_cursor"}  # enter on a list: what it opens, by screen
SELECT_WORDS = {
    "DashboardScreen": "Open the queue of the customer at risk under the cursor",
    "HandoverScreen": "Open the ticket on the line under the cursor",
}
# Textual's own keys that every screen has, by action
ACTION_WORDS = {
    "screen.copy_text": (ANYWHERE, "Copy the text selected with the mouse")
}  # enter on a list: what it opens is the screen's to say

# the groups in the order listed (any other group after these, before "Go elsewhere")
ORDER = [
    MOVE,
    "Tickets",
    "Write",
    "Change the ticket",
    "Read",
    "Escalations",
    "Triage",
    "Period and customer",
    "Handover",
    "Find and sort",
    "Views",
    "This dialog",
    HERE,
]
LAST = [ELSEWHERE, ANYWHERE]

# key names as the help writes them (else Textual's: "esc", "pgdn", "↓", "?"; ctrl+ keys as they are)
KEY_NAMES = {"enter": "enter"}


@dataclass
class KeyEntry:
    """One thing a screen does: its keys, in which group, in plain words, and how to run it."""

    group: str
    words: str
    keys: list[str] = field(default_factory=list)
    namespace: DOMNode | None = None  # where the action runs
    action: str = ""
    id: str | None = None

    @property
    def key_text(self) -> str:
        return ", ".join(self.keys)


def key_name(app, binding: Binding) -> str:
    if binding.key.startswith("ctrl+"):
        return binding.key  # "ctrl+r", not "^r": words a newcomer reads
    return KEY_NAMES.get(binding.key) or app.get_key_display(binding)


def _bindings(node: DOMNode) -> list[Binding]:
    return [b for _, b in node._bindings]


def _own_bindings(widget: DOMNode) -> list[Binding]:
    """The bindings a widget's deskterm classes declare (not those of the Textual widget it extends: an Input's
    editing keys are not the screen's)."""
    out: list[Binding] = []
    for cls in reversed(type(widget).__mro__):
        if cls.__module__.startswith("deskterm.") and "BINDINGS" in cls.__dict__:
            out.extend(b for _, b in BindingsMap(cls.__dict__["BINDINGS"]))
    return out


SKIPPED = {"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"}  # Textual's tab: one widget


def key_entries(screen) -> list[KeyEntry]:
    """Every key of ``screen`` and the app-wide ones, grouped (``ORDER``), each binding once with its keys."""
    app = screen.app
    entries: dict[object, KeyEntry] = {}
    taken: set[str] = set()  # keys listed already (the screen's and the app's own words win)

    def add(node: DOMNode, binding: Binding, group: str, words: str, merge_by: object) -> None:
        if binding.key in taken or binding.key.startswith("super+"):  # (the Mac's command key: not over SSH)
            return
        taken.add(binding.key)
        entry = entries.get(merge_by)
        if entry is None:
            entry = entries[merge_by] = KeyEntry(group, words, namespace=node, action=binding.action, id=binding.id)
        entry.keys.append(key_name(app, binding))

    def add_own(node: DOMNode, binding: Binding) -> None:
        if binding.action in MOVES and (binding.id is None or binding.id not in WORDS):
            add(node, binding, MOVE, MOVES[binding.action], ("move", MOVES[binding.action]))
            return
        if (binding.system and binding.action != "command_palette") or binding.action in SKIPPED:
            return
        if binding.action == "command_palette":
            group, words = WORDS["app.palette"]
        elif binding.action in ACTION_WORDS:
            group, words = ACTION_WORDS[binding.action]
        elif binding.id in WORDS:
            group, words = WORDS[binding.id]
        elif binding.description:
            group, words = (ANYWHERE if node is app else HERE), binding.description
        else:
            return
        add(node, binding, group, words, (group, words))

    # the screen, deskterm's own widgets on it, then the app
    for binding in _bindings(screen):
        add_own(screen, binding)
    own_widgets = [w for w in screen.query("*") if type(w).__module__.startswith("deskterm.")]
    for widget in own_widgets:
        for binding in _own_bindings(widget):
            add_own(widget, binding)
    for binding in _bindings(app):
        add_own(app, binding)
    # the moving keys of the focused widget and its containers (Textual's lists and scrolled panes)
    focused = screen.focused
    for node in focused.ancestors_with_self if focused is not None else []:
        if node is screen or node is app:
            continue
        for binding in _bindings(node):
            if binding.action in MOVES:
                words = MOVES[binding.action]
                add(node, binding, MOVE, words, ("move", words))
            elif binding.action in SELECTS and binding.key not in taken:
                words = SELECT_WORDS.get(type(screen).__name__, "Open what the cursor is on")
                add(node, binding, HERE, words, ("select", id(node)))
    rank = {g: i for i, g in enumerate(ORDER)} | {g: 100 + i for i, g in enumerate(LAST)}
    listed = list(entries.values())
    return sorted(listed, key=lambda e: rank.get(e.group, 50))  # stable: each group in the bindings' order


def grouped(entries: list[KeyEntry]) -> list[tuple[str, list[KeyEntry]]]:
    out: list[tuple[str, list[KeyEntry]]] = []
    for e in entries:
        if not out or out[-1][0] != e.group:
            out.append((e.group, []))
        out[-1][1].append(e)
    return out


class KeysScreen(ModalScreen[None]):
    """``?``: every key of the screen underneath and the app-wide ones, grouped, in plain words; scrolls
    (j/k, arrows, pgup/pgdn, g/G, home/end); esc or ? closes."""

    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > #keys-dialog { width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    KeysScreen #keys-title { text-style: bold; width: 1fr; }
    KeysScreen #keys-scroll { height: auto; max-height: 80vh; scrollbar-size-vertical: 1; }
    KeysScreen #keys-hint { color: $text-muted; width: 1fr; }
    /* the list the agent asked for is not covered: notifications (rules fired at start, a new escalation)
       wait under it, and show again when it closes */
    KeysScreen Toast { visibility: hidden; }
    """
    BINDINGS = [
        Binding("escape,question_mark", "close", "Close", id="keys.close"),  # q quits, as everywhere
        Binding("j,down", "scroll(1)", "Down", show=False, id="keys.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="keys.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="keys.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="keys.page_up"),
        Binding("g,home", "end(0)", "Top", show=False, id="keys.top"),
        Binding("G,end", "end(1)", "Bottom", show=False, id="keys.bottom"),
    ]

    def __init__(self, screen) -> None:
        super().__init__()
        self.entries = key_entries(screen)
        self.bindings_list = [(e.key_text, e.words) for e in self.entries]
        self.where = getattr(screen, "KEYS_TITLE", None) or _screen_title(screen)
        # what the screen's symbols mean, listed before its keys: (symbols, meaning) pairs (the queue's SLA column)
        self.legend: tuple[tuple[str, str], ...] = tuple(getattr(screen, "KEYS_LEGEND", ()))

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-dialog"):
            yield Label(Text(f"Keys · {self.where}"), id="keys-title")
            with VerticalScroll(id="keys-scroll", can_focus=False):
                yield Static(self._table(), id="keys-list")
            yield Label(Text("j/k ↑/↓ pgup/pgdn scroll · esc or ? closes"), id="keys-hint")

    def _table(self) -> Group:
        """A title per group, then its keys and words (the words wrap beside the keys)."""
        width = min(max((len(e.key_text) for e in self.entries), default=4), 16)
        parts: list = []
        if self.legend:
            parts.append(Text("The SLA column", style="bold underline"))
            legend = Table.grid(padding=(0, 2))
            legend.add_column(width=max(len(symbols) for symbols, _ in self.legend))
            legend.add_column(ratio=1)
            for symbols, meaning in self.legend:
                legend.add_row(Text(symbols, style="bold"), Text(meaning))
            parts.append(legend)
            parts.append(Text(""))
        for n, (group, entries) in enumerate(grouped(self.entries)):
            parts.append(Text(("\n" if n else "") + group, style="bold underline"))
            table = Table.grid(padding=(0, 2))
            table.add_column(width=width)
            table.add_column(ratio=1)
            for e in entries:
                table.add_row(Text(e.key_text, style="bold"), Text(e.words))
            parts.append(table)
        return Group(*parts)

    @property
    def _scroll(self) -> VerticalScroll:
        return self.query_one("#keys-scroll", VerticalScroll)

    def action_scroll(self, lines: int) -> None:
        self._scroll.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        scroll = self._scroll
        scroll.scroll_relative(y=pages * max(scroll.scrollable_content_region.height - 1, 1), animate=False)

    def action_end(self, bottom: int) -> None:
        if bottom:
            self._scroll.scroll_end(animate=False)
        else:
            self._scroll.scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


def _screen_title(screen) -> str:
    names = {
        "QueueScreen": "queue",
        "DetailScreen": "ticket",
        "TicketScreen": "ticket",
        "EscalationScreen": "escalations",
        "DashboardScreen": "dashboard",
        "HandoverScreen": "handover",
    }
    return names.get(type(screen).__name__, "this dialog")


class KeysFooter(Footer):
    """The footer with ``? Keys`` first: at 80 columns the last keys of a busy screen are cut off, and ``?``
    (which lists them all) must never be one of them."""

    _composed: tuple | None = None  # what the keys shown were made of (``_shown``), at the last compose

    def _shown(self) -> tuple:
        """Everything Footer.compose reads: the shown bindings with whether each is enabled and its tooltip, their
        key displays, and the command palette's entry."""
        app = self.app
        return (
            self.show_command_palette and app.ENABLE_COMMAND_PALETTE,
            tuple(
                (binding, app.get_key_display(binding), enabled, tooltip)
                for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
                if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed = self._shown()
        items = list(super().compose())
        first = [w for w in items if getattr(w, "key", None) == "question_mark"]
        yield from first + [w for w in items if not any(w is f for f in first)]

    def bindings_changed(self, screen) -> None:
        """Textual's footer composes its keys again (a dozen widgets, each styled) whenever the screen says its
        bindings may have changed: a focus moving, a dialog closing, each ``refresh_bindings``. Most of the time
        the same keys come back: 15 % of a screen test's CPU was the footer remade the same. It is remade only
        when what it shows changed."""
        if self._bindings_ready and self._composed is not None and self.is_attached and screen is self.screen:
            if self._shown() == self._composed:
                return
        super().bindings_changed(screen)


def show_keys(app) -> None:
    """``?`` anywhere: the keys of the screen on top (once: ``?`` on the list closes it)."""
    if isinstance(app.screen, KeysScreen):
        return
    app.push_screen(KeysScreen(app.screen))
