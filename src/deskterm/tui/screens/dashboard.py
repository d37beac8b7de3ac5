"""The dashboard: the KPIs of today, this week and this month, for all customers or one, with 30-day trends.

Every figure comes from ``reports.compute`` / ``reports.compute_by`` (the functions of ``deskterm report``) over
the same tickets, escalations and SLA evaluations, so the screen and the report always agree. Periods end now
and start at midnight today, Monday 00:00 or the 1st 00:00 in the configured time zone. The trends are one
``compute`` per local day (the window [midnight, next midnight), as of its end; today as of now).

Keys: ``1``/``2``/``3`` or tab pick the period; ``c``/``C`` cycle the customer (all customers is one of the
choices); ``pagedown``/``pageup`` scroll the figures' column (at 80x24 its end is below the fold); ``enter`` on
a customer at risk asks the app to open the queue filtered to it (``ShowCustomerQueue``).
The work runs in a thread worker and comes back as a typed message: keystrokes never wait for a report.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Label, Sparkline, Static

from ... import monthly, reports
from ...domain.sla import TicketSla
from ...fmt import compact, one_line
from ...progress import Progress
from ...records import TicketRecord
from ..keys import KeysFooter
from ..loading import SLOW, LoadingProgress, Stopped, Told
from .base import LoadingScreen

PERIODS = {"today": "Today", "week": "This week", "month": "This month"}
PERIOD_KEYS = list(PERIODS)
TREND_DAYS = 30
AT_RISK = 5
REFRESH_EVERY = 60  # seconds: the periods end now, so the figures move with the time
# the cells a line of the figures' column holds: #dash-kpis in deskterm.tcss is 36 wide, less its padding and
# its scrollbar
FIGURES_WIDTH = 34
REASON_WIDTH = 16  # a contact reason's name in the top reasons


class ShowCustomerQueue(Message):
    """Open the queue filtered to one customer (the app routes it)."""

    def __init__(self, customer: str) -> None:
        super().__init__()
        self.customer = customer


def period_bounds(now: datetime, tz) -> dict[str, tuple[datetime, datetime]]:
    """[since, until) of each period: local midnight today, Monday 00:00 and the 1st 00:00, until now."""
    local = now.astimezone(tz)
    today = local.date()
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=tz)
    first = datetime.combine(today.replace(day=1), time(0), tzinfo=tz)
    return {"today": (midnight, now), "week": (monday, now), "month": (first, now)}


def day_windows(now: datetime, tz, days: int = TREND_DAYS) -> list[tuple[datetime, datetime]]:
    """The last ``days`` local days, oldest first; today's window ends now."""
    today = now.astimezone(tz).date()
    out = []
    for i in range(days - 1, -1, -1):
        d = today - timedelta(days=i)
        start = datetime.combine(d, time(0), tzinfo=tz)
        end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)
        out.append((start, min(end, now)))
    return out


def at_risk(by_customer: dict[str, reports.Kpis], limit: int = AT_RISK) -> list[tuple[str, reports.Kpis]]:
    """Lowest SLA compliance first (no timer ended: last), then most breaches, then the largest backlog."""

    def key(item: tuple[str, reports.Kpis]):
        name, k = item
        rate = k.overall_compliance
        return (rate is None, rate if rate is not None else 0, -k.breach_count, -k.backlog, name)

    return sorted(by_customer.items(), key=key)[:limit]


@dataclass
class DashData:
    now: datetime
    bounds: dict[str, tuple[datetime, datetime]]
    totals: dict[str, reports.Kpis]
    by_customer: dict[str, dict[str, reports.Kpis]]
    customers: list[str]
    days: dict[str | None, list[tuple[datetime, reports.Kpis]]] = field(default_factory=dict)  # customer → trend
    # customer (None: all) → the service manager's lines: contracts ending, churn, problems, overdue actions
    manager: dict[str | None, list[str]] = field(default_factory=dict)
    reasons: list[reports.Reason] = field(default_factory=list)  # top contact reasons, last 7 days, with their trend
    # an instant at ``now`` itself (a change made in the very second of the computation: ``Figures.pending``) is not
    # in the periods yet: computed again as soon as the clock has passed it, not at the next REFRESH_EVERY
    pending: bool = False


class DashboardLoaded(Message):
    def __init__(self, data: DashData, generation: int) -> None:
        super().__init__()
        self.data = data
        self.generation = generation


class TrendLoaded(Message):
    def __init__(self, customer: str | None, days: list[tuple[datetime, reports.Kpis]], generation: int) -> None:
        super().__init__()
        self.customer = customer
        self.days = days
        self.generation = generation


def widest_since(now: datetime, tz) -> datetime:
    """The start of the widest window the dashboard shows: the month's first or the trend's first day."""
    return min(period_bounds(now, tz)["month"][0], day_windows(now, tz)[0][0])


class Figures:
    """What a desk's figures are made of (thread side): the tickets whose life overlaps the widest window shown
    (``widest_since`` to now: exact for every KPI of a window inside it, as ``queries.load_tickets`` says; a
    ticket left out is closed and untouched since before it, and the window's start only moves forward), read
    in batches and kept as a digest each (``reports.Digest``: not their records), their escalations, and the
    KPIs kept as folds of each ticket's contributions (``reports.Ledger``): the three periods (ending now) and
    the trend's past days (ending at their midnight).

    Another agent's change reads again only the tickets it changed (``refresh``), and ``advance`` replaces
    their contributions by their new ones. A contribution to a period ending now changes too when now passes
    one of the ticket's instants (a deadline, a creation, an escalation: ``reports.next_instant``): those
    tickets alone are evaluated again, the others keep theirs. When a day begins, the past days' figures move by
    one day and yesterday's are what "today"'s were, brought to midnight (``_next_day``): only the periods ending
    now are computed again, every ticket's (today's starts empty; the week and the month keep their start but on
    a Monday or the 1st); everything is computed again only the first time, after a clock set back, or when
    more than a day passed."""

    LIVE = len(PERIODS)  # the periods ending now come first in the ledger, then the trend's past days

    def __init__(self, desk, now: datetime | None = None, progress: Progress | None = None) -> None:
        self.desk = desk
        # what is kept of each ticket whose contributions the ledger holds: its ``reports.Digest`` (the ledger's note
        # of it), not its record (a record with its history is 6 KB: at a million tickets they did not fit in
        # memory). The records are read when a ticket's contributions are computed (the first computation and a
        # new day read the desk in batches, a change reads the changed tickets, an instant passing those whose
        # instant passed) and let go
        self.reasons = reports.Reasons()  # the top contact reasons of the tickets kept (``top_reasons``)
        self.escalations = reports.by_ticket(desk.escalations(open_only=False))
        self.ledger: reports.Ledger | None = None
        # changed since the ledger last took them in: their records as ``refresh`` read them (None: gone)
        self._todo: dict[int, TicketRecord | None] = {}
        self._instants = reports.Instants()  # ticket → when its contributions to the periods ending now may change
        self.lock = threading.Lock()  # the trend of another customer is computed in another thread
        self.computed_whole = self.days_moved = 0  # every period computed again; a day begun, the days moved

    def refresh(self, changed) -> None:
        """Read again these tickets (changed elsewhere: new ones come in, a deleted one goes) and their
        escalations; ``advance`` takes them in."""
        if not changed:
            return
        fresh = self._records(changed)
        escalations = reports.by_ticket(self.desk.escalations(open_only=False, tickets=changed))
        with self.lock:
            for tid in changed:
                self._todo[tid] = fresh.get(tid)
                self.reasons.put(tid, fresh.get(tid))
                if tid in escalations:
                    self.escalations[tid] = escalations[tid]
                else:
                    self.escalations.pop(tid, None)

    def _records(self, ids) -> dict[int, TicketRecord]:
        """These tickets' records with their histories, read now (one transaction)."""
        from ...store.queue import records

        return {t.id: t for t in records(self.desk.store, sorted(ids))} if ids else {}

    def _every(self, now: datetime, progress: Progress | None) -> Iterator[TicketRecord | int]:
        """Every ticket whose contributions may count: the desk's tickets whose life overlaps the widest window
        shown (``widest_since`` to a day ahead: a ticket created at the instant of now, or by a clock a little
        ahead, is read too), read in batches through the driver (``Desk.period_batches``: the rows of one batch at
        a time), then those of the escalations whose ticket was not among them (read by id; the key alone when
        the ticket is gone: its escalations count for all customers). ``progress``: told the tickets computed (those
        given before the batch just read), of how many."""
        tz = self.desk.config.tz
        done, total = 0, None

        def told(_: str, __: int, of: int | None) -> None:  # (a batch read: the tickets before it are computed)
            nonlocal total
            total = of
            if progress is not None:
                progress(reports.COMPUTING, done, total)

        seen: set[int] = set()
        for batch in self.desk.period_batches(
            widest_since(now, tz), now + timedelta(days=1), progress=told if progress is not None else None
        ):
            for t in batch:
                seen.add(t.id)
                yield t
            done += len(batch)
        if progress is not None:
            progress(reports.COMPUTING, done, total)
        others = sorted(self.escalations.keys() - seen)
        found = self._records(others)
        for tid in others:
            yield found.get(tid, tid)

    def advance(self, now: datetime, progress: Progress | None = None) -> None:
        """Bring the figures to ``now``: the changed tickets' contributions, and those of the tickets whose
        instant now passed, replaced; the others kept. ``progress``: told the tickets computed when every one
        is (the first computation, a new day)."""
        tz = self.desk.config.tz
        bounds = period_bounds(now, tz)
        live = [bounds[key] for key in PERIOD_KEYS]
        past = day_windows(now, tz)[:-1]  # the last one is today's, the period "today"
        with self.lock:
            ledger = self.ledger
            if ledger is not None and now >= ledger.periods[0][1] and self._next_day(ledger, live, past):
                # a day began: the past days moved by one, yesterday is what "today" was, as of midnight; the
                # periods ending now are computed again (today's is new), every ticket's once: those the desk
                # reads in the window now. A ticket the window left (closed and untouched since before it) counts
                # in none of the periods ending now, nor in the past days kept (``Ledger.move`` let it go)
                self._instants = reports.Instants()  # (each ticket's next instant set again)
                self.days_moved += 1
                for t in self._every(now, progress):  # (the changed ones were taken in by the midnight step)
                    tid = t if isinstance(t, int) else t.id
                    self._put_record(tid, None if isinstance(t, int) else t, now, False)
                return
            if (
                ledger is None
                or [p[0] for p in ledger.periods[: self.LIVE]] != [p[0] for p in live]
                or ledger.periods[self.LIVE :] != past
                or now < ledger.periods[0][1]
            ):
                # the first computation, days later, or a clock set back (what was evaluated as of a later instant
                # is not known to hold then): every ticket read again, every period
                self.ledger = reports.Ledger(live + past, listed=False)  # (the screen shows their number)
                self._instants = reports.Instants()
                todo, self._todo = self._todo, {}
                self.computed_whole += 1
                for t in self._every(now, progress):
                    tid = t if isinstance(t, int) else t.id
                    todo.pop(tid, None)
                    if not isinstance(t, int):
                        self.reasons.put(tid, t)
                    self._put_record(tid, None if isinstance(t, int) else t, now, True)
                for tid, record in sorted(todo.items()):  # changed, and no longer in the window (or gone)
                    self._put_record(tid, record, now, True)
                return
            self._step(ledger, live, now)

    def _step(self, ledger: reports.Ledger, live: list[tuple[datetime, datetime]], now: datetime) -> None:
        """The periods ending now (``live``, their starts those of the ledger) brought to ``now``: the changed
        tickets' contributions replaced, and those of the tickets whose instant passed."""
        ledger.periods[: self.LIVE] = live  # the periods end now
        todo, self._todo = self._todo, {}
        passed = sorted(self._instants.passed(now.timestamp()) - todo.keys())  # a changed one is done below
        found = self._records(passed)  # (their records are not kept: read again)
        for tid in passed:
            self._put_record(tid, found.get(tid), now, False)  # (once: its next instant may be a second away)
        for tid, record in sorted(todo.items()):
            self._put_record(tid, record, now, True)

    def _next_day(
        self, ledger: reports.Ledger, live: list[tuple[datetime, datetime]], past: list[tuple[datetime, datetime]]
    ) -> bool:
        """When exactly one day began since the ledger's periods (the past days are the ledger's but the oldest,
        then what was "today"), move the ledger to the new day and say so: first the periods ending then are
        brought to midnight (as to any instant: the changed tickets, the instants passed), so that "today" is
        yesterday as of its end; then the past days move by one (the oldest goes), yesterday joins them, and
        the periods ending now keep their folds when they start where they started (the week and the month
        but on a Monday or the 1st) or start empty (today). Their contributions as of midnight are computed
        again as of now by the caller (every ticket's ``_put`` of the periods ending now)."""
        old = ledger.periods
        midnight = live[0][0]
        yesterday = (old[0][0], midnight)
        if past != [*old[self.LIVE + 1 :], yesterday] or old[0][1] > midnight:
            return False
        self._step(ledger, [(since, midnight) for since, _ in old[: self.LIVE]], midnight)
        keep: list[int | None] = [None]  # today: nothing in it yet
        keep += [i if live[i][0] == old[i][0] else None for i in range(1, self.LIVE)]
        keep += list(range(self.LIVE + 1, len(old))) + [0]
        ledger.move(live + past, keep)
        return True

    def _put_record(self, tid: int, t: TicketRecord | None, now: datetime, changed: bool) -> None:
        """The contributions of ticket ``tid`` (``t``: its record read now, None: gone) as of now: to every period
        when it ``changed``, else to the periods ending now (those of the past days are kept). A record read for
        the periods ending now that differs from the one the ledger took in (a change the feed has not told yet)
        is taken in as a change: the past days' contributions always are those of the record digested."""
        assert self.ledger is not None
        note = self.ledger.note(tid)
        kept = reports.Digest(note) if note else None
        if not changed and t is not None and (kept is None or reports.digest(t) != kept):
            changed = True  # (no digest: the past days' contributions are of a record not known)
        if changed:
            note = reports.digest(t) if t is not None else b""
        self._put(tid, t, now, changed, kept, note or b"")

    def _put(
        self, tid: int, t: TicketRecord | None, now: datetime, changed: bool, old: reports.Digest | None, note: bytes
    ) -> None:
        """The contributions of ticket ``tid`` (``t``) as of now: to every period when it ``changed`` (``old``: the
        digest of the record the ledger took in before), else to the periods ending now (those of the past days
        are kept); ``note``: the digest kept with them."""
        ledger = self.ledger
        assert ledger is not None
        desk = self.desk
        escalations = self.escalations.get(tid, ())
        live = ledger.periods[: self.LIVE]
        sla: TicketSla | None = None  # its evaluation as of now, when a contribution to a period ending now read it
        if changed:
            # a past day's timers as of its end are evaluated again only when the change reaches that day (an event
            # dated in it or before, another customer...): most changes are made now, after every past day's end;
            # and one evaluation serves the following days until the ticket's next instant (``reports.contributions``),
            # the periods ending now included (the past days first: their ends in time order)
            kept = ledger.contributions(tid)
            was = kept[self.LIVE :] if kept else [reports.NOTHING] * (len(ledger.periods) - self.LIVE)
            same = reports.digest_same_before(old, t)
            used: list[TicketSla | None] = []
            got = reports.contributions(
                t,
                lambda at: desk.sla(t, at),
                [*ledger.periods[self.LIVE :], *live],
                escalations,
                [*(reports.Earlier(old, before, same) for before in was), *[None] * self.LIVE] if old else None,
                used,
            )
            contributions = got[-self.LIVE :] + got[: -self.LIVE]
            sla = next((s for s in used[-self.LIVE :] if s is not None), None)
        else:
            found: list[TicketSla] = []

            def sla_now(t):  # one evaluation as of now serves the three periods
                if not found:
                    found.append(desk.sla(t, now))
                return found[0]

            contributions = [reports.contribution(t, sla_now, since, until, escalations) for since, until in live]
            sla = found[0] if found else None
            kept = ledger.contributions(tid)
            contributions += kept[self.LIVE :] if kept else [reports.NOTHING] * (len(ledger.periods) - self.LIVE)
        ledger.put(tid, t, contributions, note)
        self._instants.put(tid, reports.next_instant(t, sla, escalations, now))

    def pending(self, now: datetime) -> bool:
        """After ``advance(now)``: a ticket has an instant at ``now`` itself (a change committed in the second of
        ``now``, the clock counting whole seconds), which the periods, ending at ``now`` excluded, leave out; the
        first computation after ``now`` takes it in (its ``next_instant`` has passed then)."""
        with self.lock:
            return self._instants.first() <= now.timestamp() - 1  # (an instant is kept a second early)

    def period(self, key: str) -> tuple[reports.Kpis, dict[str, reports.Kpis]]:
        """The KPIs of a period ending now (``advance`` first), of all customers and of each customer with
        something in it."""
        ledger, tz = self.ledger, self.desk.config.tz
        assert ledger is not None
        i = PERIOD_KEYS.index(key)
        with self.lock:
            # the breaches counted, not listed: the screen shows their number
            return ledger.kpis(i, None, tz, False), {
                name: ledger.kpis(i, name, tz, False) for name in ledger.customers(i)
            }

    def trend(self, customer: str | None) -> list[tuple[datetime, reports.Kpis]]:
        """The trend's days, oldest first, of all customers or of one; today's is the period "today"."""
        ledger, tz = self.ledger, self.desk.config.tz
        assert ledger is not None
        with self.lock:
            days = [*range(self.LIVE, len(ledger.periods)), PERIOD_KEYS.index("today")]
            return [(ledger.periods[i][0], ledger.kpis(i, customer, tz, False)) for i in days]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def _dur(x: float | None) -> str:
    return "–" if x is None else compact(int(round(x)))


def column_lines(lines: Sequence[str], width: int = FIGURES_WIDTH) -> list[str]:
    """The service manager's lines in the figures' column: each indented, cut into lines of ``width`` at its
    spaces, its continuations indented further (left to the terminal, a long line went on at the column's left
    edge, under the figures' labels)."""
    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(
            one_line(line), width, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False
        ) or [""]
    return out


def kpi_text(k: reports.Kpis) -> Text:
    """The figures of one period, one per line (labels left, values right-aligned)."""
    rows: list[tuple[str, str]] = [
        ("Opened", str(k.opened)),
        ("Resolved", str(k.resolved)),
        ("Backlog", str(k.backlog)),
        ("SLA compliance", _pct(k.overall_compliance)),
    ]
    for name, c in k.compliance.items():
        rows.append((f"  {name.replace('_', ' ')}", f"{_pct(c.rate)} {c.met}/{c.met + c.breached}"))
    rows += [
        ("Breaches", str(k.breach_count)),
        ("1st response (mean)", _dur(k.first_response.mean_business)),
        ("Resolution (mean)", _dur(k.resolution.mean_business)),
        ("Resolution (median)", _dur(k.resolution.median_business)),
        ("First-contact res.", _pct(k.first_contact_rate)),
        ("Reopen rate", _pct(k.reopen_rate)),
        ("Escalation rate", _pct(k.escalation_rate)),
        ("Time to ack (mean)", _dur(k.mean_ack_seconds)),
        ("CSAT", "–" if k.csat_mean is None else f"{k.csat_mean:.2f} ({k.csat_responses})"),
        ("NPS", "–" if k.nps is None else f"{k.nps:+.0f} ({k.nps_responses})"),
        ("CES", "–" if k.ces_mean is None else f"{k.ces_mean:.2f} ({k.ces_responses})"),
    ]
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, (label, value) in enumerate(rows):
        if i:
            text.append("\n")
        text.append(f"{label:<20}")
        text.append(f"{value:>13}", style="bold")
    return text


def _compliance_series(days: Sequence[tuple[datetime, reports.Kpis]]) -> list[float]:
    """Daily compliance in %, from the first day on which a timer ended; a later day on which none ended
    keeps the previous day's value; none when no timer ended in the 30 days (a flat line: a single value would
    draw as a full bar)."""
    out: list[float] = []
    last = None
    for _, k in days:
        rate = k.overall_compliance
        if rate is not None:
            last = rate * 100
        if last is not None:
            out.append(last)
    return out


class DashboardScreen(LoadingScreen):
    LOAD_GROUP = "dashboard"
    BINDINGS = [
        Binding("1", "period('today')", "Today", id="dashboard.today"),
        Binding("2", "period('week')", "Week", id="dashboard.week"),
        Binding("3", "period('month')", "Month", id="dashboard.month"),
        Binding("tab", "next_period", "Next period", show=False, id="dashboard.next_period"),
        Binding("shift+tab", "previous_period", "Previous period", show=False, id="dashboard.previous_period"),
        Binding("c", "next_customer", "Customer", id="dashboard.customer"),
        Binding("C", "previous_customer", "Previous customer", show=False, id="dashboard.previous_customer"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="dashboard.reload"),
        # the figures' column is taller than 24 rows (satisfaction, the customer's contract and problems are below
        # the fold): page keys scroll it, whatever has the focus (the risk table's own paging is not needed)
        Binding("pagedown", "scroll_figures(1)", "Figures down", show=False, priority=True, id="dashboard.page_down"),
        Binding("pageup", "scroll_figures(-1)", "Figures up", show=False, priority=True, id="dashboard.page_up"),
        Binding("i", "customer_panel", "Customer panel", show=False, id="dashboard.customer_panel"),
        Binding("escape", "back", "Back", id="dashboard.back"),
    ]

    def __init__(self, period: str = "today", customer: str | None = None) -> None:
        super().__init__()
        self.period = period if period in PERIODS else "today"
        self.customer = customer
        self.data: DashData | None = None
        self.loaded = False
        self._ticks = 0
        self._figures: Figures | None = None  # the tickets of the last load (thread side)
        self._manager: monthly.KeptManagerLines | None = None  # the service manager's lines kept (thread side)
        self._changed: set[int] | None = None  # changed elsewhere since the last computation began (None: any)
        self._risk: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Dashboard · computing…"), id="dash-title")
        with Horizontal(id="dash-body"):
            with VerticalScroll(id="dash-kpis"):
                yield Static(Text("computing…"), id="dash-figures")
            with Vertical(id="dash-right"):
                yield Label(id="label-opened", classes="dash-label")
                yield Sparkline([], id="spark-opened")
                yield Label(id="label-resolved", classes="dash-label")
                yield Sparkline([], id="spark-resolved")
                yield Label(id="label-compliance", classes="dash-label")
                yield Sparkline([], id="spark-compliance")
                yield Label(Text("Customers at risk (enter: queue · i: panel)"), id="label-risk", classes="dash-label")
                yield DataTable(cursor_type="row", id="dash-risk")
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#dash-risk", DataTable)
        table.add_column("customer", key="customer")
        table.add_column("SLA", key="sla")
        table.add_column("breaches", key="breaches")
        table.add_column("backlog", key="backlog")
        table.focus()
        self._show_trend()  # "computing…" under each trend until the first figures come (its progress in the title)

    # -- computing (in a thread) -----------------------------------------------------------------

    def load(self, generation: int) -> None:
        changed, self._changed = self._changed, set()
        self._compute(generation, self.customer, changed)

    @work(thread=True, exclusive=True, group="dashboard")
    def _compute(self, generation: int, customer: str | None, changed: set[int] | None) -> None:
        desk = self._desk
        now = desk.clock.now()
        figures, manager = self._figures, self._manager
        # the first computation says how far it has got once it has taken SLOW seconds (the title), and stops
        # when the screen is closed before it ends
        told = (
            None
            if self.data is not None
            else Told(self, SLOW, generation, lambda: self.app.leaving or not self.is_attached)
        )
        try:
            if figures is None or manager is None or changed is None:
                figures, manager = Figures(desk, now, told), monthly.KeptManagerLines(desk)
            else:
                figures.refresh(changed)
                manager.changed(changed)
            figures.advance(now, told)
        except Stopped:
            return
        bounds = period_bounds(now, desk.config.tz)
        totals, by_customer = {}, {}
        for key in PERIODS:
            totals[key], by_customer[key] = figures.period(key)
        customers = sorted(set().union(*(by.keys() for by in by_customer.values())))  # something this month
        data = DashData(now, bounds, totals, by_customer, customers, pending=figures.pending(now))
        # a rolling week against the week before it (a calendar week just begun would compare hours with days)
        with figures.lock:
            data.reasons = figures.reasons.top(now - timedelta(days=7), now)
        data.days[customer] = figures.trend(customer)
        data.manager[customer] = manager.lines(now, customer)
        self._figures, self._manager = figures, manager
        self.post_message(DashboardLoaded(data, generation))

    @work(thread=True, exclusive=True, group="dashboard-trend")
    def _compute_trend(self, generation: int, customer: str | None) -> None:
        figures, data, manager = self._figures, self.data, self._manager
        if figures is None or data is None or manager is None:
            return
        data.manager[customer] = manager.lines(data.now, customer)
        self.post_message(TrendLoaded(customer, figures.trend(customer), generation))

    def on_loading_progress(self, message: LoadingProgress) -> None:
        """The first computation's progress, until its figures come: in the title."""
        if message.generation == self._generation and self.data is None:
            self.query_one("#dash-title", Static).update(Text(f"Dashboard · {message.line}", no_wrap=True))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        if message.generation != self._generation:
            return
        self.data = message.data
        if self.customer is not None and self.customer not in self.data.customers:
            self.customer = None
        self.loaded = self.customer in self.data.days
        self.show()
        if not self.loaded:
            self._compute_trend(self._generation, self.customer)

    def on_trend_loaded(self, message: TrendLoaded) -> None:
        if message.generation != self._generation or self.data is None:
            return
        self.data.days[message.customer] = message.days
        if message.customer == self.customer:
            self.loaded = True
            self.show()

    # -- showing ---------------------------------------------------------------------------------

    @property
    def kpis(self) -> reports.Kpis | None:
        """The figures on screen: the period's, of all customers or of the chosen one."""
        if self.data is None:
            return None
        if self.customer is None:
            return self.data.totals[self.period]
        return self.data.by_customer[self.period].get(self.customer)

    def show(self) -> None:
        data = self.data
        if data is None:
            return
        since, _ = data.bounds[self.period]
        tz = self._desk.config.tz
        title = Text(no_wrap=True, overflow="ellipsis")
        for i, (key, name) in enumerate(PERIODS.items(), 1):
            label = f" {i} {name} "
            title.append(label, style="bold reverse" if key == self.period else "")
            title.append(" ")
        # whose figures first: at 80 columns what does not fit is the period's start, cut at its end (``…``)
        title.append(one_line(self.customer, 40) if self.customer else "all customers", style="bold")
        title.append(f" · since {since.astimezone(tz):%a %d %b %H:%M}")
        self.query_one("#dash-title", Static).update(title)
        k = self.kpis
        figures = kpi_text(k) if k is not None else Text("no tickets")
        manager = list(self.data.manager.get(self.customer) or ()) if self.data else []
        month = data.by_customer["month"].get(self.customer) if self.customer else None
        if month is not None:  # the customer's month to date, whatever the period shown
            c = month.overall_compliance
            met = sum(x.met for x in month.compliance.values())
            breached = sum(x.breached for x in month.compliance.values())
            rate = "—" if c is None else f"{100 * c:.1f} %"
            manager.insert(0, f"month to date: SLA compliance {rate} ({met} met, {breached} breached)")
        if manager:
            figures = figures.copy()
            figures.append("\nService manager\n", style="bold")
            for line in column_lines(manager):
                figures.append(f"{line}\n")
        if data.reasons:  # only on a desk that classifies its tickets (categories)
            figures = figures.copy()
            figures.append("\nTop contact reasons, last 7 days\n", style="bold")
            for r in data.reasons:
                name = one_line(r.category, REASON_WIDTH)
                figures.append(f"{name:<{REASON_WIDTH}} {r.count:>3} {r.trend:>3} (was {r.previous})\n")
        self.query_one("#dash-figures", Static).update(figures)
        self._show_trend()
        self._show_risk()

    def _show_trend(self) -> None:
        days = self.data.days.get(self.customer) if self.data else None
        if not days:
            for name in ("opened", "resolved", "compliance"):
                self.query_one(f"#label-{name}", Label).update(Text(f"{name}: computing…"))
            return
        opened = [float(k.opened) for _, k in days]
        resolved = [float(k.resolved) for _, k in days]
        compliance = _compliance_series(days)
        low = min((k.overall_compliance for _, k in days if k.overall_compliance is not None), default=None)
        n = len(days)
        self.query_one("#label-opened", Label).update(
            Text(f"Opened/day ({n} d): today {days[-1][1].opened}, max {max(opened):.0f}")
        )
        self.query_one("#label-resolved", Label).update(
            Text(f"Resolved/day: today {days[-1][1].resolved}, max {max(resolved):.0f}")
        )
        self.query_one("#label-compliance", Label).update(
            Text(f"SLA compliance/day: today {_pct(days[-1][1].overall_compliance)}, low {_pct(low)}")
        )
        self.query_one("#spark-opened", Sparkline).data = opened
        self.query_one("#spark-resolved", Sparkline).data = resolved
        self.query_one("#spark-compliance", Sparkline).data = compliance

    def on_resize(self) -> None:
        if self.data is not None:  # the customers' column is cut to the width (a terminal resized over SSH)
            self._show_risk()

    def _show_risk(self) -> None:
        table = self.query_one("#dash-risk", DataTable)
        current = self._risk[table.cursor_row] if self._risk and 0 <= table.cursor_row < len(self._risk) else None
        table.clear()
        ranked = at_risk(self.data.by_customer[self.period]) if self.data is not None else []
        self._risk = [name for name, _ in ranked]
        width = 14 if self.size.width < 100 else 28
        for name, k in ranked:
            table.add_row(
                Text(one_line(name, width)),
                Text(_pct(k.overall_compliance), justify="right"),
                Text(str(k.breach_count), justify="right"),
                Text(str(k.backlog), justify="right"),
                key=name,
            )
        if current in self._risk:
            table.move_cursor(row=self._risk.index(current))

    # -- the app's hooks -------------------------------------------------------------------------

    def data_changed(self) -> None:
        # any ticket may have changed: every one is read again. The figures are computed again from every ticket
        # in memory (seconds on a large desk), so never two at once: the changes noticed during a computation
        # are taken in by the next one
        self._changed = None
        self.reload_soon()

    def tickets_changed(self, changed: frozenset[int]) -> None:
        """Only these tickets are read again; the service manager's lines are computed again only when what they
        read changed (``monthly.KeptManagerLines``: a contract names no ticket, so even an empty change asks)."""
        if self._changed is not None:
            self._changed |= changed
        self.reload_soon()

    def clock_tick(self, now) -> None:
        self._ticks += 1
        data = self.data
        if data is not None and data.pending and now > data.now:  # (a frozen clock never gets there)
            data.pending = False  # once: the next computation says whether it is still owed
            self.reload_soon()
        elif self._ticks % REFRESH_EVERY == 0:
            self.reload_soon()

    # -- actions ---------------------------------------------------------------------------------

    def action_period(self, key: str) -> None:
        if key in PERIODS:
            self.period = key
            self.show()

    def action_next_period(self) -> None:
        self.action_period(PERIOD_KEYS[(PERIOD_KEYS.index(self.period) + 1) % len(PERIOD_KEYS)])

    def action_previous_period(self) -> None:
        self.action_period(PERIOD_KEYS[(PERIOD_KEYS.index(self.period) - 1) % len(PERIOD_KEYS)])

    def _cycle_customer(self, step: int) -> None:
        if self.data is None:
            return
        choices: list[str | None] = [None, *self.data.customers]
        self.customer = choices[(choices.index(self.customer) + step) % len(choices)]
        self.loaded = self.customer in self.data.days
        self.show()
        if not self.loaded:
            self._compute_trend(self._generation, self.customer)

    def action_next_customer(self) -> None:
        self._cycle_customer(1)

    def action_previous_customer(self) -> None:
        self._cycle_customer(-1)

    def action_scroll_figures(self, direction: int) -> None:
        figures = self.query_one("#dash-kpis", VerticalScroll)
        if direction > 0:
            figures.scroll_page_down(animate=False)
        else:
            figures.scroll_page_up(animate=False)

    def action_reload(self) -> None:
        self._changed = None  # ctrl+r reads everything again
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_customer_panel(self) -> None:
        """``i`` on a customer at risk: its panel (contacts, notes, open and last resolved tickets)."""
        table = self.query_one("#dash-risk", DataTable)
        if not self._risk or not 0 <= table.cursor_row < len(self._risk):
            return
        from .customer_panel import show_customer_panel

        show_customer_panel(self, self._risk[table.cursor_row])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(ShowCustomerQueue(event.row_key.value))
