"""Mail throughput (issue 16): messages taken per second from a Maildir of 10,000 messages (goal >= 200/s) and from
the IMAP test server (Dovecot over TLS, as the tests start it: needs root and dovecot-imapd), and the outbox's
delivery rate to the test SMTP server (aiosmtpd on loopback).

    python benchmarks/mail.py [--messages 10000] [--imap 1000] [--outbox 1000] [--db PATH_OR_URL]

Each message is a new ticket from its own sender (one in ten with a 20 kB attachment, one in ten an answer to an
earlier one's thread), taken by batches of 100 in one transaction each, as ``deskterm mail fetch`` does. Prints the
machine's load average before and after (every figure depends on it), and messages per CPU second of the process.
To compare with an earlier version in the same run: ``PYTHONPATH=<its checkout>/src python benchmarks/mail.py``.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "mail"))

CONFIG = """
[mail]
from = "Service desk <desk@desk.example>"
attachments_dir = "{files}"
flood = {{ messages = 1000000, within = "1h" }}

[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
"""


def message(i: int) -> bytes:
    m = EmailMessage()
    answer = i % 10 == 5 and i >= 10  # the sender of message i - 5 writes again on its thread
    sender = i - 5 if answer else i
    m["From"] = f"User {sender} <user{sender}@customer{sender % 50}.example>"
    m["To"] = "desk@desk.example"
    m["Subject"] = f"Problem number {i}"
    m["Message-ID"] = f"<bench{i}@customer{i % 50}.example>"
    if answer:
        m["In-Reply-To"] = f"<bench{i - 5}@customer{(i - 5) % 50}.example>"
    m.set_content(f"Hello,\n\nsomething is wrong with item {i}.\n\nRegards,\nUser {i}\n")
    if i % 10 == 0:
        m.add_attachment(
            bytes([i % 256]) * 20_000, maintype="application", subtype="octet-stream", filename=f"log{i}.bin"
        )
    return bytes(m)


def desk_for(db: str, config_path: Path):
    from deskterm.config import load_config
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    return Desk(open_store(db), load_config(config_path), user="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--imap", type=int, default=1_000, help="messages through IMAP (0: skip)")
    parser.add_argument("--outbox", type=int, default=1_000, help="replies delivered by SMTP (0: skip)")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a new SQLite file)")
    args = parser.parse_args()

    from mailservers import start_dovecot, start_smtp, stop_dovecot

    from deskterm.mail.deliver import deliver
    from deskterm.mail.fetch import fetch_imap, fetch_maildir
    from deskterm.service import Change

    sink, controller = start_smtp()
    work = Path(tempfile.mkdtemp(prefix="deskterm-mail-bench-"))
    config_path = work / "deskterm.toml"
    config_path.write_text(CONFIG.format(files=work / "files", port=sink.port))
    db = args.db or str(work / "desk.db")
    desk = desk_for(db, config_path)

    box = mailbox.Maildir(work / "Maildir", create=True)
    t0 = time.perf_counter()
    for i in range(args.messages):
        box.add(message(i))
    print(f"wrote {args.messages} messages to a Maildir in {time.perf_counter() - t0:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    t0, c0 = time.perf_counter(), time.process_time()
    out = fetch_maildir(desk, str(work / "Maildir"))
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(out.values())
    print(
        f"Maildir: {n} messages in {took:.1f} s: {n / took:.0f} messages/s ({n / cpu:.0f} per CPU second) {dict(out)}"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")

    if args.imap:
        try:
            imap, proc = start_dovecot()
        except RuntimeError as exc:
            print(f"IMAP: skipped ({exc})")
        else:
            try:
                more = config_path.read_text() + imap.config()
                config_path.write_text(more)
                desk = desk_for(db, config_path)
                imap.append(*[message(args.messages + i) for i in range(args.imap)])
                t0 = time.perf_counter()
                out = fetch_imap(desk, desk.config.mail.imap)
                took = time.perf_counter() - t0
                n = sum(out.values())
                print(f"IMAP (TLS): {n} messages in {took:.1f} s: {n / took:.0f} messages/s")
            finally:
                stop_dovecot(imap, proc)

    if args.outbox:
        ids = [t.id for t in desk.tickets()][: args.outbox]
        for tid in ids:
            desk.update(tid, Change(reply=f"Looking into it ({tid})."))
        t0 = time.perf_counter()
        result = deliver(desk)
        took = time.perf_counter() - t0
        print(
            f"outbox: {result.sent} replies delivered in {took:.1f} s: {result.sent / took:.0f} messages/s "
            f"(server received {len(sink.messages)})"
        )
    controller.stop()


if __name__ == "__main__":
    main()
