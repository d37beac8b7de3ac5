"""A realistic demo desk: a dozen customers on four policies, a few hundred tickets with histories.

Timestamps are relative to now so that countdowns are live: some tickets breached, some about to
breach, some paused waiting on the customer, some resolved and closed. ``build_demo`` writes a database
and a configuration file into a directory (never the user's real database).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from .clock import Clock
from .config import Config, load_config
from .service import Desk, NewEvent, NewTicket
from .store.engine import open_store

DEMO_CONFIG = """\
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
P3 = { first_response = "4h",  resolution = "3d" }
P4 = { first_response = "8h",  resolution = "10d" }

[policies.us-business]
calendar = "newyork"
warn_at = 0.8
P1 = { first_response = "30m", resolution = "6h", next_update = "2h" }
P2 = { first_response = "2h",  resolution = "1d" }
P3 = { first_response = "4h",  resolution = "3d" }
P4 = { first_response = "1d",  resolution = "10d" }

[policies.bronze]
calendar = "office"
warn_at = 0.8
P1 = { first_response = "1h",  resolution = "8h" }
P2 = { first_response = "4h",  resolution = "2d" }
P3 = { first_response = "1d",  resolution = "5d" }
P4 = { first_response = "2d",  resolution = "20d" }

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

CUSTOMERS = [
    "Clinique Saint-Jean", "CHU Lyon Sud", "Banque Rhône-Alpes", "Mairie de Villeurbanne",
    "Transports Guillaume", "Hudson Freight Inc.", "Brooklyn Bagels Co.", "Atelier Moreau",
    "Librairie du Parc", "Boulangerie Petit", "Cabinet Durand Avocats", "École Jules Ferry",
]
SUBJECTS = [
    "VPN down for ward {w}", "Printer on floor {n} jams on every job", "Cannot log in to the HR portal",
    "Outlook keeps asking for the password", "New starter: laptop and accounts for {name}",
    "Wi-Fi drops in meeting room {n}", "Shared drive S: not mapped after reboot", "Badge reader at gate {n} offline",
    "Payroll export fails with error 0x{code}", "Phone line {n} has no dial tone", "Request: access to the finance share",
    "Website returns 502 since {h}:00", "Backup job failed on SRV-{n:02d}", "Teams calls drop after 5 minutes",
    "Certificate expires on the intranet in 3 days", "Scanner sends blank PDFs", "MFA codes not received by SMS",
    "Disk almost full on DB-{n:02d}", "Change: open firewall port {port} for the vendor", "Mobile app crashes on login",
]
NAMES = ["Camille", "Léa", "Hugo", "Nora", "Yanis", "Jade", "Louis", "Inès"]
AGENTS = ["alice", "bruno", "chloe", "david"]
GROUPS = ["L1", "L1", "L1", "L2-network", "L2-apps", "L3-vendor"]
REPLIES = ["On it, looking now.", "Could you send a screenshot of the error?", "We have restarted the service; please try again.",
           "Escalated to the network team, next update within the hour.", "Fixed on our side: can you confirm?"]
NOTES = ["Same symptom as last week's incident, check the switch logs.", "Customer called twice, very anxious.",
         "Vendor ticket opened: case 88123.", "Workaround applied, root cause unknown."]


def write_demo_config(directory: Path) -> Path:
    path = directory / "deskterm.toml"
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return path


def generate(now: datetime, count: int, seed: int = 7) -> list[NewTicket]:
    """Tickets with histories, created over the last 20 days, most open ones recent."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        age_hours = rnd.choice([rnd.uniform(0.05, 3), rnd.uniform(0.2, 12), rnd.uniform(1, 72), rnd.uniform(1, 480)])
        created = (now - timedelta(hours=age_hours)).replace(microsecond=0)
        prio = rnd.choices(["P1", "P2", "P3", "P4"], weights=[1, 3, 6, 3])[0]
        subject = rnd.choice(SUBJECTS).format(w=rnd.choice("ABCDE"), n=rnd.randint(1, 12), name=rnd.choice(NAMES),
                                               code=f"{rnd.randint(0, 0xFFFF):04X}", h=rnd.randint(6, 18),
                                               port=rnd.choice([443, 8443, 5432, 1521]))
        customer = rnd.choice(CUSTOMERS)
        events: list[NewEvent] = []
        t = created
        span = (now - created).total_seconds()

        def step(fraction: float) -> datetime:
            nonlocal t
            t = min(now, t + timedelta(seconds=max(60, span * fraction * rnd.uniform(0.3, 1.0))))
            return t.replace(microsecond=0)

        fate = rnd.random()
        if age_hours > 30 and rnd.random() < 0.85:
            fate = rnd.uniform(0.7, 1.0)  # a real desk resolves most of its older tickets
        agent = rnd.choice(AGENTS)
        if rnd.random() < 0.3:
            events.append(NewEvent(at=step(0.05), kind="reply", author="customer", public=True, body="Any news? This is blocking us."))
        if fate > 0.25 and span > 300:
            events.append(NewEvent(at=step(0.1), kind="assign", author=agent, to=agent))
            events.append(NewEvent(at=step(0.05), kind="status", author=agent, to="open"))
            events.append(NewEvent(at=step(0.1), kind="reply", author=agent, public=True, body=rnd.choice(REPLIES)))
            if rnd.random() < 0.4:
                events.append(NewEvent(at=step(0.05), kind="reply", author=agent, public=False, body=rnd.choice(NOTES)))
            if rnd.random() < 0.2:
                group = rnd.choice(GROUPS[3:])
                events.append(NewEvent(at=step(0.05), kind="escalate", author=agent, to=group, reason="needs second level"))
            if rnd.random() < 0.15:
                events.append(NewEvent(at=step(0.05), kind="priority", author=agent, to=rnd.choice(["P1", "P2"]), reason="more users affected"))
            if fate > 0.45:
                events.append(NewEvent(at=step(0.1), kind="status", author=agent, to="pending"))
                if fate > 0.6:
                    events.append(NewEvent(at=step(0.2), kind="reply", author="customer", public=True, body="Here is the screenshot."))
                    events.append(NewEvent(at=step(0.05), kind="status", author=agent, to="open"))
                    if fate > 0.7:
                        events.append(NewEvent(at=step(0.2), kind="status", author=agent, to="resolved", reason="fixed"))
                        if fate > 0.85:
                            events.append(NewEvent(at=step(0.3), kind="status", author=agent, to="closed"))
        out.append(NewTicket(subject=subject, customer=customer, priority=prio, created_at=created,
                             type=rnd.choices(["incident", "request", "problem", "change"], weights=[8, 4, 1, 1])[0],
                             description=f"Reported by {rnd.choice(NAMES)} at {customer}.", ref=f"EXT-{1000 + i}",
                             events=events, where=f"demo:{i + 1}"))
    return out


def build_demo(directory: Path, tickets: int = 300, clock: Clock | None = None) -> tuple[Path, Config]:
    """Write a demo database and configuration into ``directory``; return (db path, config)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = write_demo_config(directory)
    config = load_config(config_path)
    db = directory / "demo.db"
    store = open_store(db)
    clock = clock or Clock()
    desk = Desk(store, config, clock=clock, user="demo")
    desk.rederive()
    desk.import_tickets(generate(clock.now(), tickets))
    store.dispose()
    return db, config
