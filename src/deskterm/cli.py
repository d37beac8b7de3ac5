"""The command line (contract section 2).

Every command parses its input, hands the change to the service layer and prints the result. Errors are
one line per problem on stderr, ``where: what``; exit 1 when an operation is refused, 2 for bad input or
configuration; never a traceback for bad input.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from .domain.priority import CLASSIFICATIONS, PRIORITIES, TYPES
from .domain.workflow import STATUSES
from .errors import BadInput, DeskError

if TYPE_CHECKING:  # imported when first needed: --help opens neither
    from .config import Config
    from .service import Desk
    from .store.plain import PlainDesk

STATUS_CHOICES = STATUSES


class Context:
    """What every command needs, built lazily (the database is not opened for --help)."""

    def __init__(self, db: str | None, config: str | None) -> None:
        self.db = db
        self.config_path = config
        self._config: Config | None = None
        self._desk: Desk | None = None
        self._plain: PlainDesk | None = None
        # the tickets' derived deadlines match this configuration (False: a read-only desk that could not derive
        # them again after a change of configuration; the timers are then replayed from the histories)
        self.derived = True
        # no progress on stderr, even on a terminal (a command's --quiet): see desk()
        self.quiet = False
        # the command only reads (or, as escalate-due, acts on what is there): a missing desk is an error, not an
        # empty desk created on the way (a mistyped DESKTERM_DB in a cron line would escalate nothing, silently)
        self.reads = False

    def _must_exist(self) -> None:
        if not self.reads:
            return
        from .store.deskfile import new_desk_file

        where = new_desk_file(self.db)
        if where is not None:
            raise BadInput(f"--db: {where}: no desk there (the app, `deskterm new` or `deskterm import` creates one)")

    @property
    def config(self) -> Config:
        if self._config is None:
            from .config import load_config

            self._config = load_config(self.config_path)
            warnings = self._config.warnings
            if warnings:  # one line, however many targets: the first in full, then how many more
                more = f" (and {len(warnings) - 1} more such targets)" if len(warnings) > 1 else ""
                print(f"deskterm: warning: {warnings[0]}{more}", file=sys.stderr)
        return self._config

    def desk(self) -> Desk:
        if self._desk is None:
            # a bad configuration is reported before the database is touched, and before the store's libraries
            # (most of a command's start-up) are imported
            config = self.config
            self._must_exist()
            from .progress import steps
            from .service import Desk
            from .store.engine import open_store

            self._desk = Desk(open_store(self.db), config)
            try:
                # one cheap read unless the SLA configuration changed; then every open ticket's deadlines are
                # derived again, its progress on stderr when it is a terminal (Rich is imported only then)
                with steps(self.quiet) as progress:
                    self._desk.rederive(progress=progress)
            except Exception as exc:
                from .store.engine import is_read_only

                if not is_read_only(exc):
                    raise
                self.derived = False
                # a read-only desk (a snapshot, another's file): reads still work, timers are computed from history
        return self._desk

    def reader(self) -> Desk | PlainDesk:
        """The desk for a command that only reads: through its driver alone (``store/plain.py``: none of the
        store's libraries imported) when it is at this deskterm's schema with its deadlines derived for this
        configuration, else the store (which migrates, derives them again, or says what is wrong), after which
        the driver alone is tried once more."""
        if self._plain is None:
            from .store.plain import open_plain

            config = self.config  # (a bad configuration is said before the desk is touched)
            self._must_exist()
            self._plain = open_plain(self.db, config)
            if self._plain is None:
                desk = self.desk()
                self._plain = open_plain(self.db, config) if self.derived else None
                if self._plain is None:  # a desk in memory or read as immutable, or not derived again (read-only)
                    return desk
        return self._plain

    def close_reader(self) -> None:
        """Done with the plain reads (their snapshot ends): before a write through the store."""
        if self._plain is not None:
            self._plain.close()
            self._plain = None


def _read_file(file: str) -> tuple[str, str]:
    """(name for messages, text) of an input FILE (- for stdin), UTF-8 with or without a BOM; bad input otherwise."""
    if file == "-":
        name, raw = "<stdin>", sys.stdin.buffer.read()
    else:
        name = file
        try:
            with open(file, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise BadInput(f"{file}: cannot read: {exc.strerror}") from None
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text (byte {exc.start})") from None


def _parse_at(value: str | None, option: str = "--at") -> datetime | None:
    if value is None:
        return None
    from .importer import parse_instant

    try:
        return parse_instant(value)
    except ValueError as exc:
        raise BadInput(f"{option}: {value!r}: {exc}") from None


def _read_text(value: str, option: str) -> str:
    """An option's text, or standard input's (UTF-8) when it is ``-``."""
    if value != "-":
        return value
    try:
        return sys.stdin.buffer.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{option}: standard input is not UTF-8 text (byte {exc.start})") from None


def _say_warnings() -> None:
    """A damaged cache noticed on the way (and not already shown by the app): one line on stderr."""
    cache = sys.modules.get("deskterm.holiday_cache")
    warning = cache.take_warning() if cache is not None else None
    if warning:
        print(f"deskterm: warning: {warning}", file=sys.stderr)


class FiniteRange(click.FloatRange):
    """A FloatRange that refuses nan (every comparison with nan is false: FloatRange lets it through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


# The commands that only read the desk, or act on what it holds: on a desk file that does not exist they say so
# (exit 2) instead of creating an empty desk and answering from it. The app, ``new``, ``import`` and the
# directories' commands (customers, agents…) create a new desk.
READS = frozenset({"list", "show", "history", "report", "escalations", "handover", "escalate-due", "improvement"})


class DeskGroup(click.Group):
    """Failures of the database that are not deskterm's bugs (a file that is no desk, a damaged, read-only or busy
    desk, a full disk, a lost server) become one line naming the problem, exit 2, wherever they happen."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DeskError:
            raise
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("sqlalchemy", "sqlite3", "psycopg"):
                raise
            from .store.engine import explain_failure

            obj = ctx.obj if isinstance(ctx.obj, Context) else None
            failure = explain_failure(exc, obj.db if obj else None)
            if failure is None:
                raise
            raise failure from None


@click.group(cls=DeskGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH_OR_URL",
    help="Database file or SQLAlchemy URL (default: $DESKTERM_DB, else the user data dir).",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Configuration file (default: $DESKTERM_CONFIG, else the user config dir).",
)
@click.version_option(package_name="deskterm")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_path: str | None) -> int | None:
    """deskterm: a terminal service desk. Without a command, opens the queue."""
    ctx.obj = Context(db, config_path)
    ctx.obj.reads = ctx.invoked_subcommand in READS
    ctx.call_on_close(_say_warnings)  # also when the command fails (before its error line)
    ctx.call_on_close(ctx.obj.close_reader)  # the plain reads' connection (its snapshot), if one was opened
    if ctx.invoked_subcommand is None:
        from .tui.launch import run_app

        obj: Context = ctx.obj
        config = obj.config
        return run_app(db=obj.db, config=config)  # non-zero when the app stopped on an error
    return None


@cli.command()
@click.option("--tickets", default=300, show_default=True, help="How many tickets to generate.")
@click.option("--keep", metavar="DIR", help="Keep the demo database in DIR instead of a temporary directory.")
def demo(tickets: int, keep: str | None) -> int:
    """Open the app on a fresh demo desk (never touches your real database)."""
    import tempfile
    from pathlib import Path

    from .demo import build_demo
    from .tui.launch import run_app

    if tickets < 1:
        raise BadInput(f"--tickets: {tickets}: must be at least 1")
    with tempfile.TemporaryDirectory(prefix="deskterm-demo-") as tmp:
        # --keep DIR: a new directory (made 0770) or an empty one; never one holding a desk or a configuration
        where = Path(keep) if keep else Path(tmp)
        db, config = build_demo(where, tickets=tickets)
        return run_app(db=str(db), config=config)  # non-zero when the app stopped on an error


@cli.command("import")
@click.argument("file", type=str)
@click.option("--quiet", is_flag=True, help="No progress on stderr (shown only when stderr is a terminal).")
@click.pass_obj
def import_(obj: Context, file: str, quiet: bool) -> None:
    """Import tickets from a JSON array or JSON Lines FILE (- for stdin); all or nothing."""
    import os
    import tempfile

    from .clock import os_user
    from .importer import ImportFile

    config = obj.config
    with tempfile.TemporaryDirectory(prefix="deskterm-import-") as spool:
        name, path = _import_path(file, spool)
        source = ImportFile.of_path(path, name, importer=os_user())
        # a bulk load: the cyclic collector off while it runs (``bulk_work``: it doubled the time of parsing
        # 100,000 tickets)
        db = obj.db
        with bulk_work():
            try:
                from .store.deskfile import new_desk_aside
                from .store.engine import desk_exists

                # a desk is created only for a file found good. A new SQLite desk is made aside and put in place when
                # the import is done (the file is read once); a new PostgreSQL desk only after a first reading that
                # checks the file, then the import reads it again
                with new_desk_aside(db) as aside:
                    if aside is not None:
                        obj.db = aside
                    elif not desk_exists(db):
                        for _ in source.tickets():
                            pass
                        if source.problems:
                            raise BadInput(source.report())
                    del config
                    desk = obj.desk()
                    from .progress import progress, shown

                    # on a terminal: the tickets written, with the rate and the time left (stderr)
                    total = _records_in(path) if shown(quiet) else None
                    with progress(f"{os.path.basename(name)}: importing", total, quiet) as advance:
                        count = desk.import_file(source, progress=advance)
                    if aside is not None:
                        desk.store.dispose()  # (closed before it takes the desk's place)
            finally:
                obj.db = db
    directory = source.directory
    extra = len(directory.customers) + len(directory.contacts)
    click.echo(
        f"imported {count} tickets"
        + (f", {len(directory.customers)} customers, {len(directory.contacts)} contacts" if extra else "")
    )


def _import_path(file: str, spool: str) -> tuple[str, str]:
    """(name for messages, path) of an import FILE: standard input (-) is copied to ``spool`` first, a piece at
    a time (an import reads its file again when its transaction is tried again)."""
    import os

    if file == "-":
        import shutil

        path = os.path.join(spool, "stdin")
        with open(path, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        return "<stdin>", path
    try:
        with open(file, "rb"):
            pass
    except OSError as exc:
        raise BadInput(f"{file}: cannot read: {exc.strerror}") from None
    return file, file


def _records_in(path: str) -> int | None:
    """About how many records a file holds, for the progress bar: its lines, if it is JSON Lines (a JSON array
    may be on one line: no total, the count and the rate only)."""
    lines = 0
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
        if head.startswith((b"[", b"\xef\xbb\xbf[")):
            return None
        fh.seek(0)
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk
    return lines + (0 if not lines or last.endswith(b"\n") else 1)


@cli.command()
@click.option("--subject", required=True)
@click.option("--customer", required=True)
@click.option(
    "--priority",
    type=click.Choice(PRIORITIES),
    help="Priority (default P3, or from --impact and --urgency).",
)
@click.option(
    "--impact", type=click.IntRange(1, 3), help="1 high … 3 low; with --urgency gives the priority (ITIL matrix)."
)
@click.option("--urgency", type=click.IntRange(1, 3), help="1 high … 3 low.")
@click.option(
    "--type",
    "ticket_type",
    type=click.Choice(TYPES),
    default="incident",
    show_default=True,
)
@click.option("--description", help="The customer's description; - reads it from stdin.")
@click.option("--ref", help="The ticket's id in the system it came from.")
@click.option("--category", metavar="CATEGORY", help="The contact reason: a category of the taxonomy (network/vpn).")
@click.option(
    "--new-customer", is_flag=True, help="Create the customer even if its name looks like a known one's (a typo guard)."
)
@click.option("--contact", metavar="NAME|EMAIL", help="Who called: a contact of the customer, by e-mail or name.")
@click.pass_obj
def new(
    obj: Context,
    subject: str,
    customer: str,
    priority: str | None,
    impact: int | None,
    urgency: int | None,
    ticket_type: str,
    description: str | None,
    ref: str | None,
    category: str | None,
    new_customer: bool,
    contact: str | None,
) -> None:
    """Create one ticket; prints its id. A customer the desk does not know is created with it, unless its name
    looks like a known one's (a probable typo: refused with the name it resembles; --new-customer creates it)."""
    from .domain.priority import from_matrix
    from .records import NewTicket

    if not subject.strip():
        raise BadInput("--subject: empty")
    if not customer.strip():
        raise BadInput("--customer: empty")
    if (impact is None) != (urgency is None):
        raise BadInput("--impact and --urgency go together")
    if priority is None:
        priority = from_matrix(impact, urgency) if impact is not None and urgency is not None else "P3"
    if description == "-":
        description = _read_text(description, "--description")
    desk = obj.desk()
    if category is not None:
        category = desk.category(category)  # "category: …" (exit 2) for one outside the taxonomy
    ticket = desk.create(
        NewTicket(
            subject=subject,
            customer=customer,
            priority=priority,
            created_at=desk.clock.now(),
            type=ticket_type,
            description=description or "",
            ref=ref,
            impact=impact,
            urgency=urgency,
            where="new",
            category=category,
            contact=contact.strip() if contact and contact.strip() else None,
        ),
        new_customer=True if new_customer else None,  # without it: a look-alike of a known customer is refused
    )
    click.echo(ticket.id)


@cli.group()
def customers() -> None:
    """Customers and their contacts: list, show, import, rename, delete."""


def _customer_json(desk: Desk, c) -> dict[str, Any]:
    return {
        "name": c.name,
        "policy": desk.policy_name(c.name),
        "recorded_policy": c.policy,
        "vip": c.vip,
        "notes": c.notes,
        "domains": list(c.domains),
        "contacts": [{"name": p.name, "email": p.email, "phone": p.phone, "role": p.role} for p in c.contacts],
    }


@customers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the customers as a JSON array.")
@click.pass_obj
def customers_list(obj: Context, as_json: bool) -> None:
    """Every customer: VIP flag, policy, contacts and open tickets."""
    import json

    from .fmt import one_line
    from .store.queue_terms import OPEN_STATUSES

    desk = obj.desk()
    found = desk.customers()
    if as_json:
        click.echo(json.dumps([_customer_json(desk, c) for c in found], ensure_ascii=False, indent=2))
        return
    load: dict[str, int] = {}
    for t in desk.tickets(list(OPEN_STATUSES)):
        load[t.customer] = load.get(t.customer, 0) + 1
    for c in found:
        vip = "VIP " if c.vip else ""
        click.echo(
            f"{vip}{one_line(c.name, 40)} · policy {one_line(desk.policy_name(c.name), 20)} · "
            f"{len(c.contacts)} contact{'s' if len(c.contacts) != 1 else ''} · {load.get(c.name, 0)} open"
        )


@customers.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the customer as JSON.")
@click.pass_obj
def customers_show(obj: Context, name: str, as_json: bool) -> None:
    """One customer: its policy, VIP flag, notes, e-mail domains, contacts and open tickets."""
    import json

    from .fmt import one_line
    from .store.queue_terms import OPEN_STATUSES

    desk = obj.desk()
    c = desk.customer(name)
    open_tickets = desk.customer_tickets(c.id, OPEN_STATUSES)
    if as_json:
        out = _customer_json(desk, c)
        out["open_tickets"] = [
            {"id": t.id, "ref": t.ref, "subject": t.subject, "status": t.status} for t in open_tickets
        ]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(one_line(c.name) + ("  [VIP]" if c.vip else ""))
    policy = desk.policy_name(c.name)
    click.echo(f"policy: {one_line(policy)}")
    if c.policy and c.policy != policy:
        click.echo(f"  (its record names {one_line(c.policy)}; the configuration decides the SLA)")
    if c.domains:
        click.echo("e-mail domains: " + ", ".join(one_line(d) for d in c.domains))
    if c.notes:
        click.echo("notes: " + one_line(c.notes))
    click.echo(f"contacts ({len(c.contacts)}):")
    for p in c.contacts:
        extra = " · ".join(one_line(x) for x in (p.email, p.phone, p.role) if x)
        click.echo(f"  {one_line(p.name)}" + (f" · {extra}" if extra else ""))
    click.echo(f"open tickets ({len(open_tickets)}):")
    for t in open_tickets:
        click.echo(f"  #{t.id} {t.status:8} {one_line(t.subject)}")


@customers.command("import")
@click.argument("file", type=str)
@click.pass_obj
def customers_import(obj: Context, file: str) -> None:
    """Create or update customers and contacts from a JSON or CSV FILE (- for stdin); all or nothing."""
    from .importer import parse_directory

    name, text = _read_file(file)
    directory = parse_directory(text, name)
    created, updated = obj.desk().save_directory(directory)
    click.echo(
        f"imported {len(directory.customers)} customers and {len(directory.contacts)} contacts"
        f" ({created} new, {updated} updated)"
    )


@customers.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--merge", is_flag=True, help="NEW is another customer: move OLD's tickets, contacts and domains to it.")
@click.pass_obj
def customers_rename(obj: Context, old: str, new: str, merge: bool) -> None:
    """Rename customer OLD to NEW; its tickets follow (each records it in its history). With --merge, fold OLD
    into the existing customer NEW and delete OLD."""
    from .fmt import one_line

    done = obj.desk().rename_customer(old, new, merge=merge)
    what = "merged into" if done.merged else "renamed to"
    click.echo(
        f"{one_line(done.old)} {what} {one_line(done.new)}: {done.tickets} ticket{'s' if done.tickets != 1 else ''}"
        f" changed (policy {one_line(done.policy)})"
    )
    if done.mentions:
        print(
            f"deskterm: warning: the configuration still names {one_line(done.old)!r} in "
            + ", ".join(one_line(m) for m in done.mentions)
            + ": rename it there too",
            file=sys.stderr,
        )


@customers.command("delete")
@click.argument("name")
@click.pass_obj
def customers_delete(obj: Context, name: str) -> None:
    """Delete customer NAME with its contacts and e-mail domains; refused while tickets or contracts refer to it."""
    from .fmt import one_line

    deleted, contacts, domains = obj.desk().delete_customer(name)
    click.echo(
        f"deleted {one_line(deleted)} ({contacts} contact{'s' if contacts != 1 else ''},"
        f" {domains} e-mail domain{'s' if domains != 1 else ''})"
    )


@customers.command("contact-rename")
@click.argument("customer")
@click.argument("contact")
@click.argument("new")
@click.pass_obj
def customers_contact_rename(obj: Context, customer: str, contact: str, new: str) -> None:
    """Rename CONTACT (its e-mail or its name) of CUSTOMER to NEW; the tickets naming it record it."""
    from .fmt import one_line

    done = obj.desk().rename_contact(customer, contact, new)
    click.echo(
        f"{one_line(done.old)} renamed to {one_line(done.new)}: {done.tickets}"
        f" ticket{'s' if done.tickets != 1 else ''} changed"
    )


@customers.command("contact-delete")
@click.argument("customer")
@click.argument("contact")
@click.pass_obj
def customers_contact_delete(obj: Context, customer: str, contact: str) -> None:
    """Delete CONTACT (its e-mail or its name) of CUSTOMER; refused while tickets name it."""
    from .fmt import one_line

    click.echo(f"deleted {one_line(obj.desk().delete_contact(customer, contact))}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON array.")
@click.option("--at", "at_text", metavar="ISO8601", help="Evaluate every timer as of this instant instead of now.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUS_CHOICES),
    help="Keep tickets in this status (repeatable).",
)
@click.pass_obj
def list_(obj: Context, as_json: bool, at_text: str | None, statuses: Sequence[str]) -> None:
    """List tickets (every ticket, closed included, unless --status is given)."""
    from .domain.workflow import is_open

    at = _parse_at(at_text)
    if statuses and at is None and not as_json and all(is_open(s) for s in statuses):
        reader = obj.reader()
        if obj.derived:
            _echo_lines(list_from_deadlines(reader, statuses, reader.clock.now()))
            return
    desk = obj.desk()
    _echo_lines(list_replayed(desk, at or desk.clock.now(), at, statuses, as_json))


def _echo_lines(lines: Iterable[str]) -> None:
    """Each line through ``click.echo`` (the same stream, the same treatment), a thousand at a time: it flushes
    after every call, and tens of thousands of lines made as many system calls."""
    batch: list[str] = []
    try:
        for line in lines:
            batch.append(line)
            if len(batch) == 1000:
                click.echo("\n".join(batch))
                batch.clear()
        if batch:
            click.echo("\n".join(batch))
    finally:  # (a reader gone, `| head`: the lines' cursor closed now, while its connection is still open)
        close = getattr(lines, "close", None)
        if close is not None:
            close()


LIST_HEADER = f"{'ID':>6} {'PRIO':4} {'STATUS':8} {'LEFT · DUE':>14}  {'CUSTOMER':18} SUBJECT"
# LEFT: business time left, and the wall-clock due time when the two differ (fmt.left_and_due: the rule of the
# queue and the handover too): "30m · 09:30" is 30 minutes of business time, due at 09:30


def list_from_deadlines(desk: Desk | PlainDesk, statuses: Sequence[str], now: datetime) -> Iterator[str]:
    """``list --status`` of open statuses, now, as text: each row's countdown from the deadlines its ticket row
    keeps (``Timers.row_timer_at``; derived at every change, and again for every open ticket when the SLA
    configuration changes), no history read or replayed. The same lines as ``list_replayed``. The rows come as
    plain tuples, their instants as epoch seconds (``list_lines``: computed by the database on the plain reads)."""
    yield LIST_HEADER
    now_s = int(now.timestamp())
    row_timer, line = desk.row_timer_at, _ListLine(now_s, desk.config.tz).line
    for tid, prio, status, customer, subject, timer, due, left, warn, updated in desk.list_lines(statuses):
        nearest = row_timer(customer, status, timer, due, left, warn, updated, now_s) if timer is not None else None
        yield line(tid, prio, status, nearest, customer, subject)


def list_replayed(
    desk: Desk, now: datetime, at: datetime | None, statuses: Sequence[str], as_json: bool = False
) -> Iterator[str]:
    """``list`` from each ticket's history replayed: as of an instant (``--at``), with every timer (``--json``),
    or closed tickets (whose derived columns are not derived again after a change of configuration)."""
    from . import jsonout
    from .service import state_at  # after desk(): a bad configuration is said before the store is imported

    tz = desk.config.tz
    rows = []
    # --status without --at: only those tickets are read (their status now is the one filtered on); with --at,
    # a ticket's status then may differ from its status now, so every ticket is read and replayed
    for t in desk.tickets(list(statuses) if statuses and at is None else None):
        if at is not None and t.created_at > at:
            continue  # it did not exist yet
        state = state_at(t, at) if at is not None else None
        status = state["status"] if state else t.status
        if statuses and status not in statuses:
            continue
        rows.append((t, desk.sla(t, now), state))
    if as_json:
        open_esc = desk.open_escalations_by_ticket()
        yield jsonout.dumps([jsonout.ticket_json(t, sla, tz, state, open_esc.get(t.id)) for t, sla, state in rows])
        return
    yield LIST_HEADER
    line = _ListLine(int(now.timestamp()), tz).line
    for t, sla, state in rows:
        status = state["status"] if state else t.status
        prio = state["priority"] if state else t.priority
        yield line(t.id, prio, status, sla.nearest(), t.customer, t.subject)


class _ListLine:
    """The lines of ``list`` at one instant: ``line(...)`` is one ticket's, ``nearest`` the timer an agent looks
    at (a replay's ``TicketSla.nearest``, or what the ticket row says of it), None when no timer is active. The
    texts that depend on one value only (a customer's cell, a subject, the countdown of a timer state, time left
    and deadline) are made once per distinct value: tens of thousands of rows share them."""

    def __init__(self, now_s: int, tz: Any) -> None:
        from . import fmt

        self.fmt, self.now_s, self.tz = fmt, now_s, tz
        self.today = fmt.day_of(now_s, tz)  # (fmt.due_clock's, made once)
        self._customers: dict[str, str] = {}
        self._subjects: dict[str, str] = {}
        self._left: dict[tuple[bool, int, int | None], str] = {}

    def line(self, ticket_id: int, prio: str, status: str, nearest: Any, customer: str, subject: str) -> str:
        fmt = self.fmt
        if nearest is None:
            left = ""
        else:
            paused = nearest.state == "paused"
            key = (paused, nearest.remaining, None if paused else nearest.due)
            left = self._left.get(key)  # type: ignore[assignment]
            if left is None:
                left = self._left[key] = (
                    "⏸" + fmt.compact(nearest.remaining)
                    if paused
                    else fmt.left_and_due(nearest.remaining, nearest.due, self.now_s, self.tz, today=self.today)
                )
        cell = self._customers.get(customer)
        if cell is None:
            cell = self._customers[customer] = f"{fmt.one_line(customer, 18):18}"
        text = self._subjects.get(subject)
        if text is None:
            text = self._subjects[subject] = fmt.one_line(subject)
        return f"{ticket_id:>6} {prio:4} {status:8} {left:>14}  {cell} {text}"[:120]


@cli.command()
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True, help="Print the ticket, its timers, version and events as JSON.")
@click.option("--at", "at_text", metavar="ISO8601", help="Evaluate the timers as of this instant.")
@click.option("--why", is_flag=True, help="Explain each timer's due time (what the ticket screen's w shows).")
@click.pass_obj
def show(obj: Context, ticket: str, as_json: bool, at_text: str | None, why: bool) -> None:
    """One ticket with its timers and its whole history; --why explains each timer's due time."""
    from . import jsonout
    from .domain.sla import TIMER_LABELS
    from .fmt import compact, inert, local, one_line

    at = _parse_at(at_text)
    desk = obj.desk() if as_json else obj.reader()  # (--json: the open escalation, a table model)
    t = desk.ticket(ticket)
    sla = desk.sla(t, at)
    tz = desk.config.tz
    account = None
    if why:
        from .why import why_lines, why_text

        policy = desk.config.policy_for(t.customer)
        now = at or desk.clock.now()
        account = why_text(why_lines(sla, policy, desk.config.policy_reason(t.customer), t.priority, tz, now))
    if as_json:
        data = jsonout.ticket_json(t, sla, tz, escalation=obj.desk().open_escalations_by_ticket().get(t.id))
        data["description"] = t.description
        data["version"] = t.version
        data["events"] = [jsonout.event_json(e, tz) for e in t.events]
        if account is not None:
            data["why"] = account.split("\n")
        contact = desk.contact_of(t)
        if contact is not None:  # who called or wrote (issue 15): absent when the ticket names no contact
            data["contact"] = {"name": contact.name, "email": contact.email, "phone": contact.phone}
        click.echo(jsonout.dumps(data))
        return
    click.echo(f"#{t.id}{' ' + one_line(t.ref) if t.ref else ''}  {one_line(t.subject)}")
    click.echo(
        f"customer {one_line(t.customer)} · policy {sla.policy} · {t.type} · {t.priority} · {t.status}"
        f" · assignee {one_line(t.assignee) or '-'} · group {one_line(t.group)} · version {t.version}"
    )
    contact = desk.contact_of(t)
    if contact is not None:
        click.echo("contact " + " · ".join(one_line(x) for x in (contact.name, contact.email, contact.phone) if x))
    for name, timer in sla.timers.items():
        due = local(datetime.fromtimestamp(timer.due, UTC), tz) if timer.due is not None else "paused"
        warn = " (warning)" if timer.warning else ""
        click.echo(f"  {TIMER_LABELS[name]:15} {timer.state:8}{warn} due {due}  left {compact(timer.remaining)}")
    if account is not None:
        click.echo("")
        click.echo(account)
    if t.description:
        click.echo("")
        click.echo(inert(t.description, newlines=True))
    click.echo("")
    from .eventtext import describe, with_previous_values

    for e in with_previous_values(t.events, t.initial_priority):
        click.echo(f"{local(e.at, tz)}  {one_line(e.author)}  {describe(e)}")
        if e.body:
            for line in inert(e.body, newlines=True).split("\n"):
                click.echo(f"    {line}")


@cli.command()
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True, help="Print the audit trail as JSON.")
@click.pass_obj
def history(obj: Context, ticket: str, as_json: bool) -> None:
    """The audit trail of a ticket: every event, oldest first, with its time, author (the OS user who
    made the change), what it did (as `show` and the ticket screen say it: `status new → open`, `survey reminder
    sent`), and the first line of its text or reason."""
    from . import jsonout
    from .fmt import one_line

    desk = obj.desk()
    t = desk.ticket(ticket)
    tz = desk.config.tz
    if as_json:
        click.echo(
            jsonout.dumps(
                {
                    "id": t.id,
                    "ref": t.ref,
                    "version": t.version,
                    "created_at": jsonout.instant(t.created_at, tz),
                    "created_by": t.created_by,
                    # every event whole: the body of any kind (a satisfaction comment too), not only of replies
                    "events": [
                        {**jsonout.event_json(e, tz), **({"body": e.body} if e.body is not None else {})}
                        for e in t.events
                    ],
                }
            )
        )
        return

    from .eventtext import history_line, with_previous_values

    def when(dt) -> str:
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")

    def first_line(text: str | None) -> str:
        lines = (text or "").strip().splitlines()
        return one_line(lines[0], 100) if lines else ""

    click.echo(
        f"{when(t.created_at)}  {one_line(t.created_by) or '-'}  created #{t.id}{' ' + one_line(t.ref) if t.ref else ''}"
    )
    for e in with_previous_values(t.events, t.initial_priority):  # each event as `show` and the timeline say it
        what, text = history_line(e)
        why = first_line(text)
        click.echo(f"{when(e.at)}  {one_line(e.author)}  {what}{': ' + why if why else ''}")


@cli.command()
@click.argument("ticket")
@click.option("--status", type=click.Choice(STATUS_CHOICES))
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option("--assign", metavar="AGENT", help="An agent, or 'me'; 'none' unassigns.")
@click.option("--group", metavar="GROUP")
@click.option("--reply", metavar="TEXT", help="A public reply to the customer.")
@click.option("--note", metavar="TEXT", help="An internal note.")
@click.option(
    "--customer-message",
    metavar="TEXT",
    help="A message from the customer (by phone, chat…); a pending ticket goes back to open. - reads stdin.",
)
@click.option("--reason", metavar="TEXT", help="Why (kept with a status, priority or group change).")
@click.option("--impact", type=click.IntRange(1, 3), help="With --urgency: the priority through the ITIL matrix.")
@click.option("--urgency", type=click.IntRange(1, 3))
@click.option("--type", "ticket_type", type=click.Choice(TYPES))
@click.option("--classification", type=click.Choice(CLASSIFICATIONS), help="Covered by the contract, or billable.")
@click.option("--resolution-code", metavar="CODE", help="With --status resolved: one of the configured codes.")
@click.option("--category", metavar="CATEGORY", help="The contact reason (a category of the taxonomy); none clears it.")
@click.option("--expect-version", type=int, metavar="N", help="Refuse (exit 1) if the ticket changed since version N.")
@click.pass_obj
def update(
    obj: Context,
    ticket: str,
    status,
    priority,
    assign,
    group,
    reply,
    note,
    customer_message,
    reason,
    impact,
    urgency,
    ticket_type,
    classification,
    resolution_code,
    category,
    expect_version,
) -> None:
    """One change to a ticket, as the OS user; prints the new version."""
    if customer_message == "-":
        customer_message = _read_text(customer_message, "--customer-message")
    from .change import Change
    from .store.plain_write import update_plain

    change = Change(
        status=status,
        priority=priority,
        assign=assign,
        group=group,
        reply=reply,
        note=note,
        reason=reason,
        impact=impact,
        urgency=urgency,
        type=ticket_type,
        classification=classification,
        resolution_code=resolution_code,
        category=category,
        customer_message=customer_message,
    )
    # through the driver alone (none of the store's libraries imported) when the desk is at this schema, its
    # deadlines derived for this configuration, and nothing else is in the way (store/plain_write.py); else the
    # store (a bad configuration is said before either touches the desk)
    version = update_plain(obj.db, obj.config, ticket, change, expect_version)
    if version is None:
        version = obj.desk().update(ticket, change, expect_version=expect_version)
    click.echo(version)


@cli.command()
@click.argument("ticket")
@click.argument("major", required=False)
@click.option("--unlink", is_flag=True, help="Remove the ticket's link to its major incident.")
@click.option("--expect-version", type=int, metavar="N")
@click.pass_obj
def link(obj: Context, ticket: str, major: str | None, unlink: bool, expect_version: int | None) -> None:
    """Link TICKET to the major incident MAJOR (another ticket); prints the new version."""
    if (major is None) == (not unlink):
        raise BadInput("link: give the MAJOR ticket, or --unlink")
    click.echo(obj.desk().link(ticket, None if unlink else major, expect_version=expect_version))


@cli.command()
@click.argument("ticket")
@click.argument("score", type=click.IntRange(1, 5))
@click.option("--comment", metavar="TEXT")
@click.pass_obj
def rate(obj: Context, ticket: str, score: int, comment: str | None) -> None:
    """Record the customer's satisfaction (CSAT 1–5) on a resolved or closed ticket."""
    click.echo(obj.desk().rate(ticket, score, comment))


@cli.command()
@click.argument("ticket")
@click.option("--csat", type=int, metavar="1-5", help="Satisfaction: 1 (very unhappy) to 5 (very happy).")
@click.option("--nps", type=int, metavar="0-10", help="How likely to recommend: 0 to 10.")
@click.option("--ces", type=int, metavar="1-7", help="Effort: 1 (very difficult) to 7 (very easy).")
@click.option("--comment", metavar="TEXT", help="What the customer said besides the scores.")
@click.option("--answer", metavar="TEXT", help="The customer's reply, read as the survey answer; - reads stdin.")
@click.option("--remind", is_flag=True, help="Record that the customer was reminded (once per resolution).")
@click.option("--expect-version", type=int, metavar="N")
@click.pass_obj
def survey(
    obj: Context,
    ticket: str,
    csat: int | None,
    nps: int | None,
    ces: int | None,
    comment: str | None,
    answer: str | None,
    remind: bool,
    expect_version: int | None,
) -> None:
    """Record the survey answer of a resolved TICKET (CSAT, NPS, CES, comment); prints the new version."""
    from .domain.survey import SurveyAnswer, SurveyError, parse_answer

    scores = (csat, nps, ces, comment)
    if remind:
        if answer is not None or any(x is not None for x in scores):
            raise BadInput("survey: --remind goes alone")
        click.echo(obj.desk().remind_survey(ticket, expect_version=expect_version))
        return
    if answer is not None:
        if any(x is not None for x in scores):
            raise BadInput("survey: give --answer or the scores, not both")
        text = _read_text(answer, "--answer")
        try:
            parsed = parse_answer(text)
        except SurveyError as exc:
            raise BadInput(f"--answer: {exc}") from None
        if parsed is None:
            raise BadInput("--answer: no survey answer found in the text (e.g. '4', '4 / 9 / 6', 'CSAT 4 NPS 9 CES 6')")
    else:
        parsed = SurveyAnswer(csat=csat, nps=nps, ces=ces, comment=comment)
    click.echo(obj.desk().record_survey(ticket, parsed, expect_version=expect_version))


@cli.command()
@click.argument("ticket")
@click.option(
    "--functional", "kind", flag_value="functional", help="To a second- or third-level group (the ticket moves there)."
)
@click.option(
    "--hierarchical", "kind", flag_value="hierarchical", help="To a duty manager (the ticket stays where it is)."
)
@click.option("--to", "target", required=True, metavar="GROUP_OR_MANAGER")
@click.option("--reason", required=True, metavar="TEXT")
@click.option("--expect-version", type=int, metavar="N")
@click.pass_obj
def escalate(obj: Context, ticket: str, kind: str | None, target: str, reason: str, expect_version: int | None) -> None:
    """Escalate TICKET; prints the new version."""
    if kind is None:
        raise BadInput("escalate: give --functional or --hierarchical")
    click.echo(obj.desk().escalate(ticket, kind, target, reason, expect_version=expect_version))


@cli.command("escalate-due")
@click.option("--at", "at_text", metavar="ISO8601", help="Apply the rules as of this instant instead of now.")
@click.pass_obj
def escalate_due(obj: Context, at_text: str | None) -> None:
    """Apply the automatic escalation rules once; idempotent, safe to run from cron."""
    at = _parse_at(at_text)
    if at is None:
        # most runs (cron, every minute) find nothing to fire: that is read through the driver alone, and the store
        # (with the service, which fires) is opened only when some rule is due
        from .store.plain import PlainDesk

        reader = obj.reader()
        if isinstance(reader, PlainDesk) and not reader.escalations_due(reader.clock.now()):
            _say_fired(reader.config, [])
            return
        obj.close_reader()
    desk = obj.desk()
    if at is not None and at > desk.clock.now():
        raise BadInput(f"--at: {at_text!r}: in the future; a writing command records nothing later than now")
    _say_fired(desk.config, desk.apply_rules(at))


def _say_fired(config: Config, fired: list[tuple[int, str]]) -> None:
    from .fmt import one_line

    per_ticket: dict[int, list[str]] = {}
    for ticket_id, key in fired:  # in firing order: tickets by id, each ticket's rules in configuration order
        rule = config.escalation.rule(key)
        per_ticket.setdefault(ticket_id, []).append(f"{one_line(rule.label)} → {one_line(rule.to)}" if rule else key)
    n, m = len(per_ticket), len(fired)
    click.echo(f"escalated {n} ticket{'s' if n != 1 else ''}" + (f" ({m} escalations)" if m != n else ""))
    for ticket_id, rules in per_ticket.items():
        click.echo(f"  #{ticket_id}  {'; '.join(rules)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def agents(obj: Context, as_json: bool) -> None:
    """The directory of agents: who can be given a ticket, who is on shift, and how many open tickets each holds."""
    import json

    from .fmt import local, one_line

    desk = obj.desk()
    directory = desk.directory()
    roster = {name: (since, load) for name, _, since, load in desk.roster()}
    rows: list[dict[str, Any]] = []
    for name in directory.names:
        since, load = roster.get(name, (None, 0))
        entry = directory.entries.get(name)
        rows.append(
            {
                "name": name,
                "display": directory.display(name),
                "groups": list(entry.groups) if entry else [],
                "on_shift_since": since.isoformat() if since else None,
                "open_tickets": load,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    tz = desk.config.tz
    for r in rows:
        since = roster.get(r["name"], (None, 0))[0]
        shift = f"on shift since {local(since, tz)}" if since else "off shift"
        display = f" ({one_line(r['display'])})" if r["display"] != r["name"] else ""
        groups = f" · {', '.join(r['groups'])}" if r["groups"] else ""
        click.echo(f"{one_line(r['name'])}{display} · {shift} · {r['open_tickets']} open{groups}")


@cli.command()
@click.argument("action", type=click.Choice(["start", "end"]))
@click.pass_obj
def shift(obj: Context, action: str) -> None:
    """Start or end your shift (opening the app starts it too); the queue's roster shows who is on shift."""
    from .fmt import local

    desk = obj.desk()
    since = desk.shift(action == "start")
    if since is not None:
        click.echo(f"{desk.user}: on shift since {local(since, desk.config.tz)}")
    else:
        click.echo(f"{desk.user}: off shift")


@cli.command()
@click.argument("escalation", type=click.IntRange(1, 2**63 - 1))  # a number SQLite can hold
@click.pass_obj
def ack(obj: Context, escalation: int) -> None:
    """Acknowledge an escalation (by its number, as shown by `deskterm escalations`)."""
    click.echo(obj.desk().acknowledge(escalation))


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Closed escalations too.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def escalations(obj: Context, show_all: bool, as_json: bool) -> None:
    """Open escalations, oldest first: level, target, age, acknowledged."""
    from . import jsonout
    from .fmt import compact, one_line

    desk = obj.desk()
    rows = desk.escalations(open_only=not show_all)
    tz = desk.config.tz
    if as_json:
        click.echo(jsonout.dumps([jsonout.escalation_json(e, tz) for e in rows]))
        return
    now = desk.clock.now()
    for e in rows:
        ack_text = f"ack {one_line(e.acknowledged_by)}" if e.acknowledged_at else "NOT ACKNOWLEDGED"
        state = f"closed ({e.outcome})" if e.closed_at else ack_text
        age = compact(int((now - e.created_at).total_seconds()))
        click.echo(
            f"{e.id:>5}  #{e.ticket_id:<6} {e.level:8} {one_line(e.target, 20):20} {age:>7}  {one_line(state, 18):18}  {one_line(e.reason, 60)}"
        )


@contextmanager
def bulk_work() -> Iterator[None]:
    """The cyclic garbage collector off while a command makes millions of objects and no reference cycles (a
    report's fold, an ``import``): it would only walk the growing heap again and again. The process
    ends right after, and the collector is back as it was for anything that follows in-process (tests)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def write_lines(lines: Iterable[str], size: int = 1 << 16) -> None:
    """Text made piece by piece written out in pieces of about ``size`` characters, never held whole."""
    pending: list[str] = []
    held = 0
    for line in lines:
        pending.append(line)
        held += len(line)
        if held >= size:
            click.echo("".join(pending), nl=False)
            pending, held = [], 0
    if pending:
        click.echo("".join(pending), nl=False)


def _since(value: str | None, now: datetime, option: str) -> datetime | None:
    """An ISO 8601 instant, or a duration back from now (``7d``, ``24h``)."""
    if value is None:
        return None
    from .clock import back_from
    from .config import looks_like_duration, parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        if looks_like_duration(value):
            raise BadInput(f"{option}: {exc}") from None
        return _parse_at(value, option)
    try:
        return back_from(now, seconds)
    except ValueError as exc:
        raise BadInput(f"{option}: {value!r}: {exc}") from None


@cli.command()
@click.option("--since", "since_text", metavar="ISO8601/DURATION", help="Start of the period (default 30d ago).")
@click.option("--until", "until_text", metavar="ISO8601/DURATION", help="End of the period (default now).")
@click.option(
    "--by",
    type=click.Choice(["customer", "policy", "group", "priority", "type", "category"]),
    help="One section per value.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "csv", "json", "html", "pdf"]), default="md", show_default=True
)
@click.option("--customer", help="With --month: the customer's monthly SLA report (md, html, pdf or json).")
@click.option("--month", metavar="YYYY-MM", help="With --customer: the month of the customer's report.")
@click.option("--output", "-o", metavar="FILE", help="With --format pdf: the PDF file to write (whole or not at all).")
@click.option("--quiet", is_flag=True, help="No progress on stderr (shown only when stderr is a terminal).")
@click.pass_obj
def report(
    obj: Context,
    since_text: str | None,
    until_text: str | None,
    by: str | None,
    fmt: str,
    customer: str | None,
    month: str | None,
    output: str | None,
    quiet: bool,
) -> None:
    """KPIs: SLA compliance, breaches, backlog, MTTR, FCR, CSAT, NPS, CES, escalations."""
    import csv
    import io

    from . import forked, jsonout, reports
    from .fmt import csv_cell
    from .progress import shown, steps

    obj.quiet = quiet

    if customer is not None or month is not None:
        if customer is None or month is None:
            raise BadInput("report: --customer and --month go together")
        if since_text is not None or until_text is not None or by is not None:
            raise BadInput("report: --customer takes a --month, not --since, --until or --by")
        if fmt == "csv":
            raise BadInput("--format: the customer's report is md, html, pdf or json")
        if (fmt == "pdf") != (output is not None):
            raise BadInput("--output: a PDF needs --output FILE, and only a PDF is written to a file")
        from . import monthly

        with steps(quiet) as progress:  # (the line is gone before anything is printed)
            data = monthly.customer_report(obj.desk(), customer, month, progress)
        if fmt == "pdf":
            from pathlib import Path

            from .pdf import write_pdf

            assert output is not None
            size = write_pdf(monthly.customer_html(data), Path(output))
            click.echo(f"{output}: {size} bytes")
        elif fmt == "json":
            click.echo(jsonout.dumps(data))
        elif fmt == "html":
            click.echo(monthly.customer_html(data), nl=False)
        else:
            click.echo(monthly.customer_markdown(data), nl=False)
        return
    if fmt in ("html", "pdf"):
        raise BadInput(f"--format: {fmt} is for the customer's report (--customer and --month)")
    if output is not None:
        raise BadInput("--output: only the customer's PDF report is written to a file")
    desk = obj.desk()
    now = desk.clock.now()
    # the period is [since, until) and instants are whole seconds: up to now means up to the end of this second,
    # or a ticket created in it (by the command just before) would be left out
    until = _since(until_text, now, "--until") or now + timedelta(seconds=1)
    since = _since(since_text if since_text is not None else "30d", until, "--since")
    assert since is not None  # a text was given
    if since >= until:
        raise BadInput(f"--since: {since.isoformat()} is not before --until {until.isoformat()}")
    tz = desk.config.tz  # (the period is printed in it: reports.compute)
    # read and folded a batch of tickets at a time: memory stays flat whatever the desk (Desk.kpis); on a terminal,
    # the tickets folded so far of those of the period (counted first, for the time left) on stderr
    with steps(quiet) as progress:  # (the line is gone before anything is printed)
        of = desk.count_for_period(since, until) if shown(quiet) else None
        with bulk_work():  # (8-10 % of the CPU of a year's report at 100,000 tickets)
            total, groups = desk.kpis(
                since,
                until,
                by,
                on_batch=lambda done: progress(reports.COMPUTING, done, of),
                processes=2 if forked.available() else 1,  # half the batches folded by a second process
            )
    from .domain.billing import churned, ending_within

    contracts = desk.contracts()
    today = now.astimezone(tz).date()
    ending = ending_within(contracts, today)
    churn = churned(contracts, since.astimezone(tz).date(), (until - timedelta(seconds=1)).astimezone(tz).date())

    def contract_json(c) -> dict:
        return {"customer": c.customer, "name": c.name, "end": c.end.isoformat() if c.end else None, "renews": c.renews}

    # the breaches (a year's report at a million tickets lists hundreds of thousands) are made as they are written
    # out, never all held (jsonout.write, reports.kpis_markdown_lines)
    if fmt == "json":
        jsonout.write(
            {
                "total": total.as_dict(listed=False),
                "by": by,
                "groups": {k: v.as_dict(listed=False) for k, v in groups.items()},
                "contracts_ending_within_60_days": [contract_json(c) for c in ending],
                "churn": [contract_json(c) for c in churn],
            },
            lambda text: click.echo(text, nl=False),
        )
        click.echo()
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(reports.CSV_COLUMNS)
        w.writerow([csv_cell(c) for c in reports.csv_row("total", total)])
        for name, k in groups.items():
            w.writerow([csv_cell(c) for c in reports.csv_row(name, k)])  # customer names: inert, never a formula
        click.echo(buf.getvalue(), nl=False)
    else:
        for title, k in (("All customers", total), *((f"{by} {name}", k) for name, k in groups.items())):
            write_lines(reports.kpis_markdown_lines(k, title, tz))
            click.echo()
        if contracts:
            from .fmt import md_text

            click.echo("## Contracts\n")
            click.echo("Ending or renewing within 60 days:" + ("" if ending else " none"))
            for c in ending:
                click.echo(f"- {md_text(c.customer)}: {md_text(c.name)}, {'renews' if c.renews else 'ends'} {c.end}")
            click.echo("\nChurn (ended without renewal) in the period:" + ("" if churn else " none"))
            for c in churn:
                click.echo(f"- {md_text(c.customer)}: {md_text(c.name)} ended {c.end}")


@cli.command("time", context_settings={"ignore_unknown_options": True})
@click.argument("ticket")
@click.argument("duration")
@click.option("--note", metavar="TEXT", help="What the time was spent on.")
@click.option("--expect-version", type=int, metavar="N", help="Refuse (exit 1) if the ticket changed since version N.")
@click.pass_obj
def time_(obj: Context, ticket: str, duration: str, note: str | None, expect_version: int | None) -> None:
    """Log time spent on a ticket (25m, 1h30, 2h; at most 24 h an entry); prints the new version."""
    from .domain.billing import RuleError, parse_work

    try:
        seconds = parse_work(duration)
    except RuleError as exc:
        raise BadInput(f"time: {exc}") from None
    click.echo(obj.desk().log_time(ticket, seconds, note, expect_version=expect_version))


@cli.command("change-request")
@click.argument("ticket")
@click.option("--estimate", metavar="DURATION", help="The estimated work (6h, 2h30, 45m; any length).")
@click.option(
    "--approval",
    type=click.Choice(["proposed", "approved", "delivered", "invoiced", "rejected"]),
    help="The next approval state (one step: proposed → approved → delivered → invoiced, or rejected).",
)
@click.option("--expect-version", type=int, metavar="N", help="Refuse (exit 1) if the ticket changed since version N.")
@click.pass_obj
def change_request(
    obj: Context, ticket: str, estimate: str | None, approval: str | None, expect_version: int | None
) -> None:
    """A change request's estimate and approval (who and when are recorded); prints the new version."""
    seconds = None
    if estimate is not None:
        seconds = _work_hours(estimate, "--estimate")
    click.echo(obj.desk().change_request(ticket, seconds, approval, expect_version=expect_version))


def _work_hours(text: str, option: str) -> int:
    """A duration of work of any length: ``6h``, ``2h30``, ``45m`` (estimates, included hours)."""
    import re

    m = re.fullmatch(r"([0-9]{1,6})h(?:([0-9]{1,2})m?)?|([0-9]{1,8})m", text.strip().lower())
    if not m or (m.group(2) and int(m.group(2)) > 59):
        raise BadInput(f"{option}: {text!r} is not a duration such as 6h, 2h30 or 45m")
    if m.group(3) is not None:
        return int(m.group(3)) * 60
    return int(m.group(1)) * 3600 + int(m.group(2) or 0) * 60


def _day(text: str | None, option: str):
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a date such as 2026-10-01") from None


@cli.group("contract")
def contract_group() -> None:
    """A customer's contracts: dates in force, policy, included hours, billable rate, scope."""


@contract_group.command("add")
@click.option("--customer", required=True)
@click.option("--name", required=True)
@click.option("--start", required=True, metavar="YYYY-MM-DD", help="The first day in force.")
@click.option("--end", metavar="YYYY-MM-DD", help="The last day in force (no renewal: the customer leaves).")
@click.option("--renews", metavar="YYYY-MM-DD", help="The renewal date (the contract goes on unless ended).")
@click.option("--policy", help="The SLA policy it sets (one of the configuration's).")
@click.option("--included", default="0m", show_default=True, metavar="DURATION", help="Covered hours a month (10h).")
@click.option("--rate", default="0", show_default=True, metavar="AMOUNT", help="Billable rate an hour (95.00).")
@click.option("--scope", default="", help="What the contract covers.")
@click.pass_obj
def contract_add(
    obj: Context,
    customer: str,
    name: str,
    start: str,
    end: str | None,
    renews: str | None,
    policy: str | None,
    included: str,
    rate: str,
    scope: str,
) -> None:
    """Register a contract; prints its id. Overlapping contracts, an end before the start: exit 2."""
    from .domain.billing import Contract, RuleError, parse_money

    if end is not None and renews is not None:
        raise BadInput("contract: give --end or --renews, not both")
    try:
        rate_cents = parse_money(rate)
    except RuleError as exc:
        raise BadInput(f"--rate: {exc}") from None
    first = _day(start, "--start")
    last = _day(end if end is not None else renews, "--end" if end is not None else "--renews")
    contract = Contract(
        name=name.strip(),
        customer=customer,
        start=first,
        end=last,
        renews=renews is not None,
        policy=policy,
        included_seconds=_work_hours(included, "--included"),
        rate_cents=rate_cents,
        scope=scope,
    )
    click.echo(obj.desk().add_contract(contract))


@contract_group.command("list")
@click.option("--customer", help="Only this customer's.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def contract_list(obj: Context, customer: str | None, as_json: bool) -> None:
    """The contracts, with the ones ending within 60 days marked."""
    from . import jsonout
    from .domain.billing import ending_within, hours, money
    from .fmt import one_line

    desk = obj.desk()
    contracts = desk.contracts(customer)
    today = desk.clock.now().astimezone(desk.config.tz).date()
    ending = {c.id for c in ending_within(contracts, today)}
    if as_json:
        click.echo(
            jsonout.dumps(
                [
                    {
                        "id": c.id,
                        "customer": c.customer,
                        "name": c.name,
                        "start": c.start.isoformat(),
                        "end": c.end.isoformat() if c.end else None,
                        "renews": c.renews,
                        "policy": c.policy,
                        "included_hours": c.included_seconds / 3600,
                        "rate": c.rate_cents / 100,
                        "scope": c.scope,
                        "ending_within_60_days": c.id in ending,
                    }
                    for c in contracts
                ]
            )
        )
        return
    for c in contracts:
        until = f"renews {c.end}" if c.renews else (f"ends {c.end}" if c.end else "open-ended")
        flag = "  ! ends within 60 days" if c.id in ending and not c.renews else ""
        flag = flag or ("  ! renewal within 60 days" if c.id in ending else "")
        click.echo(
            f"{c.id:>4}  {one_line(c.customer, 28):28}  {one_line(c.name, 20):20}  from {c.start}  {until:18}"
            f"  {hours(c.included_seconds)} h/month  {money(c.rate_cents)}/h{flag}"
        )


@cli.command()
@click.argument("ticket")
@click.option("--root-cause", metavar="TEXT", help="What causes the incidents.")
@click.option("--known-error/--not-known-error", default=None, help="A known error (its workaround is documented).")
@click.option("--workaround", metavar="TEXT", help="How to restore the service meanwhile.")
@click.option(
    "--link", "links", multiple=True, metavar="INCIDENT", help="Link an incident to this problem (repeatable)."
)
@click.option("--expect-version", type=int, metavar="N", help="Refuse (exit 1) if the problem changed since version N.")
@click.pass_obj
def problem(
    obj: Context,
    ticket: str,
    root_cause: str | None,
    known_error: bool | None,
    workaround: str | None,
    links: Sequence[str],
    expect_version: int | None,
) -> None:
    """A problem's root cause, known error and workaround; --link attaches incidents to it."""
    desk = obj.desk()
    if root_cause is None and known_error is None and workaround is None and not links:
        raise BadInput("problem: nothing to change (--root-cause, --known-error, --workaround, --link)")
    if root_cause is not None or known_error is not None or workaround is not None:
        click.echo(desk.update_problem(ticket, root_cause, known_error, workaround, expect_version=expect_version))
    if links:
        desk.link_problem(ticket, list(links))
        click.echo(f"{len(links)} linked")


@cli.group("action")
def action_group() -> None:
    """Corrective actions of problems: owner, due day, state."""


@action_group.command("add")
@click.argument("problem")
@click.option("--title", required=True)
@click.option("--owner", required=True, help="An agent (or me).")
@click.option("--due", required=True, metavar="YYYY-MM-DD")
@click.pass_obj
def action_add(obj: Context, problem: str, title: str, owner: str, due: str) -> None:
    """Add a corrective action to a problem; prints its id."""
    click.echo(obj.desk().add_action(problem, title, owner, _day(due, "--due")))


@action_group.command("done")
@click.argument("action", type=int)
@click.pass_obj
def action_done(obj: Context, action: int) -> None:
    """Mark a corrective action done."""
    click.echo(obj.desk().set_action(action, "done"))


@action_group.command("cancel")
@click.argument("action", type=int)
@click.pass_obj
def action_cancel(obj: Context, action: int) -> None:
    """Cancel a corrective action."""
    click.echo(obj.desk().set_action(action, "cancelled"))


@cli.command()
@click.option("--month", required=True, metavar="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress on stderr (shown only when stderr is a terminal).")
@click.pass_obj
def improvement(obj: Context, month: str, fmt: str, quiet: bool) -> None:
    """The monthly continuous-improvement report: reasons, problems, actions, SLA trend, changes."""
    from . import jsonout, monthly
    from .progress import steps

    obj.quiet = quiet
    with steps(quiet) as progress:  # (the line is gone before anything is printed)
        data = monthly.improvement_report(obj.desk(), month, progress)
    click.echo(jsonout.dumps(data) if fmt == "json" else monthly.improvement_markdown(data), nl=False)


@cli.command()
@click.option("--customer", required=True)
@click.option("--month", required=True, metavar="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.pass_obj
def billing(obj: Context, customer: str, month: str, fmt: str) -> None:
    """A customer's month per contract: included hours used, change requests billed, amounts."""
    from . import billing as bills
    from . import jsonout

    desk = obj.desk()
    tz = desk.config.tz
    period = bills.parse_month(month, tz, desk.clock.now())
    with desk.store.read() as session:
        mb = bills.month_bill(session, customer, period, tz)
    if fmt == "json":
        click.echo(jsonout.dumps(bills.as_json(mb)))
    elif fmt == "csv":
        click.echo(bills.as_csv(mb), nl=False)
    else:
        click.echo(bills.as_markdown(mb), nl=False)


@cli.command()
@click.argument("ticket", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions (or the evaluation) as JSON.")
@click.option("--evaluate", is_flag=True, help="Measure the suggestions on the desk's resolved history.")
@click.option(
    "--threshold", type=float, default=0.5, show_default=True, help="Confidence below which nothing is suggested."
)
@click.option(
    "--neighbours", type=click.IntRange(1, 200), default=15, show_default=True, help="Similar tickets that vote."
)
@click.option("--test-share", type=float, default=0.2, show_default=True, help="--evaluate: the newest share tested.")
@click.option("--accept", is_flag=True, help="Apply the suggestions to TICKET (as one change, in its history).")
@click.option("--set", "corrections", multiple=True, metavar="FIELD=VALUE", help="With --accept: correct one field.")
@click.pass_obj
def triage(
    obj: Context,
    ticket: str | None,
    as_json: bool,
    evaluate: bool,
    threshold: float,
    neighbours: int,
    test_share: float,
    accept: bool,
    corrections: Sequence[str],
) -> None:
    """Suggestions for a new ticket learned from the resolved ones; without TICKET, the tickets to triage."""
    from . import jsonout
    from . import triage as tri
    from .fmt import one_line

    desk = obj.desk()
    if evaluate:
        if ticket is not None or accept:
            raise BadInput("--evaluate: measures the whole desk; give no TICKET and no --accept")
        measured = tri.evaluate(desk, test_share=test_share, threshold=threshold, neighbours=neighbours)
        click.echo(jsonout.dumps(measured.as_dict()) if as_json else tri.evaluation_text(measured))
        return
    if ticket is None:
        if accept or corrections:
            raise BadInput("--accept: give the TICKET to apply the suggestions to")
        waiting = tri.to_triage(desk)
        if as_json:
            click.echo(jsonout.dumps([{"id": t.id, "ref": t.ref, "subject": t.subject} for t in waiting]))
        for t in [] if as_json else waiting:
            click.echo(f"#{t.id}  {one_line(t.category or '-', 20):<20}  {one_line(t.subject, 60)}")
        return
    fixes: dict[str, str] = {}
    for item in corrections:
        name, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise BadInput(f"--set: {item!r} is not FIELD=VALUE (fields: type, category, group, impact_urgency)")
        fixes[name.strip()] = value.strip()
    if corrections and not accept:
        raise BadInput("--set: goes with --accept")
    result = tri.suggest(desk, ticket, threshold=threshold, neighbours=neighbours)
    if accept:
        click.echo(tri.accept(desk, result, fixes))
        return
    if as_json:
        click.echo(jsonout.dumps(result.as_json()))
        return
    click.echo(f"#{result.ticket.id}  {one_line(result.ticket.subject, 70)}")
    for name, vote in result.votes.items():
        mark = "suggested" if name in result.suggestions else "below the threshold"
        click.echo(f"  {name:<15} {one_line(vote.value, 30):<30} {vote.confidence:6.0%}  {mark}")
    if not result.votes:
        click.echo("  no suggestion: no similar resolved ticket")
    for title, items in (("possible duplicates (open)", result.duplicates), ("resolved, may help", result.helpful)):
        click.echo(f"{title}:")
        for s in items:
            click.echo(f"  #{s.id} {s.status:<8} {one_line(s.resolution_code or '', 14):<14} {one_line(s.subject, 50)}")
    if result.major is not None:
        click.echo(f"open major incident: #{result.major[0]} {one_line(result.major[1], 60)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the taxonomy as JSON.")
@click.pass_obj
def categories(obj: Context, as_json: bool) -> None:
    """The configured categories (contact reasons), one a line."""
    from . import jsonout

    taxonomy = obj.config.taxonomy
    if as_json:
        click.echo(jsonout.dumps([{"category": top, "subcategories": list(subs)} for top, subs in taxonomy.tree]))
        return
    for path in taxonomy.paths():
        click.echo(path)


@cli.command()
@click.option("--hours", type=FiniteRange(min=0.5, max=168), default=8, show_default=True, help="Length of the shift.")
@click.option("--at", "at_text", metavar="ISO8601", help="The end of the shift (default now).")
@click.pass_obj
def handover(obj: Context, hours: float, at_text: str | None) -> None:
    """What the next shift must know, as Markdown to paste into a chat."""
    from . import reports

    desk = obj.desk()
    now = _parse_at(at_text) or desk.clock.now()
    h = reports.handover(desk.tickets(), lambda t: desk.sla(t, now), desk.escalations(open_only=True), now, hours)
    click.echo(reports.handover_markdown(h, desk.config.tz), nl=False)


@cli.group("intake")
def intake_group() -> None:
    """Take what other systems send: monitoring alerts."""


@intake_group.command("alertmanager")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Listen for Alertmanager's webhook over HTTP (e.g. 127.0.0.1:9099); without it, one notification on stdin.",
)
@click.option("--token-file", metavar="FILE", help="The bearer token's file (default: [alertmanager] token_file).")
@click.option("--any-address", is_flag=True, help="Allow --listen on an address that is not loopback.")
@click.pass_obj
def intake_alertmanager(obj: Context, listen: str | None, token_file: str | None, any_address: bool) -> None:
    """Prometheus Alertmanager notifications (webhook, version 4) become incidents (see README "Monitoring alerts")."""
    from . import alertlisten
    from .domain.alerts import AlertError

    settings = obj.config.alertmanager
    if listen is None:
        body = sys.stdin.buffer.read(settings.max_body + 1)
        try:
            taken = alertlisten.take(obj.desk(), body, settings.max_body)
        except AlertError as exc:
            raise BadInput(f"alertmanager: {exc}") from None
        for t in taken:
            major = f" (major incident #{t.major_id})" if t.major_id else ""
            click.echo(f"{t.state} #{t.ticket_id}{major}" if t.ticket_id else t.state)
        _say_warnings()
        return
    host, port = alertlisten.parse_listen(listen, any_address)
    path = token_file or settings.token_file
    if not path:
        raise BadInput("--token-file: required with --listen (or [alertmanager] token_file): a file with the token")
    token = alertlisten.read_token(path)
    desk = obj.desk()
    try:
        server = alertlisten.make_server(desk, host, port, token, settings.max_body)
    except OSError as exc:
        raise BadInput(f"--listen: {listen}: {exc.strerror or exc}") from None
    import signal

    def stopped(_signum, _frame):  # SIGTERM (systemd's stop, kill) as ctrl+c: the server closed, exit 0
        raise KeyboardInterrupt

    bound = server.server_address
    # set before the line that says it listens (a manager that reads that line may stop it at once), and that line
    # said inside the try: a signal that comes between two statements is still caught there, never exit 130
    signal.signal(signal.SIGTERM, stopped)
    try:
        print(f"alertmanager: listening on http://{bound[0]}:{bound[1]}/ (ctrl+c stops)", file=sys.stderr, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.group("db")
def db_group() -> None:
    """Database administration (moving a desk to PostgreSQL)."""


@db_group.command("copy")
@click.option("--from", "source", required=True, metavar="SQLITE_PATH_OR_URL", help="The desk to copy.")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="An empty database, e.g. postgresql+psycopg://deskterm@dbhost/deskterm.",
)
@click.option("--quiet", is_flag=True, help="No progress on stderr (shown only when stderr is a terminal).")
def db_copy(source: str, target: str, quiet: bool) -> None:
    """Copy every table, ids kept, into an empty database (migrated first); counts are verified."""
    from .dbcopy import copy_database

    counts = copy_database(source, target, quiet)
    click.echo("copied " + ", ".join(f"{n} {table}" for table, n in counts.items()))


from .cli_mail import register as _register_mail  # noqa: E402 (the commands need the group above)

_register_mail(cli)


def _inert_line(text: str) -> str:
    """An error line that echoes what was typed or imported (an unknown key, a ticket id) reaches the terminal
    inert: one line, no escape sequence, no bidi override (issue 13 item 23)."""
    from .fmt import one_line

    return one_line(text)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="deskterm", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        where = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            where = f"{exc.ctx.command_path}: "
        print(_inert_line(f"{where or 'deskterm: '}{exc.format_message()}"), file=sys.stderr)
        sys.exit(exc.exit_code)
    except DeskError as exc:
        for line in exc.problems:
            print(_inert_line(line), file=sys.stderr)
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # the reader went away (`deskterm list | head`): quietly, as a pipe's writer does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (nothing left to flush at exit)
        except (OSError, ValueError):
            pass
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
