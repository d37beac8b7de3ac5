"""``deskterm intake alertmanager``: Alertmanager's webhook notifications, from standard input or over HTTP.

The listener is the standard library's ``ThreadingHTTPServer``: it binds loopback unless told otherwise, requires
``Authorization: Bearer <token>`` (the token read from a file, compared in constant time), refuses a body larger
than ``[alertmanager] max_body`` before reading it, and answers:

- 200 with a JSON summary once the notification is recorded (or was already: a repeat changes nothing);
- 400 for a payload that is not a version-4 notification (the reason, one line; Alertmanager does not retry);
- 401 without the right token, 405 for another method than POST, 411 without a length, 413 for a body too large;
- 503 when the desk cannot take it now (busy, unreachable): Alertmanager retries later, so nothing is lost.

Each request is one line on standard error (status, what was done or why it was refused), never the payload.
The takes are serialised in the process (one write transaction at a time), the desk's own locking does the rest.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from .domain.alerts import AlertError, parse_notification
from .errors import BadInput, DeskError

if TYPE_CHECKING:
    from .service import AlertTaken, Desk

READ_TIMEOUT = 10.0  # seconds a client may take to send its request


def read_token(path: str) -> str:
    """The bearer token: the first line of the file (never from the command line)."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BadInput(f"--token-file: {p}: cannot read: {why}") from None
    token = text.splitlines()[0].strip() if text.strip() else ""
    if len(token) < 16:
        raise BadInput(f"--token-file: {p}: the token must be at least 16 characters on its first line")
    return token


def parse_listen(text: str, any_address: bool) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise BadInput(f"--listen: {text!r}: give HOST:PORT, e.g. 127.0.0.1:9099")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise BadInput(f"--listen: {text!r}: HOST must be an IP address") from None
    if not address.is_loopback and not any_address:
        raise BadInput(f"--listen: {host} is not a loopback address; add --any-address to listen there")
    return host, int(port_text)


def summary(taken: list[AlertTaken]) -> str:
    counts = Counter(t.state for t in taken)
    majors = sorted({t.major_id for t in taken if t.major_id is not None})
    text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{len(taken)} alert{'s' if len(taken) != 1 else ''}: {text}" + (
        f"; major incident {', '.join(f'#{m}' for m in majors)}" if majors else ""
    )


def take(desk: Desk, body: bytes, limit: int) -> list[AlertTaken]:
    """One notification's bytes, taken; AlertError or BadInput (one line) when it is refused."""
    if len(body) > limit:
        raise AlertError(f"body: {len(body)} bytes, more than the limit of {limit} ([alertmanager] max_body)")
    return desk.take_alerts(parse_notification(body))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request is written by ``_answer``, never the request line itself

    def _answer(self, code: int, payload: dict, line: str) -> None:
        data = json.dumps(payload).encode()
        # said before it is answered: the lines come in the order of the answers (requests run in threads)
        self.server.say(f"alertmanager: {code} {line}")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if code >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, code: int, why: str) -> None:
        self._answer(code, {"error": why}, f"refused: {why}")

    def do_GET(self) -> None:
        self._refuse(405, "POST the notification")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def do_POST(self) -> None:
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            self._refuse(401, "missing or wrong bearer token")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self._refuse(411, "Content-Length required")
            return
        length = int(length_text)
        if length > self.server.limit:
            self._refuse(413, f"body of {length} bytes, more than the limit of {self.server.limit}")
            return
        try:
            body = self.rfile.read(length)
        except OSError:
            self.close_connection = True
            return
        if len(body) < length:
            self._refuse(400, "body shorter than its Content-Length")
            return
        try:
            with self.server.lock:
                taken = take(self.server.desk, body, self.server.limit)
        except AlertError as exc:
            self._refuse(400, str(exc))
            return
        except DeskError as exc:
            why = "; ".join(exc.problems)
            if isinstance(exc, BadInput) and not why.startswith("--db:"):
                self._refuse(400, why)  # the notification itself (an unknown category, undecodable text)
            else:
                self._refuse(503, f"the desk cannot take it now ({why}); retry")  # busy, lost, a race
            return
        except Exception as exc:  # noqa: BLE001 (a listener answers every request; Alertmanager retries a 503)
            self._refuse(503, f"internal error ({type(exc).__name__}); retry")
            return
        self._answer(
            200,
            {"taken": [{"state": t.state, "ticket": t.ticket_id, "major": t.major_id} for t in taken]},
            summary(taken),
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], desk: Desk, token: str, limit: int, say: Callable[[str], None]
    ) -> None:
        self.address_family = __import__("socket").AF_INET6 if ":" in address[0] else __import__("socket").AF_INET
        super().__init__(address, _Handler)
        self.desk, self.token, self.limit, self.say = desk, token, limit, say
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: tuple) -> None:
        """socketserver's own prints a traceback between two rules of dashes. A client that went away (it read
        its answer and closed, leaving the rest unread: the kernel resets the kept-alive connection) is not a
        request and says nothing; anything else is one line."""
        exc = sys.exception()
        if isinstance(exc, OSError):
            return
        self.say(f"alertmanager: a connection from {client_address[0]} failed: {type(exc).__name__}: {exc}")


def make_server(desk: Desk, host: str, port: int, token: str, limit: int, say: Callable[[str], None] | None = None):
    """The listener, bound (port 0: a free one, ``server.server_address`` tells which); ``serve_forever`` runs it."""
    from .fmt import one_line

    def to_stderr(line: str) -> None:
        print(one_line(line), file=sys.stderr, flush=True)

    return _Server((host, port), desk, token, limit, say or to_stderr)
