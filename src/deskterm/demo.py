"""A realistic demo desk: a dozen customers on four policies, 90 days of tickets with their histories.

Timestamps are relative to now so that countdowns are live. Each ticket's life is planned in its policy's
business time (first response, updates and resolution mostly inside their targets, a few late), then cut
at now: older tickets are resolved and closed, recent ones are open in every state (new, being worked,
waiting on the customer, some about to breach, a few breached). On top of that history, the "story" does
what a desk's agents did during the last days, through the same service calls as the screens and the
command line: a major incident with linked tickets, functional and hierarchical escalations (some
acknowledged, some waiting), satisfaction answers, classifications, and the automatic escalation rules
applied once. ``build_demo`` writes a database and a configuration file into a new or empty directory (never
the user's real database, never over an existing desk or configuration).
"""

from __future__ import annotations

import os
import random
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import demo_tickets
from .clock import Clock, FrozenClock
from .config import Config, load_config, parse_config
from .domain.billing import Contract
from .domain.calendar import epoch
from .domain.customers import ContactSpec, CustomerBatch, CustomerSpec
from .domain.sla import Policy, Targets, business_day_target
from .domain.survey import SurveyAnswer
from .errors import BadInput
from .safefile import set_mode
from .service import Change, Desk, NewEvent, NewTicket
from .store.engine import open_store

DEMO_SLA_CONFIG = """\
timezone = "Europe/Paris"

[calendars.office]
timezone = "Europe/Paris"
mon = ["09:00-12:30", "13:30-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-17:00"]
holidays = "FR"
closed = ["2026-12-24"]

[calendars.newyork]
timezone = "America/New_York"
mon = ["08:00-18:00"]
tue = ["08:00-18:00"]
wed = ["08:00-18:00"]
thu = ["08:00-18:00"]
fri = ["08:00-18:00"]
holidays = "US"

[calendars.always]
always = true

[policies.platinum]
calendar = "always"
warn_at = 0.75
P1 = { first_response = "15m", resolution = "4h", next_update = "1h" }
P2 = { first_response = "30m", resolution = "8h", next_update = "2h" }
P3 = { first_response = "2h",  resolution = "2d" }
P4 = { first_response = "8h",  resolution = "5d" }

[policies.gold]
calendar = "office"
warn_at = 0.75
P1 = { first_response = "30m", resolution = "4h", next_update = "1h" }
P2 = { first_response = "1h",  resolution = "8h" }
P3 = { first_response = "4h",  resolution = "3bd" }
P4 = { first_response = "8h",  resolution = "10bd" }

[policies.us-business]
calendar = "newyork"
warn_at = 0.8
P1 = { first_response = "30m", resolution = "6h", next_update = "2h" }
P2 = { first_response = "2h",  resolution = "1bd" }
P3 = { first_response = "4h",  resolution = "3bd" }
P4 = { first_response = "1bd", resolution = "10bd" }

[policies.bronze]
calendar = "office"
warn_at = 0.8
P1 = { first_response = "1h",  resolution = "8h" }
P2 = { first_response = "4h",  resolution = "2bd" }
P3 = { first_response = "1bd", resolution = "5bd" }
P4 = { first_response = "2bd", resolution = "20bd" }

[customers."Clinique Saint-Jean"]
policy = "platinum"
[customers."CHU Lyon Sud"]
policy = "platinum"
[customers."Banque Rhône-Alpes"]
policy = "gold"
[customers."Mairie de Villeurbanne"]
policy = "gold"
[customers."Transports Guillaume"]
policy = "gold"
[customers."Hudson Freight Inc."]
policy = "us-business"
[customers."Brooklyn Bagels Co."]
policy = "us-business"
[customers."Atelier Moreau"]
policy = "bronze"

[defaults]
policy = "bronze"
"""

# What a desk adds to its SLA: escalation targets, a duty manager, automatic rules, reply templates. Every
# group the demo's history escalates to is defined here (the tests check it).
DEMO_DESK_CONFIG = """
[canned.ack]
body = "Hello {customer}, {agent} is looking at {ticket} and will update you within the hour."
[canned.need-info]
body = "Hello {customer}, to move {ticket} forward we need a screenshot of the error and the time it happened. Thank you, {agent}"
[canned.major]
body = "Hello {customer}, {ticket} is part of a wider incident our teams are working on. We will update you within the hour."
[canned.fixed]
body = "Hello {customer}, the fix for {ticket} is in place. Could you confirm it works for you? {agent}"
[canned.escalated]
body = "Hello {customer}, {ticket} has been passed to our second-level team, who will contact you shortly."

[groups.L2-network]
level = "L2"
[groups.L2-apps]
level = "L2"
[groups.L3-vendor]
level = "L3"

[escalation]
managers = ["duty-manager"]
ack_within = "15m"
bell = true

[[escalation.rules]]
name = "P1 at 75 % of its resolution time"
when = "resolution.at 75%"
priority = ["P1"]
action = "hierarchical"
to = "duty-manager"

[[escalation.rules]]
name = "P2 past its resolution time"
when = "resolution.breached"
priority = ["P2"]
action = "hierarchical"
to = "duty-manager"

[[escalation.rules]]
name = "platinum P1 half-way: L2 looks at it"
when = "resolution.at 50%"
priority = ["P1"]
policy = ["platinum"]
group = ["L1"]
action = "functional"
to = "L2-apps"
"""

DEMO_DESK_CONFIG += demo_tickets.CATEGORIES_TOML
DEMO_CONFIG = DEMO_SLA_CONFIG + DEMO_DESK_CONFIG
HISTORY_DAYS = 90

CUSTOMERS = [
    "Clinique Saint-Jean",
    "CHU Lyon Sud",
    "Banque Rhône-Alpes",
    "Mairie de Villeurbanne",
    "Transports Guillaume",
    "Hudson Freight Inc.",
    "Brooklyn Bagels Co.",
    "Atelier Moreau",
    "Librairie du Parc",
    "Boulangerie Petit",
    "Cabinet Durand Avocats",
    "École Jules Ferry",
]
# the customers' records: VIP flag, notes for the desk, e-mail domain, and two contacts each (name, e-mail, phone,
# role); the demo's tickets are opened by them in turn
CUSTOMER_RECORDS: dict[str, tuple[bool, str, str, list[tuple[str, str, str, str]]]] = {
    "Clinique Saint-Jean": (
        True,
        "Call the duty manager before restarting anything on the wards",
        "clinique-sj.fr",
        [
            ("Claire Martin", "claire.martin@clinique-sj.fr", "+33 4 72 10 20 30", "IT lead"),
            ("Paul Girard", "paul.girard@clinique-sj.fr", "+33 4 72 10 20 31", "Ward B manager"),
        ],
    ),
    "CHU Lyon Sud": (
        True,
        "24x7 hospital: a P1 is phoned to the on-call engineer as well",
        "chu-lyon.example",
        [
            ("Nadia Benali", "n.benali@chu-lyon.example", "+33 4 78 86 00 00", "CIO office"),
            ("Thomas Roux", "t.roux@chu-lyon.example", "+33 4 78 86 00 01", "Biomedical"),
        ],
    ),
    "Banque Rhône-Alpes": (
        False,
        "Changes only in the Tuesday window",
        "bra.example",
        [
            ("Ana Lopes", "ana.lopes@bra.example", "+33 4 72 40 00 00", "Operations"),
            ("Marc Dubois", "marc.dubois@bra.example", "+33 4 72 40 00 01", "Security officer"),
        ],
    ),
    "Mairie de Villeurbanne": (
        False,
        "",
        "mairie-villeurbanne.example",
        [
            ("Sophie Bernard", "sophie.bernard@mairie-villeurbanne.example", "+33 4 78 03 67 67", "DSI"),
            ("Hugo Petit", "hugo.petit@mairie-villeurbanne.example", "+33 4 78 03 67 68", "Front desk"),
        ],
    ),
    "Hudson Freight Inc.": (
        False,
        "English speaking; office hours New York time",
        "hudsonfreight.example",
        [
            ("Dana Scott", "dana.scott@hudsonfreight.example", "+1 212 555 0100", "IT manager"),
            ("Mike Chen", "mike.chen@hudsonfreight.example", "+1 212 555 0101", "Dispatch"),
        ],
    ),
    "Atelier Moreau": (
        False,
        "Small shop: the owner is the only contact who may approve costs",
        "atelier-moreau.example",
        [
            ("Luc Moreau", "luc@atelier-moreau.example", "+33 6 12 34 56 78", "Owner"),
            ("Inès Moreau", "ines@atelier-moreau.example", "+33 6 12 34 56 79", "Accounts"),
        ],
    ),
}


def demo_customers() -> CustomerBatch:
    """The demo's customer records and contacts (what `deskterm customers import` would load)."""
    batch = CustomerBatch()
    for name, (vip, notes, domain, people) in CUSTOMER_RECORDS.items():
        batch.customers.append(CustomerSpec(name=name, vip=vip, notes=notes, domains=(domain,)))
        for person, email, phone, role in people:
            batch.contacts.append(ContactSpec(customer=name, name=person, email=email, phone=phone, role=role))
    return batch


def _with_contacts(tickets: list[NewTicket]) -> list[NewTicket]:
    """Each ticket of a customer with records opened by its contacts in turn (no randomness: the generator's
    sequence, and so every other ticket, stays as it was)."""
    for i, t in enumerate(tickets):
        record = CUSTOMER_RECORDS.get(t.customer)
        if record is not None and t.contact is None:
            t.contact = record[3][i % len(record[3])][1]
    return tickets


SUBJECTS = [
    "VPN down for ward {w}",
    "Printer on floor {n} jams on every job",
    "Cannot log in to the HR portal",
    "Outlook keeps asking for the password",
    "New starter: laptop and accounts for {name}",
    "Wi-Fi drops in meeting room {n}",
    "Shared drive S: not mapped after reboot",
    "Badge reader at gate {n} offline",
    "Payroll export fails with error 0x{code}",
    "Phone line {n} has no dial tone",
    "Request: access to the finance share",
    "Website returns 502 since {h}:00",
    "Backup job failed on SRV-{n:02d}",
    "Teams calls drop after 5 minutes",
    "Certificate expires on the intranet in 3 days",
    "Scanner sends blank PDFs",
    "MFA codes not received by SMS",
    "Disk almost full on DB-{n:02d}",
    "Change: open firewall port {port} for the vendor",
    "Mobile app crashes on login",
]
NAMES = ["Camille", "Léa", "Hugo", "Nora", "Yanis", "Jade", "Louis", "Inès"]
AGENTS = ["alice", "bruno", "chloe", "david", "emma"]  # level 1
GROUP_AGENTS = {"L2-network": "nadia", "L2-apps": "omar", "L3-vendor": "vendor-desk"}  # who works each group
GROUPS = ["L1", "L1", "L1", "L2-network", "L2-apps", "L3-vendor"]
MANAGER = "duty-manager"
CODES = ["fixed", "workaround", "user-guidance", "no-fault-found", "duplicate", "cancelled"]
CODE_WEIGHTS = [10, 3, 4, 1, 1, 1]
FIRST_REPLIES = [
    "On it, looking now.",
    "Thank you, we are looking into it.",
    "We can reproduce it here and are working on it.",
]
UPDATES = [
    "Still working on it: the logs point to the authentication server.",
    "We have restarted the service; please try again.",
    "Update: a fix is being tested.",
    "Still investigating with the customer's IT contact; next update within the hour.",
]
ASK_INFO = "Could you send a screenshot of the error?"
FIXED = [
    "Fixed on our side: can you confirm?",
    "Done. Please let us know if it happens again.",
    "The account is unlocked; you can log in again.",
]
NOTES = [
    "Same symptom as last week's incident, check the switch logs.",
    "Customer called twice, very anxious.",
    "Vendor ticket opened: case 88123.",
    "Workaround applied, root cause unknown.",
]
CHASERS = ["Any news? This is blocking us.", "Hello, is anyone looking at this?"]
CUSTOMER_ANSWERS = ["Here is the screenshot.", "It happens every morning around 9.", "Yes, all users on floor 2."]
REOPENERS = ["It is broken again this morning.", "Still not working for two of us."]
BUSY_AGENTS = ["alice", "bruno", "chloe", "david"]
BUSY_REPLIES = [
    "On it, looking now.",
    "Could you send a screenshot of the error?",
    "We have restarted the service; please try again.",
    "Escalated to the network team, next update within the hour.",
    "Fixed on our side: can you confirm?",
]
ON_TIME_SCORES = [5, 5, 4, 5, 4, 5, 5, 3, 5, 4]  # CSAT of tickets handled within their targets, in turn
LATE_SCORES = [4, 3, 2, 4, 1]  # and of those that missed one
NPS_OF = {5: 10, 4: 8, 3: 6, 2: 4, 1: 2}  # the demo's customers answer the NPS question in line with the CSAT
CES_OF = {5: 7, 4: 6, 3: 4, 2: 3, 1: 2}
COMMENTS = {
    5: ["Quick and friendly, thank you!", "Perfect."],
    4: ["Good, but it took a while."],
    3: ["Fixed, but we had to chase twice."],
    2: ["Slow to answer."],
    1: ["Nobody called us back."],
}


def demo_config(full: bool = True) -> Config:
    return parse_config(tomllib.loads(DEMO_CONFIG if full else DEMO_SLA_CONFIG), "demo")


def write_demo_config(directory: Path, full: bool = True) -> Path:
    """Write the demo's configuration as ``directory/deskterm.toml``: a new file only (never over one)."""
    path = directory / "deskterm.toml"
    _write_new(path, (DEMO_CONFIG if full else DEMO_SLA_CONFIG).encode("utf-8"))
    return path


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` and write ``data``: never over an existing file, never through a symbolic link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o660)
    except FileExistsError:
        raise BadInput(f"{path}: already exists: the demo writes only into a new or empty directory") from None
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, 0o660)  # the file just made (never another one): the group shares it, as it shares the desk
        fh.write(data)


# the files that make a directory a desk or a configuration directory: the demo never writes beside them
_TAKEN = ("deskterm.toml", "demo.db", "demo.db-wal", "demo.db-shm", "deskterm.db", "deskterm.db-wal")


def prepare_directory(directory: Path) -> Path:
    """Make sure ``directory`` can take a new demo desk: created (mode 0770, as a desk's data directory)
    when missing; refused when it holds a desk or a configuration already (``demo --keep ~/.config/deskterm``
    must not overwrite the real one)."""
    directory = Path(directory)
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir(mode=0o770)
        except FileExistsError:
            pass  # made just now by someone else: checked below like any existing directory
        else:
            set_mode(directory, 0o770)  # mkdir's mode is masked by the umask; set on the directory made, never a link
            return directory
    if not directory.is_dir():
        raise BadInput(f"{directory}: not a directory")
    taken = [name for name in _TAKEN if os.path.lexists(directory / name)]
    if taken:
        raise BadInput(
            f"{directory}: already holds a desk or a configuration ({taken[0]}): give a new or empty directory"
        )
    return directory


# -- the history -------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the story needs to know of a generated ticket besides its events."""

    handler: str  # the agent who worked it last
    resolved_at: datetime | None = None
    late: bool = False  # a target was missed (the customer's satisfaction shows it)


def history(now: datetime, count: int, seed: int = 7, config: Config | None = None) -> list[NewTicket]:
    """Tickets with histories, created over the last 90 days (the SLA of ``config``, the demo's by default)."""
    return [t for t, _ in _generate(now, count, seed, config or demo_config(full=False))]


def generate(now: datetime, count: int, seed: int = 7) -> list[NewTicket]:
    """A busy queue rather than a desk's life: tickets created over the last 20 days, about half of them open
    in every state (many breached). The screen tests and the queue benchmark use it (``build_demo(story=False)``)
    for its many open tickets; the demo itself is ``history``."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        age_hours = rnd.choice([rnd.uniform(0.05, 3), rnd.uniform(0.2, 12), rnd.uniform(1, 72), rnd.uniform(1, 480)])
        created = (now - timedelta(hours=age_hours)).replace(microsecond=0)
        prio = rnd.choices(["P1", "P2", "P3", "P4"], weights=[1, 3, 6, 3])[0]
        subject = rnd.choice(SUBJECTS).format(
            w=rnd.choice("ABCDE"),
            n=rnd.randint(1, 12),
            name=rnd.choice(NAMES),
            code=f"{rnd.randint(0, 0xFFFF):04X}",
            h=rnd.randint(6, 18),
            port=rnd.choice([443, 8443, 5432, 1521]),
        )
        customer = rnd.choice(CUSTOMERS)
        events: list[NewEvent] = []
        t = created
        span = (now - created).total_seconds()

        def step(fraction: float) -> datetime:
            nonlocal t
            t = min(now, t + timedelta(seconds=max(60, span * fraction * rnd.uniform(0.3, 1.0))))  # noqa: B023 - used in this iteration only
            return t.replace(microsecond=0)

        fate = rnd.random()
        if age_hours > 30 and rnd.random() < 0.85:
            fate = rnd.uniform(0.7, 1.0)  # a real desk resolves most of its older tickets
        agent = rnd.choice(BUSY_AGENTS)
        if rnd.random() < 0.3:
            events.append(
                NewEvent(
                    at=step(0.05), kind="reply", author="customer", public=True, body="Any news? This is blocking us."
                )
            )
        if fate > 0.25 and span > 300:
            events.append(NewEvent(at=step(0.1), kind="assign", author=agent, to=agent))
            events.append(NewEvent(at=step(0.05), kind="status", author=agent, to="open"))
            events.append(
                NewEvent(at=step(0.1), kind="reply", author=agent, public=True, body=rnd.choice(BUSY_REPLIES))
            )
            if rnd.random() < 0.4:
                events.append(NewEvent(at=step(0.05), kind="reply", author=agent, public=False, body=rnd.choice(NOTES)))
            if rnd.random() < 0.2:
                group = rnd.choice(GROUPS[3:])
                events.append(
                    NewEvent(at=step(0.05), kind="escalate", author=agent, to=group, reason="needs second level")
                )
            if rnd.random() < 0.15:
                events.append(
                    NewEvent(
                        at=step(0.05),
                        kind="priority",
                        author=agent,
                        to=rnd.choice(["P1", "P2"]),
                        reason="more users affected",
                    )
                )
            if fate > 0.45:
                events.append(NewEvent(at=step(0.1), kind="status", author=agent, to="pending"))
                if fate > 0.6:
                    events.append(
                        NewEvent(
                            at=step(0.2), kind="reply", author="customer", public=True, body="Here is the screenshot."
                        )
                    )
                    events.append(NewEvent(at=step(0.05), kind="status", author=agent, to="open"))
                    if fate > 0.7:
                        events.append(
                            NewEvent(at=step(0.2), kind="status", author=agent, to="resolved", reason="fixed")
                        )
                        if fate > 0.85:
                            events.append(NewEvent(at=step(0.3), kind="status", author=agent, to="closed"))
        out.append(
            NewTicket(
                subject=subject,
                customer=customer,
                priority=prio,
                created_at=created,
                type=rnd.choices(["incident", "request", "problem", "change"], weights=[8, 4, 1, 1])[0],
                description=f"Reported by {rnd.choice(NAMES)} at {customer}.",
                ref=f"EXT-{1000 + i}",
                events=events,
                where=f"demo:{i + 1}",
            )
        )
    return out


def _generate(now: datetime, count: int, seed: int, config: Config) -> list[tuple[NewTicket, _Plan]]:
    rnd = random.Random(seed)
    now_s = epoch(now)
    out = []
    for i in range(count):
        customer = rnd.choice(CUSTOMERS)
        policy = config.policy_for(customer)
        cal = policy.calendar
        prio = rnd.choices(["P1", "P2", "P3", "P4"], weights=[1, 3, 6, 3])[0]
        raw = now_s - int(rnd.uniform(0, HISTORY_DAYS * 86400))
        created = raw
        if not cal.always and rnd.random() < 0.85:  # people report problems while they work
            created = cal.add(raw, rnd.randint(60, 5400))
            if created > now_s - 60:
                created = raw
        subject = rnd.choice(SUBJECTS).format(
            w=rnd.choice("ABCDE"),
            n=rnd.randint(1, 12),
            name=rnd.choice(NAMES),
            code=f"{rnd.randint(0, 0xFFFF):04X}",
            h=rnd.randint(6, 18),
            port=rnd.choice([443, 8443, 5432, 1521]),
        )
        ticket_type = rnd.choices(["incident", "request", "problem", "change"], weights=[8, 4, 1, 1])[0]
        life = rnd.getrandbits(64)
        # what the call is about (demo_tickets.py), drawn apart so that the rest of the desk stays as it was
        side = random.Random(life ^ 0x7415)
        name = rnd.choice(NAMES)
        category, subject, description, ticket_type, route = demo_tickets.ticket(side, name, customer)
        impact, urgency = demo_tickets.impact_urgency(prio, side, category)
        escalate = demo_tickets.escalates(category, side)  # groups follow categories
        targets = _planned(policy, prio, created)
        events, plan = _life(random.Random(life), cal, targets, created, now_s, escalate=escalate, route=route)
        if plan.resolved_at is None and any(e.kind == "escalate" for e in events):
            # a ticket still open at L2 holds a real escalation record, which only the story's service calls make:
            # the imported history escalates only tickets that were resolved since
            events, plan = _life(random.Random(life), cal, targets, created, now_s, escalate=False)
        out.append(
            (
                NewTicket(
                    subject=subject,
                    customer=customer,
                    priority=prio,
                    type=ticket_type,
                    created_at=_dt(created),
                    description=description,
                    ref=f"EXT-{1000 + i}",
                    impact=impact,
                    urgency=urgency,
                    category=category,
                    events=events,
                    where=f"demo:{i + 1}",
                ),
                plan,
            )
        )
    return out


def _planned(policy: Policy, prio: str, created: int) -> Targets:
    """The targets of ``prio`` in counted seconds for a ticket created at ``created``: a business-day target
    (``5bd``) is the counted time from the creation to its deadline (``Targets`` holds it as days × 24 h), so
    that the plan keeps within it as within any other target."""
    targets = policy.targets[prio]
    if not targets.days:
        return targets
    counted: dict[str, Any] = {timer: business_day_target(policy, days, created) for timer, days in targets.days}
    return replace(targets, **counted)


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _life(
    rnd: random.Random, cal, targets, created: int, now_s: int, escalate: bool = False, route: str | None = None
) -> tuple[list[NewEvent], _Plan]:
    """A ticket's whole life planned in business time (mostly within its targets), cut at now."""
    events: list[NewEvent] = []
    w = created  # the wall clock of the plan, epoch seconds

    def add(at: int, kind: str, author: str, **kw) -> None:
        nonlocal w
        w = max(w, at)
        if w <= now_s:
            events.append(NewEvent(at=_dt(w), kind=kind, author=author, **kw))

    def late(p: float) -> bool:
        missed = rnd.random() < p
        plan.late = plan.late or missed
        return missed

    agent = rnd.choice(AGENTS)
    plan = _Plan(handler=agent)
    fr = int(targets.first_response * (rnd.uniform(1.15, 2.2) if late(0.08) else rnd.uniform(0.1, 0.8)))
    if not plan.late and rnd.random() < 0.8:  # most tickets are answered within the hour or two, whatever the target
        fr = min(fr, rnd.randint(300, 7200))
    budget = int(targets.resolution * (rnd.uniform(1.05, 1.5) if late(0.09) else rnd.uniform(0.15, 0.8)))
    budget = max(budget, fr + 600)
    if rnd.random() < 0.15:
        add(cal.add(created, fr // 2), "reply", "customer", public=True, body=rnd.choice(CHASERS))
    add(cal.add(created, max(60, int(fr * rnd.uniform(0.2, 0.8)))), "assign", agent, to=agent)
    add(w + 30, "status", agent, to="open")
    add(cal.add(created, fr), "reply", agent, public=True, body=rnd.choice(FIRST_REPLIES))
    left = budget - fr  # business time of the resolution timer still to spend
    nu = targets.next_update
    # a ticket to escalate is worked in two steps at least (the escalation comes before its resolution)
    chunk_max = int(nu * 0.85) if nu else max(left // max(rnd.randint(1, 3), 2 if escalate else 1), 1)
    pending_done = escalated = False
    handler = agent
    while left > 0:
        step = min(left, max(60, int(chunk_max * rnd.uniform(0.5, 1.0))))
        if nu and late(0.06):
            step = int(nu * rnd.uniform(1.1, 1.4))  # an update sent late
        left -= step
        at = cal.add(w, step)
        if left <= 0:
            add(at, "reply", handler, public=True, body=rnd.choice(FIXED))
            add(w + 20, "status", handler, to="resolved", reason=rnd.choices(CODES, weights=CODE_WEIGHTS)[0])
            plan.resolved_at = _dt(w) if w <= now_s else None
            break
        roll = rnd.random()
        if not pending_done and roll < 0.3:
            pending_done = True
            add(at, "reply", handler, public=True, body=ASK_INFO)
            add(w + 30, "status", handler, to="pending")
            wait = int(
                rnd.choice([rnd.uniform(1800, 4 * 3600), rnd.uniform(3600, 30 * 3600), rnd.uniform(86400, 6 * 86400)])
            )
            add(w + wait, "reply", "customer", public=True, body=rnd.choice(CUSTOMER_ANSWERS))
            add(w + 60, "status", handler, to="open")
        elif escalate and not escalated:  # at the first step that does not wait on the customer
            escalated = True
            group = rnd.choice(GROUPS[3:])
            if route in GROUP_AGENTS:  # the group that handles the ticket's category
                group = route
            add(at, "reply", handler, public=False, body=rnd.choice(NOTES))
            add(w + 60, "escalate", handler, to=group, reason="needs second level")
            handler = GROUP_AGENTS[group]
            add(w + 300, "assign", handler, to=handler)
        elif nu or roll < 0.7:
            add(at, "reply", handler, public=True, body=rnd.choice(UPDATES))
        else:
            add(at, "reply", handler, public=False, body=rnd.choice(NOTES))
    plan.handler = handler
    if plan.resolved_at is not None and late(0.04):  # reopened by the customer, fixed again
        add(w + int(rnd.uniform(3600, 86400)), "reply", "customer", public=True, body=rnd.choice(REOPENERS))
        add(w + 600, "status", handler, to="open")
        add(
            cal.add(w, int(targets.resolution * rnd.uniform(0.02, 0.1))),
            "reply",
            handler,
            public=True,
            body=rnd.choice(FIXED),
        )
        add(w + 20, "status", handler, to="resolved", reason="fixed")
        plan.resolved_at = _dt(w) if w <= now_s else None
    if plan.resolved_at is not None:
        add(w + int(rnd.uniform(1, 5) * 86400), "status", handler, to="closed")
    return events, plan


# -- the demo desk ---------------------------------------------------------------------------------------


def build_demo(
    directory: Path, tickets: int = 300, clock: Clock | None = None, story: bool = True
) -> tuple[Path, Config]:
    """Write a demo database and configuration into ``directory``; return (db path, config).

    ``directory`` must be new or empty (see ``prepare_directory``). ``story=False`` writes a busy queue
    (``generate``) and the SLA configuration only: the screen tests add the escalation settings they need,
    and the queue benchmark wants its many open tickets.
    """
    directory = prepare_directory(directory)
    config_path = write_demo_config(directory, full=story)
    config = load_config(config_path)
    db = directory / "demo.db"
    if os.path.lexists(db):
        raise BadInput(f"{db}: already exists: the demo writes only into a new or empty directory")
    store = open_store(db)
    try:
        clock = clock or Clock()
        now = clock.now()
        desk = Desk(store, config, clock=clock, user="demo")
        desk.rederive()
        if story:
            planned = _generate(now, tickets, 7, config) + _major_tickets(now) + _fresh_tickets(now)
            ids = desk.import_tickets(_with_contacts([t for t, _ in planned]), demo_customers())
            _story(store, config, now, list(zip(ids, planned, strict=True)))
        else:
            desk.import_tickets(generate(now, tickets))
    finally:
        store.dispose()
    return db, config


MAJOR_SUBJECT = "Internet access down: regional fibre outage (provider incident)"


def _major_tickets(now: datetime) -> list[tuple[NewTicket, _Plan]]:
    """Today's major incident (a provider outage) and the tickets customers opened about it."""
    start = now - timedelta(hours=2, minutes=40)

    def at(minutes: int) -> datetime:
        return (start + timedelta(minutes=minutes)).replace(microsecond=0)

    def reply(minutes: int, agent: str, body: str) -> NewEvent:
        """What the agent wrote to the customer, ``minutes`` after the outage began."""
        return NewEvent(at=at(minutes), kind="reply", author=agent, public=True, body=body)

    major = NewTicket(
        subject=MAJOR_SUBJECT,
        customer="CHU Lyon Sud",
        priority="P1",
        type="incident",
        created_at=at(0),
        description="Monitoring: every site behind the regional provider lost Internet access at once.",
        ref="EXT-MAJOR-1",
        where="demo:major",
        events=[
            NewEvent(at=at(3), kind="assign", author="alice", to="alice"),
            NewEvent(at=at(4), kind="status", author="alice", to="open"),
            reply(9, "alice", "We see the outage on every site of the region and are on the phone with the provider."),
            reply(50, "alice", "The provider confirms a cut fibre near Lyon; a team is on its way."),
            reply(95, "alice", "Repair under way; the provider expects service back within two hours."),
        ],
    )
    out = [(major, _Plan(handler="alice"))]
    linked = [
        ("Clinique Saint-Jean", "No Internet on any workstation since 12:30", "P2", 12, "bruno"),
        ("Mairie de Villeurbanne", "Website returns 502 since 12:00", "P3", 18, "chloe"),
        ("Banque Rhône-Alpes", "VPN down for ward B", "P2", 25, "david"),
        ("Transports Guillaume", "Teams calls drop after 5 minutes", "P3", 33, "emma"),
        ("Atelier Moreau", "No Internet in the workshop", "P4", 47, None),
    ]
    for n, (customer, subject, prio, minute, agent) in enumerate(linked, start=1):
        events = []
        if agent:
            events = [
                NewEvent(at=at(minute + 4), kind="assign", author=agent, to=agent),
                NewEvent(at=at(minute + 5), kind="status", author=agent, to="open"),
                reply(
                    minute + 7,
                    agent,
                    f"Hello {customer}, this is part of a wider incident our teams are working on. "
                    "We will update you within the hour.",
                ),
            ]
        out.append(
            (
                NewTicket(
                    subject=subject,
                    customer=customer,
                    priority=prio,
                    type="incident",
                    created_at=at(minute),
                    description=f"Reported by {NAMES[n]} at {customer.rstrip('.')}.",
                    ref=f"EXT-MAJOR-1-{n}",
                    events=events,
                    where=f"demo:major:{n}",
                ),
                _Plan(handler=agent or "alice"),
            )
        )
    return out


def _fresh_tickets(now: datetime) -> list[tuple[NewTicket, _Plan]]:
    """A P1 that came in a few minutes ago and nobody has taken yet, and a request that has waited on the
    customer for days (what the handover lists as pending for long)."""

    def ago(**kw) -> datetime:
        return (now - timedelta(**kw)).replace(microsecond=0)

    fresh = NewTicket(
        subject="Patient records application down in the emergency ward",
        customer="Clinique Saint-Jean",
        priority="P1",
        type="incident",
        created_at=ago(minutes=4),
        ref="EXT-FRESH-1",
        where="demo:fresh",
        description="Reported by Inès at Clinique Saint-Jean: nobody in the ward can open a record.",
    )
    waiting = NewTicket(
        subject="Request: access to the finance share for two interns",
        customer="Cabinet Durand Avocats",
        priority="P4",
        type="request",
        created_at=ago(days=4, hours=2),
        ref="EXT-WAIT-1",
        where="demo:wait",
        description="Reported by Hugo at Cabinet Durand Avocats.",
        events=[
            NewEvent(at=ago(days=4, hours=1), kind="assign", author="chloe", to="chloe"),
            NewEvent(at=ago(days=4, hours=1), kind="status", author="chloe", to="open"),
            NewEvent(
                at=ago(days=4),
                kind="reply",
                author="chloe",
                public=True,
                body="Hello, access to the finance share needs your managing partner's "
                "approval: could you forward it to us?",
            ),
            NewEvent(at=ago(days=4), kind="status", author="chloe", to="pending"),
        ],
    )
    return [(fresh, _Plan(handler="alice")), (waiting, _Plan(handler="chloe"))]


def _story(store, config: Config, now: datetime, made: list) -> None:
    """What the agents did lately, through the service like the screens and the command line: the major
    incident handled, escalations raised (some acknowledged, one returned), satisfaction answers, work
    classified, and the automatic rules applied as ``deskterm escalate-due`` from cron would have."""
    rnd = random.Random(11)
    clock = FrozenClock(now)
    desks: dict[str, Desk] = {}

    def as_(user: str, at: datetime) -> Desk:
        clock.set(min(at, now))
        if user not in desks:
            desks[user] = Desk(store, config, clock=clock, user=user)
        return desks[user]

    def status_of(t: NewTicket) -> str:
        return next((e.to for e in reversed(t.events) if e.kind == "status" and e.to), "new")

    def last_at(t: NewTicket) -> datetime:
        return max([t.created_at, *(e.at for e in t.events)])

    def minutes(m: float) -> datetime:
        return now - timedelta(minutes=m)

    # the major incident: linked tickets, escalated to the network team and to the duty manager, a broadcast
    major_id = next(i for i, (t, _) in made if t.ref == "EXT-MAJOR-1")
    for i, (t, _) in made:
        if t.ref and t.ref.startswith("EXT-MAJOR-1-"):
            as_("alice", t.created_at + timedelta(minutes=10)).link(i, major_id)
    as_("alice", minutes(140)).escalate(major_id, "functional", "L2-network", "provider outage: L2 network to liaise")
    as_("nadia", minutes(132)).acknowledge(_open_escalation(desks["nadia"], major_id).id)
    as_("alice", minutes(35)).broadcast(
        major_id,
        reply="Update: the provider has spliced the fibre; service is "
        "coming back site by site. Next update within the hour.",
    )
    as_("alice", minutes(30)).escalate(
        major_id, "hierarchical", MANAGER, "three customers on platinum and gold affected"
    )

    # escalations of the day, on open tickets worked by L1 and not touched since
    candidates = sorted(
        (last_at(t), i, t)
        for i, (t, _) in made
        if status_of(t) == "open"
        and (t.ref or "")[4:].isdigit()  # generated, not today's special ones
        and all(e.kind != "escalate" for e in t.events)
        and last_at(t) < minutes(200)
    )
    candidates = [c for c in candidates if c[0] > now - timedelta(days=4)]
    rnd.shuffle(candidates)
    # (kind, target, reason, minutes ago, who acknowledged it, the note it was returned to L1 with)
    plans = [
        ("functional", "L2-apps", "application error needs L2 analysis", 190, "omar", None),
        ("hierarchical", MANAGER, "customer threatens contract penalties", 50, None, None),
        ("functional", "L3-vendor", "vendor bug suspected: case opened with the vendor", 28, None, None),
        (
            "functional",
            "L2-network",
            "switch logs needed",
            150,
            "nadia",
            "not a network fault: the user's account was locked; unlocked, please confirm with the customer",
        ),
        ("functional", "L2-network", "packet loss on the customer's site link", 6, None, None),
    ]
    for (_, tid, t), (kind, to, reason, ago, acker, returned) in zip(
        candidates, plans, strict=False
    ):  # as many stories as tickets fit
        ago_at = max(minutes(ago), last_at(t) + timedelta(minutes=5))
        agent = next((e.author for e in reversed(t.events) if e.kind == "assign"), "alice")
        as_(agent, ago_at).escalate(tid, kind, to, reason)
        if acker:
            esc = _open_escalation(desks[agent], tid)
            as_(acker, ago_at + timedelta(minutes=rnd.randint(4, 12))).acknowledge(esc.id)
            if returned:
                as_(acker, ago_at + timedelta(minutes=25)).de_escalate(esc.id, returned)

    # satisfaction answers to the survey sent when a ticket is resolved (recorded with `rate`; a ticket closed
    # since then takes the answer after its closing)
    solved = sorted(
        (p.resolved_at, i, p.handler, p.late)
        for i, (t, p) in made
        if p.resolved_at is not None and status_of(t) in ("resolved", "closed")
    )
    recent = [c for c in solved if c[0] > now - timedelta(days=30)]
    older = [c for c in solved if c[0] <= now - timedelta(days=30)]
    answers = [c for c in recent if rnd.random() < (0.25 if c[3] else 0.4)]  # a survey comes back one time in three
    rated = rnd.sample(answers, min(len(answers), 9)) + rnd.sample(older, min(len(older) // 3, 2))
    happy, unhappy = iter(ON_TIME_SCORES * 10), iter(LATE_SCORES * 10)  # a steady mix, whatever the sample
    for when, tid, handler, was_late in sorted(rated):
        score = next(unhappy if was_late else happy)
        comment = rnd.choice(COMMENTS[score]) if rnd.random() < 0.4 else None
        # two in three also answer the NPS question, one in two the CES one (no draw: the rest stays as it was)
        nps = (NPS_OF[score] - tid % 2) if tid % 3 else None
        ces = CES_OF[score] if tid % 2 == 0 else None
        answer = SurveyAnswer(csat=score, nps=nps, ces=ces, comment=comment)
        as_(handler, when + timedelta(hours=rnd.uniform(0.2, 20))).record_survey(tid, answer)

    # classification of this week's incidents and requests (covered by the contract, or billable)
    week = sorted(
        (t.created_at, i, t)
        for i, (t, _) in made
        if t.created_at > now - timedelta(days=7) and (t.ref or "")[4:].isdigit()
    )
    billable = [w for w in week if w[2].type in ("request", "change")]
    defects = [w for w in week if w[2].type not in ("request", "change")]
    chosen = rnd.sample(billable, min(len(billable), 1)) + rnd.sample(defects, min(len(defects) // 2, 3))
    for _created, tid, t in sorted(chosen):
        kind = "change_request" if t.type in ("request", "change") else "defect"
        who = next((e.author for e in reversed(t.events) if e.kind == "assign"), "alice")
        as_(who, last_at(t) + timedelta(minutes=rnd.randint(2, 90))).update(tid, Change(classification=kind))

    _manager_month(made, as_, now, rnd)

    # the automatic rules, as cron's `deskterm escalate-due` applies them every few minutes (here: the last
    # three hours, hourly; the app applies them again when it opens)
    for hours in (3, 2, 1, 0):
        as_("cron", now - timedelta(hours=hours)).apply_rules()


CONTRACT_CUSTOMERS = ("Clinique Saint-Jean", "CHU Lyon Sud", "Banque Rhône-Alpes", "Atelier Moreau")
PROBLEMS = (
    (
        "VPN",
        "Recurring VPN drops: concentrator firmware",
        "a memory leak in the VPN concentrator's firmware 9.2 drops the tunnels after about 40 hours",
        "restart the tunnel from the concentrator's console (2 minutes)",
    ),
    (
        "Printer",
        "Printers jam on every job: driver pushed by the print server",
        "the print server pushed driver 4.1, which mis-sizes A4 trays",
        "print to the queue 'A4-legacy' meanwhile",
    ),
)


def _manager_month(made: list, as_, now: datetime, rnd: random.Random) -> None:
    """The service manager's side: contracts (one renewing, one ending within 60 days, one ended without renewal:
    churn), time logged on the contract customers' recent tickets, change requests in every approval state, two
    problems with linked incidents and corrective actions (one done late, one overdue)."""
    today = now.date()
    manager = as_("duty-manager", now - timedelta(days=95))
    terms = [
        (CONTRACT_CUSTOMERS[0], "Platinum support", today - timedelta(days=200), today + timedelta(days=165), True),
        (CONTRACT_CUSTOMERS[1], "Gold support", today - timedelta(days=320), today + timedelta(days=40), False),
        (CONTRACT_CUSTOMERS[2], "Gold support", today - timedelta(days=150), today + timedelta(days=215), True),
        (CONTRACT_CUSTOMERS[3], "Basic support", today - timedelta(days=380), today - timedelta(days=12), False),
    ]
    for (customer, name, start, end, renews), (included, rate) in zip(
        terms, ((20, 11000), (10, 9500), (15, 9500), (5, 8000)), strict=True
    ):
        manager.add_contract(
            Contract(name, customer, start, end, renews, None, included * 3600, rate, "workstations, network, apps")
        )
    mine = [(t.created_at, i, t, p) for i, (t, p) in made if t.customer in CONTRACT_CUSTOMERS[:3]]
    recent = sorted(m for m in mine if m[0] > now - timedelta(days=45))
    # time logged on the work of the last weeks (covered work: defects and the rest)
    for created, tid, _t, p in rnd.sample(recent, min(len(recent), 24)):
        when = created + timedelta(minutes=rnd.randint(20, 300))
        if when < now:
            as_(p.handler, when).log_time(tid, rnd.choice((15, 20, 30, 45, 60, 90)) * 60, rnd.choice(WORK_NOTES))
    # change requests: requests of the contract customers, one in each approval state
    requests = sorted((m for m in mine if m[2].type in ("request", "change")), key=lambda m: m[0], reverse=True)
    states = ("proposed", "approved", "delivered", "invoiced", "rejected", "approved", "delivered")
    for (created, tid, _t, p), last in zip(requests, states, strict=False):
        at = max(created + timedelta(hours=1), now - timedelta(days=rnd.randint(3, 12)))
        desk = as_(p.handler, at)
        desk.update(tid, Change(classification="change_request"))
        desk.change_request(tid, estimate=rnd.choice((4, 6, 8, 12)) * 3600, approval="proposed")
        path = {"proposed": [], "rejected": ["rejected"], "approved": ["approved"]}.get(
            last, ["approved", "delivered"] + (["invoiced"] if last == "invoiced" else [])
        )
        for step, state in enumerate(path, start=1):
            if state == "delivered":
                as_(p.handler, at + timedelta(hours=step * 5)).log_time(tid, rnd.choice((3, 4, 5)) * 3600, "built it")
            as_("duty-manager", at + timedelta(hours=step * 6)).change_request(tid, approval=state)
    # two problems, each with the incidents that share its cause linked, and corrective actions; the one that stays
    # open (P4: 20 business days to resolve) links the incidents of the last 24 days, so that it is within its target
    for n, (word, subject, cause, workaround) in enumerate(PROBLEMS):
        window = timedelta(days=60 if n == 0 else 24)
        incidents = sorted(
            (
                m
                for m in mine + [(t.created_at, i, t, p) for i, (t, p) in made if t.customer not in CONTRACT_CUSTOMERS]
                if m[2].type == "incident" and m[2].subject.startswith(word) and m[0] > now - window
            ),
            key=lambda m: m[0],
        )[:6]
        if not incidents:
            continue
        opened = incidents[0][0] + timedelta(hours=2)
        desk = as_("nadia" if n == 0 else "omar", opened)
        problem = desk.create(
            NewTicket(
                subject=subject, customer=incidents[0][2].customer, priority="P4", created_at=opened, type="problem"
            )
        ).id
        desk.update_problem(problem, root_cause=cause, known_error=True, workaround=workaround)
        # each incident is linked once both exist, after its last change: the ones opened after the problem
        # when they come in (a link dated before its ticket was created would derive its deadlines then)
        for _created, tid, _t, _p in incidents:
            as_(desk.user, max(opened, desk.ticket(tid).updated_at)).link_problem(problem, [tid])
        desk = as_(desk.user, opened)
        # the problem manager answers the customer at once (a problem is worked like any ticket: its SLA holds)
        as_(desk.user, opened + timedelta(minutes=25)).update(
            problem,
            Change(
                status="open",
                reply=f"We opened a problem record for these incidents. Until it is fixed: {workaround}.",
            ),
        )
        due_done, due_open = (opened + timedelta(days=10)).date(), (now - timedelta(days=3 - 8 * n)).date()
        first = desk.add_action(
            problem, "apply the vendor's fix" if n == 0 else "roll back the driver", desk.user, due_done
        )
        desk.add_action(problem, "add a monitor for the cause", "alice", due_open)
        fixed_at = opened + timedelta(days=12 if n == 0 else 6)
        as_(desk.user, fixed_at).set_action(first, "done")
        if n == 0:  # the vendor's fix is in: the problem is resolved, the monitor's action still to do
            as_(desk.user, fixed_at + timedelta(hours=2)).update(
                problem, Change(status="resolved", resolution_code="fixed")
            )
        # the other stays open, worked at low priority (P4: a workaround holds) while the driver is corrected;
        # not pending, which would read as "waiting on the customer" in the handover


WORK_NOTES = (
    "checked the logs with the customer",
    "remote session: reconfigured the client",
    "on site: replaced the cable",
    "call with the vendor",
    "restored the service, wrote up the fix",
)


def _open_escalation(desk: Desk, ticket_id: int):
    return [e for e in desk.escalations(open_only=True, ticket=ticket_id)][-1]
