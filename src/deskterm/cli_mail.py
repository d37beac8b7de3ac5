"""``deskterm mail send|fetch|status`` and ``deskterm attachment get`` (issue 16; README "Mail").

Credentials come from the configuration's ``password_file`` or the environment, never from an option."""

from __future__ import annotations

import signal
import sys
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .cli import Context
    from .mail.fetch import ImapSession


class _Stop:
    """SIGTERM (systemd stopping the unit) ends a --watch loop between two rounds."""

    def __init__(self) -> None:
        self.stopped = False
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, *_args) -> None:
        self.stopped = True

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopped and time.monotonic() < end:
            time.sleep(min(0.2, end - time.monotonic()))


@click.group("mail")
def mail_group() -> None:
    """Customer e-mail: deliver the outbox by SMTP, take messages from a Maildir or IMAP."""


def _say(text: str) -> None:
    click.echo(text)
    sys.stdout.flush()


def _send_round(obj: Context) -> int:
    from .fmt import one_line
    from .mail.deliver import deliver

    out = deliver(obj.desk())
    for line in out.problems:
        print(one_line(line), file=sys.stderr)
    if out.sent or out.retrying or out.failed:
        _say(f"sent {out.sent}, to retry {out.retrying}, failed {out.failed}")
    return out.failed


@mail_group.command("send")
@click.option("--watch", is_flag=True, help="Keep delivering (every few seconds) until stopped.")
@click.option("--every", type=click.FloatRange(0.2, 3600), default=5, show_default=True, help="Seconds between rounds.")
@click.pass_obj
def mail_send(obj: Context, watch: bool, every: float) -> int:
    """Deliver the queued replies by SMTP; a failed one is retried with back-off, then marked failed."""
    if not watch:
        return 1 if _send_round(obj) else 0
    stop = _Stop()
    while not stop.stopped:
        _send_round(obj)
        stop.sleep(every)
    return 0


@mail_group.command("status")
@click.pass_obj
def mail_status(obj: Context) -> None:
    """How many messages of the outbox are queued, being sent, sent and failed."""
    from .mail import outbox

    desk = obj.desk()
    with desk.store.read() as session:
        counts = outbox.counts(session)
    _say(", ".join(f"{counts.get(s, 0)} {s}" for s in outbox.STATES))


@mail_group.command("retry")
@click.argument("ticket")
@click.pass_obj
def mail_retry(obj: Context, ticket: str) -> None:
    """Queue the failed messages of TICKET again."""
    n = obj.desk().mail_retry(ticket)
    _say(f"{n} message{'s' if n != 1 else ''} queued again")


def _sources(obj: Context, maildir: str | None, imap: bool) -> tuple[str, bool]:
    """What a fetch reads: the Maildir (the option's, else the configuration's) and/or the IMAP mailbox."""
    from .errors import BadInput

    mail = obj.desk().config.mail
    if mail is None:
        raise BadInput("mail: no [mail] section in the configuration")
    maildir = maildir or (mail.maildir if not imap else "")
    use_imap = imap or (not maildir and mail.imap is not None)
    if not maildir and not use_imap:
        raise BadInput("mail: nothing to fetch from: set mail.maildir or [mail.imap], or give --maildir")
    if use_imap and mail.imap is None:
        raise BadInput("mail.imap: not configured (host, port, security, username, password_file)")
    return maildir, use_imap


def _fetch_round(obj: Context, maildir: str | None, imap: bool, session: ImapSession | None = None) -> int:
    """One fetch: ``session`` is the IMAP connection --watch keeps (None: one made for this fetch)."""
    from collections import Counter

    from .mail.fetch import fetch_imap, fetch_maildir

    desk = obj.desk()
    path, use_imap = _sources(obj, maildir, imap)
    out: Counter[str] = Counter()
    if path:
        out.update(fetch_maildir(desk, path))
    if use_imap:
        assert desk.config.mail is not None and desk.config.mail.imap is not None
        out.update(session.fetch(desk) if session is not None else fetch_imap(desk, desk.config.mail.imap))
    if sum(out.values()):
        parts = [f"{out[k]} {one if out[k] == 1 else many}" for k, (one, many) in _LABELS.items() if out[k]]
        parts += [f"{n} {k}" for k, n in out.items() if n and k not in _LABELS]  # (a state not named below)
        _say(f"took {sum(out.values())} message{'s' if sum(out.values()) != 1 else ''}: {', '.join(parts)}")
    return out["quarantined"]


_LABELS = {  # what became of the messages a fetch took (``MailTaken.state``): said for one, for several
    "ticket": ("new ticket", "new tickets"),
    "added": ("added to its ticket", "added to their tickets"),
    "survey": ("survey answer recorded", "survey answers recorded"),
    "flood": ("added to a flooding sender's ticket", "added to a flooding sender's ticket"),
    "duplicate": ("already taken", "already taken"),
    "quarantined": ("quarantined (deskterm mail quarantined lists them)",) * 2,
    "unreadable": ("unreadable", "unreadable"),
}


@mail_group.command("fetch")
@click.option("--maildir", metavar="DIR", help="Read this Maildir (default: mail.maildir of the configuration).")
@click.option("--imap", is_flag=True, help="Read the IMAP mailbox of [mail.imap] (the default when no Maildir is set).")
@click.option("--watch", is_flag=True, help="Keep fetching (every mail.poll) and delivering the outbox until stopped.")
@click.pass_obj
def mail_fetch(obj: Context, maildir: str | None, imap: bool, watch: bool) -> int:
    """Take new customer messages into tickets; with --watch, also deliver the outbox (one process for both)."""
    if not watch:
        _fetch_round(obj, maildir, imap)
        return 0
    from .errors import BadInput
    from .fmt import one_line
    from .mail.fetch import ImapSession

    stop = _Stop()
    desk = obj.desk()
    poll = desk.config.mail.poll if desk.config.mail else 60
    _path, use_imap = _sources(obj, maildir, imap)
    imap_server = desk.config.mail.imap if desk.config.mail else None
    # one IMAP connection kept between rounds: between them it waits with IDLE when the server offers it (a new
    # message is taken at once), else it sleeps for mail.poll; the outbox is delivered after each round
    session = ImapSession(imap_server) if use_imap and imap_server is not None else None

    def said(exc: BadInput) -> None:  # a server away for a while: said, tried again next round
        for line in exc.problems:
            print(one_line(line), file=sys.stderr)

    try:
        while not stop.stopped:
            for work in (lambda: _fetch_round(obj, maildir, imap, session), lambda: _send_round(obj)):
                try:
                    work()
                except BadInput as exc:
                    said(exc)
            if session is None:
                stop.sleep(poll)
                continue
            try:
                session.wait(poll, lambda: stop.stopped)
            except BadInput as exc:  # the connection was lost while idling: the next round opens another
                said(exc)
    finally:
        if session is not None:
            session.close()
    return 0


@mail_group.command("quarantined")
@click.pass_obj
def mail_quarantined(obj: Context) -> None:
    """The messages set aside, with the reason (their bytes are kept in <desk>.files/quarantine/)."""
    from .fmt import local, one_line

    desk = obj.desk()
    for row in desk.quarantined():
        when = local(row.taken_at, desk.config.tz)
        _say(one_line(f"{row.id}  {when}  {row.from_addr or '?'}  {row.reason}  {row.raw_sha256 or ''}"))


@click.group("attachment")
def attachment_group() -> None:
    """The files that came with customers' messages."""


@attachment_group.command("list")
@click.argument("ticket")
@click.pass_obj
def attachment_list(obj: Context, ticket: str) -> None:
    """The attachments of TICKET: number, size, type, name."""
    from .fmt import one_line
    from .mail.files import human_size

    for a in obj.desk().attachments(ticket):
        _say(one_line(f"{a.n}  {human_size(a.size)}  {a.content_type}  {a.name}"))


@attachment_group.command("get")
@click.argument("ticket")
@click.argument("n", type=click.IntRange(1))
@click.option("-o", "--output", "output", required=True, metavar="FILE", help="Where to write it (- for stdout).")
@click.pass_obj
def attachment_get(obj: Context, ticket: str, n: int, output: str) -> None:
    """Write attachment N of TICKET to FILE (a new file: an existing one is never overwritten)."""
    import os

    from .errors import BadInput
    from .mail import files
    from .safefile import NOFOLLOW

    desk = obj.desk()
    mail = desk.config.mail
    found = [a for a in desk.attachments(ticket) if a.n == n]
    if not found:
        raise BadInput(f"attachment {ticket} {n}: no such attachment")
    root = files.files_dir(desk.store.path, mail.attachments_dir if mail else "")
    data = files.get(root, found[0].sha256)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    except FileExistsError:
        raise BadInput(f"-o: {output}: exists; give a new file name") from None
    except OSError as exc:
        raise BadInput(f"-o: {output}: cannot create: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        os.unlink(output)
        raise BadInput(f"-o: {output}: cannot write: {exc.strerror}") from None
    _say(f"{output}: {files.human_size(len(data))}")


def register(cli: click.Group) -> None:
    cli.add_command(mail_group)
    cli.add_command(attachment_group)
