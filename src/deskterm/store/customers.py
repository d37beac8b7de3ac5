"""Customers, their e-mail domains and their contacts: reads as plain records, and the writes the service makes
(inside its transaction). Names are matched by ``name_key`` (folded), addresses by ``email_key`` (lower-cased)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import case, delete, func, insert, select, update
from sqlmodel import Session, col

from ..domain.customers import ContactSpec, CustomerSpec, email_domain, email_key, name_key
from ..records import ContactRecord, CustomerRecord, TicketRecord
from . import plain, queries
from .models import Contact, Contract, Customer, CustomerDomain, Ticket, core


def _contact(row) -> ContactRecord:
    cid, customer_id, customer, name, email, phone, role = row
    return ContactRecord(cid, customer_id, customer, name, email, phone, role)


# Core columns (``core``): a ticket's contact is read without the ORM
_CO, _CU = core(Contact).c, core(Customer).c
_CONTACT_COLUMNS = plain.columns(plain.CONTACT, contacts=_CO, customers=_CU)  # (the fields of a ContactRecord)


def _contacts(session: Session, *where) -> list[ContactRecord]:
    stmt = (
        select(*_CONTACT_COLUMNS)
        .join(core(Customer), _CU.id == _CO.customer_id)
        .where(*where)
        .order_by(func.lower(_CO.name), _CO.id)
    )
    return [_contact(r) for r in session.connection().execute(stmt).all()]


def load_customers(session: Session, *where) -> list[CustomerRecord]:
    """Customers (all, or those ``where`` keeps) with their domains and contacts, by name."""
    rows = session.execute(
        select(col(Customer.id), col(Customer.name), col(Customer.policy), col(Customer.vip), col(Customer.notes))
        .where(*where)
        .order_by(col(Customer.name_key))
    ).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    domains: dict[int, list[str]] = defaultdict(list)
    contacts: dict[int, list[ContactRecord]] = defaultdict(list)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for cid, domain in session.execute(
            select(col(CustomerDomain.customer_id), col(CustomerDomain.domain))
            .where(col(CustomerDomain.customer_id).in_(chunk))
            .order_by(col(CustomerDomain.domain))
        ).all():
            domains[cid].append(domain)
        for c in _contacts(session, col(Contact.customer_id).in_(chunk)):
            contacts[c.customer_id].append(c)
    return [
        CustomerRecord(cid, name, policy, bool(vip), notes or "", tuple(domains[cid]), contacts[cid])
        for cid, name, policy, vip, notes in rows
    ]


def customer_names(session: Session) -> list[str]:
    return list(session.execute(select(col(Customer.name)).order_by(col(Customer.name_key))).scalars())


def by_name(session: Session, name: str) -> CustomerRecord | None:
    """The customer a typed name means: its exact name, else the same name folded (case, accents, spaces)."""
    found = load_customers(session, col(Customer.name) == name)
    if not found:
        found = load_customers(session, col(Customer.name_key) == name_key(name))
    return found[0] if found else None


def by_domain(session: Session, email_or_domain: str) -> CustomerRecord | None:
    domain = email_domain(email_or_domain)
    cid = session.execute(select(col(CustomerDomain.customer_id)).where(col(CustomerDomain.domain) == domain)).scalar()
    if cid is None:
        return None
    found = load_customers(session, col(Customer.id) == cid)
    return found[0] if found else None


def contact_by_email(session: Session, email: str) -> ContactRecord | None:
    found = _contacts(session, col(Contact.email_key) == email_key(email))
    return found[0] if found else None


def contacts_by_email(session: Session, emails: Iterable[str]) -> dict[str, ContactRecord]:
    """The contacts with these addresses, by ``email_key`` (a batch of senders: one query per 500)."""
    keys = sorted({email_key(e) for e in emails})
    out: dict[str, ContactRecord] = {}
    for i in range(0, len(keys), 500):
        for c in _contacts(session, col(Contact.email_key).in_(keys[i : i + 500])):
            out.setdefault(email_key(c.email or ""), c)
    return out


def customers_by_domain(session: Session, emails_or_domains: Iterable[str]) -> dict[str, str]:
    """The name of the customer whose e-mail domains hold each of these domains (or addresses' domains),
    by domain (a batch of senders: one query per 500)."""
    domains = sorted({email_domain(e) for e in emails_or_domains})
    out: dict[str, str] = {}
    for i in range(0, len(domains), 500):
        for domain, name in session.execute(
            select(col(CustomerDomain.domain), col(Customer.name))
            .join(Customer, col(Customer.id) == col(CustomerDomain.customer_id))
            .where(col(CustomerDomain.domain).in_(domains[i : i + 500]))
        ).all():
            out.setdefault(domain, name)
    return out


def contact_by_id(session: Session, contact_id: int) -> ContactRecord | None:
    found = _contacts(session, _CO.id == contact_id)
    return found[0] if found else None


def find_contact(contacts: Sequence[ContactRecord], typed: str) -> ContactRecord | None:
    """The contact of a customer a typed e-mail or name means (folded; a name shared by two contacts means
    neither: None, and the caller asks for the e-mail)."""
    typed = typed.strip()
    if "@" in typed:
        key = email_key(typed)
        return next((c for c in contacts if c.email and email_key(c.email) == key), None)
    named = [c for c in contacts if name_key(c.name) == name_key(typed)]
    return named[0] if len(named) == 1 else None


def customer_tickets(session: Session, customer_id: int, statuses: Sequence[str]) -> list[TicketRecord]:
    """The customer's tickets in those statuses (without histories), the latest changed first."""
    return queries._records(
        session,
        col(Ticket.customer_id) == customer_id,
        col(Ticket.status).in_(list(statuses)),
        order=(col(Ticket.updated_at).desc(), col(Ticket.id).desc()),
    )


# -- writes (inside the service's transaction) ---------------------------------------------------------


def customer_ids(session: Session, names: Iterable[str], create: bool = True) -> dict[str, int]:
    """The id of each name's customer, creating those that do not exist (a name is matched folded: "ACME"
    finds "Acme"); keyed by the names as given. ``create=False``: only the names that have one. The new
    customers are created in the order of ``names``, each under its first spelling there (an import passes its
    tickets' customers in file order: the same customers, spellings and ids as importing them one at a time)."""
    wanted = {n: name_key(n) for n in names}
    exact = _exact_ids(session, set(wanted))
    known = _ids_by_key(session, set(wanted.values()))
    missing: dict[str, str] = {}
    for n, key in wanted.items():
        if n not in exact and key not in known and key not in missing:
            missing[key] = n  # as given: a ticket's customer is stored exactly as it was written
    if not create:
        return {n: exact.get(n) or known[key] for n, key in wanted.items() if n in exact or key in known}
    if missing:
        session.execute(insert(Customer), [{"name": name, "name_key": key} for key, name in missing.items()])
        known = _ids_by_key(session, set(wanted.values()))
    return {n: exact.get(n) or known[key] for n, key in wanted.items()}


def _exact_ids(session: Session, names: set[str]) -> dict[str, int]:
    """The ids of the names spelled exactly as given (an old desk's "ACMÉ" beside its "Acme")."""
    out: dict[str, int] = {}
    ordered = sorted(names)
    for i in range(0, len(ordered), 900):
        out.update(
            (n, cid)
            for cid, n in session.execute(
                select(col(Customer.id), col(Customer.name)).where(col(Customer.name).in_(ordered[i : i + 900]))
            ).all()
        )
    return out


def _ids_by_key(session: Session, keys: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 900):
        out.update(
            (k, cid)
            for cid, k in session.execute(
                select(col(Customer.id), col(Customer.name_key)).where(col(Customer.name_key).in_(ordered[i : i + 900]))
            ).all()
        )
    return out


def canonical_names(session: Session, names: Iterable[str]) -> dict[str, str]:
    """Each name as the desk already spells it (its customer's record), for those that have one."""
    wanted = {n: name_key(n) for n in names}
    spelled: dict[str, str] = {}
    keys = sorted(set(wanted.values()))
    for i in range(0, len(keys), 900):
        spelled.update(
            session.execute(
                select(col(Customer.name_key), col(Customer.name)).where(col(Customer.name_key).in_(keys[i : i + 900]))
            ).all()
        )
    exact = _exact_ids(session, set(wanted))
    return {n: n if n in exact else spelled[k] for n, k in wanted.items() if n in exact or k in spelled}


def save_customer(session: Session, spec: CustomerSpec) -> tuple[int, bool]:
    """Create the customer or update the fields the spec gives; returns (id, created)."""
    key = name_key(spec.name)
    cid = session.execute(select(col(Customer.id)).where(col(Customer.name_key) == key)).scalar()
    values: dict = {}
    if spec.policy is not None:
        values["policy"] = spec.policy
    if spec.vip is not None:
        values["vip"] = spec.vip
    if spec.notes is not None:
        values["notes"] = spec.notes
    created = cid is None
    if cid is None:
        cid = session.execute(
            insert(Customer).values(name=spec.name, name_key=key, **values).returning(col(Customer.id))
        ).scalar_one()
    elif values:
        session.execute(update(Customer).where(col(Customer.id) == cid).values(**values))
    if spec.domains is not None:
        session.execute(delete(CustomerDomain).where(col(CustomerDomain.customer_id) == cid))
        if spec.domains:
            session.execute(insert(CustomerDomain), [{"domain": d, "customer_id": cid} for d in spec.domains])
    return cid, created


def domain_owners(session: Session, domains: Iterable[str]) -> dict[str, str]:
    """domain → the name of the customer that has it."""
    ordered = sorted(set(domains))
    if not ordered:
        return {}
    return dict(
        session.execute(
            select(col(CustomerDomain.domain), col(Customer.name))
            .join(Customer, col(Customer.id) == col(CustomerDomain.customer_id))
            .where(col(CustomerDomain.domain).in_(ordered))
        ).all()
    )


def save_contact(session: Session, spec: ContactSpec, customer_id: int) -> tuple[int, bool]:
    """Create the contact or update it; returns (id, created). Matched by its e-mail when it has one (an
    address of another customer's contact is refused by the caller beforehand), else by its name within the
    customer."""
    existing: tuple[int, int] | None = None
    if spec.email:
        row = session.execute(
            select(col(Contact.id), col(Contact.customer_id)).where(col(Contact.email_key) == email_key(spec.email))
        ).first()
        existing = (row[0], row[1]) if row is not None else None
    if existing is None:
        key = name_key(spec.name)
        for cid, name, email in session.execute(
            select(col(Contact.id), col(Contact.name), col(Contact.email)).where(
                col(Contact.customer_id) == customer_id
            )
        ).all():
            if name_key(name) == key and (email is None or spec.email is None):
                existing = (cid, customer_id)
                break
    values = {"name": spec.name}
    if spec.email is not None:
        values.update(email=spec.email, email_key=email_key(spec.email))
    if spec.phone is not None:
        values["phone"] = spec.phone
    if spec.role is not None:
        values["role"] = spec.role
    if existing is None:
        new_id = session.execute(
            insert(Contact).values(customer_id=customer_id, **values).returning(col(Contact.id))
        ).scalar_one()
        return new_id, True
    session.execute(update(Contact).where(col(Contact.id) == existing[0]).values(**values))
    return existing[0], False


def ticket_counts(session: Session, customer_id: int) -> tuple[int, int]:
    """(tickets, open ones) of a customer."""
    from .queue_terms import OPEN_STATUSES

    total, open_ = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((col(Ticket.status).in_(list(OPEN_STATUSES)), 1), else_=0)), 0),
        ).where(col(Ticket.customer_id) == customer_id)
    ).one()
    return int(total), int(open_)


def contact_ticket_count(session: Session, contact_ids: Sequence[int]) -> int:
    """How many tickets name one of these contacts."""
    if not contact_ids:
        return 0
    return int(
        session.execute(
            select(func.count()).select_from(Ticket).where(col(Ticket.contact_id).in_(list(contact_ids)))
        ).scalar_one()
    )


def contract_names(session: Session, customer_id: int) -> list[str]:
    return list(
        session.execute(
            select(col(Contract.name)).where(col(Contract.customer_id) == customer_id).order_by(col(Contract.name))
        ).scalars()
    )


def rename_customer(session: Session, customer_id: int, name: str) -> None:
    session.execute(update(Customer).where(col(Customer.id) == customer_id).values(name=name, name_key=name_key(name)))


def merge_customer(session: Session, source: CustomerRecord, target: CustomerRecord) -> None:
    """Move what belongs to ``source`` (contacts, e-mail domains, contracts) to ``target`` and delete ``source``;
    the target keeps its own fields, is VIP if either was, and gains the source's notes it does not have. Its
    tickets are moved by the caller (each one a change of the ticket, through the service)."""
    for model in (Contact, CustomerDomain, Contract):
        session.execute(update(model).where(col(model.customer_id) == source.id).values(customer_id=target.id))
    values: dict = {}
    if source.vip and not target.vip:
        values["vip"] = True
    if source.notes.strip() and source.notes.strip() not in target.notes:
        values["notes"] = f"{target.notes}\n{source.notes}".strip() if target.notes.strip() else source.notes
    if values:
        session.execute(update(Customer).where(col(Customer.id) == target.id).values(**values))
    session.execute(delete(Customer).where(col(Customer.id) == source.id))


def delete_customer(session: Session, customer_id: int) -> tuple[int, int]:
    """Delete a customer without tickets, with its contacts and e-mail domains; returns (contacts, domains)."""
    contacts = session.execute(delete(Contact).where(col(Contact.customer_id) == customer_id)).rowcount  # type: ignore[attr-defined]
    domains = session.execute(delete(CustomerDomain).where(col(CustomerDomain.customer_id) == customer_id)).rowcount  # type: ignore[attr-defined]
    session.execute(delete(Customer).where(col(Customer.id) == customer_id))
    return int(contacts or 0), int(domains or 0)


def rename_contact(session: Session, contact_id: int, name: str) -> None:
    session.execute(update(Contact).where(col(Contact.id) == contact_id).values(name=name))


def delete_contact(session: Session, contact_id: int) -> None:
    session.execute(delete(Contact).where(col(Contact.id) == contact_id))
