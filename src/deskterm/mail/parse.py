"""Reading one customer message: its identity, sender, subject, text and attachments, or why it is set aside.

Everything here is untrusted. Headers are decoded by the standard library's ``email`` package (RFC 2047 words,
charsets); a body in an unknown or wrong charset is decoded with replacement characters, never refused; HTML
becomes text with Beautiful Soup (scripts, styles and images dropped: a tracking image is never fetched).
What cannot be read safely is quarantined with a reason: a message over the size limit, a multipart without its
boundary, parts nested too deep, an attachment over the limit, a sender that is no address or holds control
characters, a subject holding a line break (header injection)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email import message_from_bytes, policy
from email.header import Header, decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parseaddr

from ..domain import mail as rules
from ..fmt import one_line

MAX_DEPTH = 8  # multiparts nested deeper than this are no customer's message
MAX_PARTS = 200
_MSGID = re.compile(r"<[^<>\s]{1,500}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_FATAL_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
)


class Quarantine(Exception):
    """The message cannot be taken: ``reason`` says why (kept with the raw message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Part:
    name: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str
    sender: str  # the address alone, lower case
    sender_name: str
    subject: str
    text: str
    references: list[str] = field(default_factory=list)  # In-Reply-To first, then References, newest first
    automatic: str | None = None  # why it is an auto-reply or bulk mail
    attachments: list[Part] = field(default_factory=list)


def fallback_id(raw: bytes) -> str:
    """A message without a (valid) Message-ID is known by its content: the same bytes are taken once."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@deskterm.invalid>"


def parse(raw: bytes, max_message: int, max_attachment: int) -> Parsed:
    if len(raw) > max_message:
        raise Quarantine(f"message of {len(raw)} bytes, over max_message ({max_message})")
    try:
        # compat32 parses several times faster than policy.default's header objects; the few headers read are
        # decoded here (RFC 2047 words, charsets), the bodies by their declared charset
        msg = message_from_bytes(raw, policy=policy.compat32)
        return _parse(msg, raw, max_attachment)
    except Quarantine:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed header or part the library chokes on
        raise Quarantine(f"unreadable message: {one_line(type(exc).__name__ + ': ' + str(exc), 200)}") from None


def _decoded(value: object, name: str) -> str:
    """A header's text: unfolded, its encoded words decoded, undecodable bytes as replacement characters. A line
    break left after unfolding came from an encoded word (``=?utf-8?q?a=0D=0ABcc:?=``): an injection."""
    if value is None:
        return ""
    if isinstance(value, Header):
        value = str(value)
    text = _FOLD.sub(" ", str(value))
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, IndexError, TypeError, LookupError, UnicodeError, email_errors.HeaderParseError):
        raise Quarantine(f"{name}: not a readable header") from None


def _header(msg: Message, name: str) -> str:
    return _decoded(msg.get(name), name)


def _parse(msg: Message, raw: bytes, max_attachment: int) -> Parsed:
    _check_structure(msg, 0, [0])
    found = _MSGID.search(_header(msg, "Message-ID"))
    message_id = found.group(0) if found else fallback_id(raw)

    from_header = _header(msg, "From")
    if _CONTROL.search(from_header):
        raise Quarantine("From: holds control characters")
    name, addr = parseaddr(from_header)
    if not addr or "@" not in addr or _CONTROL.search(addr) or len(addr) > 254 or " " in addr:
        raise Quarantine(f"From: {one_line(from_header, 80)!r} is no mail address")
    subject = _header(msg, "Subject")
    if "\r" in subject or "\n" in subject:
        raise Quarantine("Subject: holds a line break (header injection)")
    refs: list[str] = []
    for header in ("In-Reply-To", "References"):
        ids = _MSGID.findall(_header(msg, header))
        refs.extend(reversed(ids) if header == "References" else ids)
    headers = {
        h: _header(msg, h)
        for h in ("Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe")
    }
    text, attachments = _body(msg, max_attachment)
    return Parsed(
        message_id=message_id,
        sender=addr.lower(),
        sender_name=one_line(name, 120),
        subject=one_line(subject, 500).strip() or "(no subject)",
        text=text,
        references=list(dict.fromkeys(refs))[:50],
        automatic=rules.automatic(headers, addr),
        attachments=attachments,
    )


def _check_structure(part: Message, depth: int, count: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise Quarantine(f"multiparts nested more than {MAX_DEPTH} deep")
    count[0] += 1
    if count[0] > MAX_PARTS:
        raise Quarantine(f"more than {MAX_PARTS} parts")
    for defect in part.defects:
        if isinstance(defect, _FATAL_DEFECTS):
            raise Quarantine(f"malformed MIME: {type(defect).__name__}")
    if part.is_multipart():
        payload = part.get_payload()
        if not isinstance(payload, list):
            raise Quarantine("malformed MIME: a multipart without parts")
        for sub in payload:
            if not isinstance(sub, Message):
                raise Quarantine("malformed MIME: a part that is no message part")
            _check_structure(sub, depth + 1, count)


def _decode(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError):
        pass  # an unknown or wrong charset: decoded by hand below
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


_BLOCKS = [
    "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote",
    "pre", "hr", "section", "article", "header", "footer", "address", "dd", "dt",
]  # fmt: skip


def html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "img", "iframe", "object", "embed", "noscript", "template"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):  # a line of its own; inline tags (b, a, span) stay within the line
        block.insert_before("\n")
        block.insert_after("\n")
    text = soup.get_text()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _filename(part: Message, n: int) -> str:
    try:
        name = _decoded(part.get_filename(), "filename")
    except (ValueError, LookupError, IndexError, Quarantine):
        name = ""
    name = one_line(name.replace("\\", "/").rsplit("/", 1)[-1], 120).strip(". ")
    return name or f"attachment-{n}"


def _body(msg: Message, max_attachment: int) -> tuple[str, list[Part]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Part] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (ctype not in ("text/plain", "text/html") and ctype != "message/rfc822"):
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                data = b""
            name = _filename(part, len(attachments) + 1)
            if len(data) > max_attachment:
                raise Quarantine(f"attachment {name!r} of {len(data)} bytes, over max_attachment ({max_attachment})")
            attachments.append(Part(name, one_line(ctype, 100), data))
        elif ctype == "text/html":
            html.append(_decode(part))
        elif ctype == "text/plain":
            plain.append(_decode(part))
    if plain:
        text = "\n\n".join(p.strip() for p in plain)
    else:
        text = "\n\n".join(html_to_text(h) for h in html)
    return text.replace("\r\n", "\n").strip() or "(no text)", attachments
