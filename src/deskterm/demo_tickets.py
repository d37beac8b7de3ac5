"""What the demo's tickets are about: a taxonomy of contact reasons, and for each category the ways customers
word their calls (subjects and descriptions, with details that vary), the group that takes it when L1
escalates, and its usual type. ``ticket(rnd, ...)`` draws one; a share of the calls is worded like another
category's (a customer who says "the VPN" for the Wi-Fi), as on a real desk, so that the triage evaluation
measures something."""

from __future__ import annotations

import random
from dataclasses import dataclass

CATEGORIES_TOML = """
[categories]
network = ["vpn", "wifi", "internet", "lan"]
access = ["password", "account", "mfa", "permissions"]
email = ["outlook", "mailbox"]
hardware = ["printer", "laptop", "phone", "badge"]
apps = ["erp", "website", "mobile", "hr-portal"]
infra = ["backup", "storage", "certificate"]
"""


@dataclass(frozen=True)
class Kind:
    group: str  # where L1 escalates it
    types: tuple[tuple[str, int], ...]  # type → weight
    subjects: tuple[str, ...]
    descriptions: tuple[str, ...]


INCIDENT = (("incident", 1),)
KINDS: dict[str, Kind] = {
    "network/vpn": Kind(
        "L2-network",
        INCIDENT,
        (
            "VPN down for ward {w}",
            "Cannot connect to the VPN from home",
            "VPN disconnects every {m} minutes",
            "GlobalProtect says gateway unreachable",
            "VPN connected but no access to internal sites",
            "Remote staff cannot reach the VPN since this morning",
        ),
        (
            "{name} works from home and the VPN client fails with a timeout.",
            "The tunnel comes up, then drops; users lose their remote session.",
            "Error 'gateway not responding' on several laptops using the VPN client.",
        ),
    ),
    "network/wifi": Kind(
        "L2-network",
        INCIDENT,
        (
            "Wi-Fi drops in meeting room {n}",
            "No wireless on floor {n}",
            "Guest Wi-Fi password not accepted",
            "Wi-Fi very slow in the {place}",
            "Laptops cannot see the corporate SSID",
        ),
        (
            "The wireless signal is weak and connections drop during calls in the {place}.",
            "Access point on floor {n} blinks orange; nobody can join the network.",
            "Visitors cannot log in to the guest wireless network.",
        ),
    ),
    "network/internet": Kind(
        "L2-network",
        INCIDENT,
        (
            "No internet access at the {place}",
            "Internet very slow since {h}:00",
            "Websites do not load, internal apps work",
            "Fibre link down at site {w}",
        ),
        (
            "Pages time out for everyone at the site; the router shows the WAN link down.",
            "Browsing is extremely slow, downloads stall at a few KB/s.",
        ),
    ),
    "network/lan": Kind(
        "L2-network",
        INCIDENT,
        (
            "Network port dead at desk {n}",
            "Switch in cabinet {w} not responding",
            "PC gets no IP address on floor {n}",
            "Network cable cut in the {place}",
        ),
        (
            "The wall socket gives no link light; the PC says network cable unplugged.",
            "DHCP does not hand out addresses; machines get 169.254 addresses.",
        ),
    ),
    "access/password": Kind(
        "L1",
        (("request", 3), ("incident", 2)),
        (
            "Password expired, cannot log in",
            "Forgot my Windows password",
            "Account locked after too many attempts",
            "Password reset for {name}",
            "Outlook keeps asking for the password",
        ),
        (
            "{name} is locked out after the password expired over the weekend.",
            "Asks for a password reset; the self-service portal says the account is locked.",
            "Typed the wrong password several times, the account is now locked.",
        ),
    ),
    "access/account": Kind(
        "L1",
        (("request", 1),),
        (
            "New starter: laptop and accounts for {name}",
            "Create an account for the intern {name}",
            "Disable the account of {name} who left",
            "Rename account after marriage for {name}",
        ),
        (
            "HR confirmed the start date; {name} needs a user account, e-mail and badge.",
            "Please deactivate the user who left on Friday and forward the mailbox to the manager.",
        ),
    ),
    "access/mfa": Kind(
        "L1",
        INCIDENT,
        (
            "MFA codes not received by SMS",
            "New phone: authenticator app must be re-registered",
            "Two-factor prompt loops on login",
            "Lost the phone with the authenticator",
        ),
        (
            "The one-time code never arrives; {name} cannot finish signing in.",
            "{name} changed phone and the authenticator app no longer matches the account.",
        ),
    ),
    "access/permissions": Kind(
        "L1",
        (("request", 1),),
        (
            "Request: access to the finance share",
            "Need write rights on the {place} folder",
            "Access denied to the shared drive S:",
            "Add {name} to the HR group",
        ),
        (
            "Please grant read and write access to the shared folder; the manager approved.",
            "Access denied when opening the team folder since the reorganisation.",
        ),
    ),
    "email/outlook": Kind(
        "L1",
        INCIDENT,
        (
            "Outlook crashes on start",
            "Outlook does not sync the calendar",
            "Emails stuck in the outbox",
            "Outlook search returns nothing",
        ),
        (
            "Outlook closes right after the splash screen; safe mode starts.",
            "Messages stay in the outbox and are never sent; webmail works.",
        ),
    ),
    "email/mailbox": Kind(
        "L2-apps",
        (("request", 1), ("incident", 1)),
        (
            "Mailbox full, cannot send",
            "Shared mailbox for the {place} team",
            "Emails from a customer go to spam",
            "Distribution list missing {name}",
        ),
        (
            "The mailbox quota is reached; sending fails with 'mailbox full'.",
            "Please create a shared mailbox and give the team access to it.",
        ),
    ),
    "hardware/printer": Kind(
        "L1",
        INCIDENT,
        (
            "Printer on floor {n} jams on every job",
            "Scanner sends blank PDFs",
            "Printer offline in the {place}",
            "Toner empty on the colour printer",
            "Print jobs stuck in the queue",
        ),
        (
            "Paper jams in tray {n} on every print; the display shows error 13.",
            "The printer shows offline on every PC although it is on.",
        ),
    ),
    "hardware/laptop": Kind(
        "L1",
        INCIDENT,
        (
            "Laptop does not boot",
            "Laptop screen flickers",
            "Battery drains in one hour",
            "Keyboard keys not working on the laptop of {name}",
            "Blue screen on the laptop after the update",
        ),
        (
            "The laptop stays on a black screen after the logo; {name} needs it for a meeting.",
            "Blue screen with a driver error after last night's updates.",
        ),
    ),
    "hardware/phone": Kind(
        "L2-network",
        INCIDENT,
        (
            "Phone line {n} has no dial tone",
            "Desk phone shows 'no service'",
            "Teams calls drop after 5 minutes",
            "Cannot transfer calls at the reception",
        ),
        (
            "The desk phone has no dial tone; other phones on the floor work.",
            "Calls cut after a few minutes, both internal and external.",
        ),
    ),
    "hardware/badge": Kind(
        "L3-vendor",
        INCIDENT,
        (
            "Badge reader at gate {n} offline",
            "Badge not accepted at the {place} door",
            "New badge for {name}",
        ),
        (
            "The reader blinks red for every badge; staff are let in by hand.",
            "The badge works at the main gate but not at the {place}.",
        ),
    ),
    "apps/erp": Kind(
        "L2-apps",
        INCIDENT,
        (
            "Payroll export fails with error 0x{code}",
            "ERP invoice screen freezes",
            "Cannot post journal entries in the ERP",
            "ERP report takes forever",
        ),
        (
            "The export stops at 40% with error 0x{code}; payroll closes today.",
            "Saving an invoice hangs and the ERP client must be killed.",
        ),
    ),
    "apps/website": Kind(
        "L2-apps",
        INCIDENT,
        (
            "Website returns 502 since {h}:00",
            "Online booking page shows an error",
            "Website very slow for customers",
            "Contact form does not send",
        ),
        (
            "Customers see a 502 Bad Gateway on the public site.",
            "The booking page throws an error after the payment step.",
        ),
    ),
    "apps/mobile": Kind(
        "L2-apps",
        INCIDENT,
        (
            "Mobile app crashes on login",
            "App shows an empty list on Android",
            "Push notifications not received on the app",
        ),
        (
            "The app closes right after entering the credentials, on iOS and Android.",
            "Users see an empty screen after the last app update.",
        ),
    ),
    "apps/hr-portal": Kind(
        "L2-apps",
        INCIDENT,
        (
            "Cannot log in to the HR portal",
            "HR portal does not show the payslips",
            "Leave request stuck in the HR portal",
        ),
        (
            "The HR portal answers 'session expired' right after logging in.",
            "Payslips for last month are missing in the portal.",
        ),
    ),
    "infra/backup": Kind(
        "L2-apps",
        (("incident", 3), ("problem", 1)),
        (
            "Backup job failed on SRV-{n:02d}",
            "Restore a deleted folder from yesterday",
            "Nightly backup overruns into the morning",
        ),
        (
            "The backup report shows the job failed with a snapshot error on SRV-{n:02d}.",
            "{name} deleted a folder by mistake; please restore it from last night.",
        ),
    ),
    "infra/storage": Kind(
        "L2-apps",
        (("incident", 2), ("problem", 1)),
        (
            "Disk almost full on DB-{n:02d}",
            "File server very slow",
            "Shared drive S: not mapped after reboot",
        ),
        (
            "Monitoring warns the data volume is at 95% on DB-{n:02d}.",
            "Opening files on the file server takes minutes.",
        ),
    ),
    "infra/certificate": Kind(
        "L3-vendor",
        (("change", 2), ("incident", 1)),
        (
            "Certificate expires on the intranet in 3 days",
            "Browser warns the certificate is invalid",
            "Change: open firewall port {port} for the vendor",
        ),
        (
            "The TLS certificate of the intranet expires soon; please renew it.",
            "Users get a certificate warning on the portal.",
        ),
    ),
}
PLACES = ["reception", "accounting office", "ward B", "warehouse", "meeting room", "cafeteria", "lab", "HR office"]
NOISE = 0.12  # the share of calls worded like another category


# Who a category's calls usually affect: the whole site ("many": impact 1 when the priority allows), a team
# ("some"), one person ("one": impact 3 when it can). The demo draws a ticket's priority apart from what it is
# about; its impact and urgency are then the pair of that priority that fits the category's scope, four times out
# of five (the wording does not always tell): so impact × urgency has something to learn from the words.
SCOPE = {
    "network/vpn": "many",
    "network/wifi": "many",
    "network/internet": "many",
    "network/lan": "many",
    "apps/erp": "many",
    "apps/website": "many",
    "infra/backup": "many",
    "infra/storage": "many",
    "infra/certificate": "many",
    "hardware/printer": "some",
    "email/mailbox": "some",
    "apps/mobile": "some",
    "apps/hr-portal": "some",
}
_PAIRS = {  # priority → the impact × urgency pairs that give it (P = impact + urgency - 1, at most P4)
    "P1": [(1, 1)],
    "P2": [(1, 2), (2, 1)],
    "P3": [(2, 2), (1, 3), (3, 1)],
    "P4": [(2, 3), (3, 2), (3, 3)],
}
_BY_SCOPE = {  # priority → scope → its pair
    "P1": {"many": (1, 1), "some": (1, 1), "one": (1, 1)},
    "P2": {"many": (1, 2), "some": (1, 2), "one": (2, 1)},
    "P3": {"many": (1, 3), "some": (2, 2), "one": (3, 1)},
    "P4": {"many": (2, 3), "some": (3, 3), "one": (3, 2)},
}
# Groups follow categories: a call of a category that a second-level group handles (``Kind.group``) is escalated
# to it this often; L1's own categories seldom are (then to any group).
ESCALATED = {"L1": 0.05}
ESCALATED_DEFAULT = 0.8


def impact_urgency(priority: str, rnd: random.Random, category: str | None = None) -> tuple[int, int]:
    """An impact and an urgency that give ``priority`` through the ITIL matrix (P = impact + urgency - 1): the
    pair of the category's scope (``SCOPE``), else (one time in five, or without a category) any of them."""
    pair = rnd.choice(_PAIRS[priority])
    if category is None or rnd.random() < 0.2:
        return pair
    return _BY_SCOPE[priority][SCOPE.get(category, "one")]


def escalates(category: str, rnd: random.Random) -> bool:
    """Whether L1 escalates this call (to its category's group): most calls of a second-level category."""
    return rnd.random() < ESCALATED.get(KINDS[category].group, ESCALATED_DEFAULT)


def ticket(rnd: random.Random, name: str, customer: str) -> tuple[str, str, str, str, str]:
    """(category, subject, description, type, escalation group) of one call."""
    category = rnd.choice(list(KINDS))
    kind = KINDS[category]
    worded = KINDS[rnd.choice(list(KINDS))] if rnd.random() < NOISE else kind
    slots = {
        "w": rnd.choice("ABCDE"),
        "n": rnd.randint(1, 12),
        "m": rnd.choice([5, 10, 15, 20]),
        "h": rnd.randint(6, 18),
        "name": name,
        "code": f"{rnd.randint(0, 0xFFFF):04X}",
        "port": rnd.choice([443, 8443, 5432, 1521]),
        "place": rnd.choice(PLACES),
    }
    subject = rnd.choice(worded.subjects).format(**slots)
    description = f"{rnd.choice(worded.descriptions).format(**slots)} Reported by {name} at {customer.rstrip('.')}."
    types, weights = zip(*kind.types, strict=True)
    return category, subject, description, rnd.choices(types, weights=weights)[0], kind.group
