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


def register(cli: click.Group) -> None:
    cli.add_command(mail_group)
