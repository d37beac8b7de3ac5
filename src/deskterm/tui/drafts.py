"""Unsent replies and notes, kept on disk while they are typed: a crash, a dropped SSH session or a quit loses none.

Each desk (its SQLite file's real path, or its server URL without the password) has a directory under
``platformdirs.user_state_dir("deskterm")/drafts/``, named by a hash of that identity; each draft is one small
JSON file in it, ``<ticket>.<reply|note>.json``. The app offers them again at the next start: the queue says how
many there are, and the ticket screen takes a ticket's drafts back when the agent opens it. A draft's file is
deleted once it is sent or discarded (an empty draft is no draft).

A keystroke never waits on the disk: ``put`` records the text in memory and wakes a writer thread, which writes
once the typing has paused for ``DEBOUNCE`` seconds (at the latest every ``AT_MOST`` seconds while it goes on).
``flush`` writes what is pending at once (the app calls it when it stops, crash or not).

The files are the user's own: the directory is made 0700 and must be a real directory (not a link), every
file is opened relative to it with ``O_NOFOLLOW``, written whole under a fresh temporary name (``O_EXCL``,
mode 0600) and renamed into place, so a planted link is never followed and a reader never sees half a draft.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

KINDS = ("reply", "note", "new")  # new: the new-ticket form's fields (ticket 0, screens/new_ticket.py)
DEBOUNCE = 0.4  # seconds of quiet typing before a draft is written
AT_MOST = 2.0  # seconds a draft waits at most while the typing goes on
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def drafts_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("deskterm")) / "drafts"


def desk_identity(store) -> str:
    """What names a desk for its drafts: the database file's real path, else the URL without its password."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return "sqlite:" + os.path.realpath(url.database)
    return url.render_as_string(hide_password=True)


def _file_name(ticket: int, kind: str) -> str:
    return f"{int(ticket)}.{kind}.json"


class Drafts:
    """The drafts of one desk: ``get``/``put`` by (ticket id, kind), in memory; files written behind."""

    def __init__(self, directory: Path, identity: str = "") -> None:
        self.directory = Path(directory)
        self.identity = identity
        self.problem: str | None = None  # why the drafts cannot be kept on disk (said once, by the app)
        self._texts: dict[tuple[int, str], str] = {}
        # (version, newest event id) of the ticket when each draft began: sent with that version (screens/stale.py)
        self._begun: dict[tuple[int, str], tuple[int, int]] = {}
        self._pending: set[tuple[int, str]] = set()
        self._lock = threading.Lock()  # _texts, _pending, _last_put
        self._io = threading.Lock()  # one batch of writes at a time, in the order the batches were taken
        self._wake = threading.Condition(self._lock)
        self._last_put = 0.0
        self._first_pending = 0.0
        self._writer: threading.Thread | None = None
        self._closed = False

    @classmethod
    def for_desk(cls, identity: str, root: Path | None = None) -> Drafts:
        """The drafts of the desk named ``identity``, read from disk (call it off the event loop)."""
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        drafts = cls((root or drafts_root()) / digest, identity)
        drafts.load()
        return drafts

    # -- in memory ---------------------------------------------------------------------------------

    def get(self, ticket: int, kind: str) -> str:
        with self._lock:
            return self._texts.get((int(ticket), kind), "")

    def put(self, ticket: int, kind: str, text: str) -> None:
        """Keep ``text`` as the draft (an empty or blank text deletes it); written to disk shortly after."""
        if kind not in KINDS:
            raise ValueError(f"draft kind {kind!r}")
        key = (int(ticket), kind)
        with self._lock:
            if self._texts.get(key, "") == text:
                return
            if text.strip():
                self._texts[key] = text
            else:
                self._texts.pop(key, None)
                self._begun.pop(key, None)
            if not self._to_write(key):
                return
        self._start_writer()

    def begin(self, ticket: int, kind: str, version: int, last_event: int) -> None:
        """The ticket as the draft began on it (its version and newest event id): kept with its text, so that a
        draft taken back after a restart is still sent with the version it began on."""
        key = (int(ticket), kind)
        with self._lock:
            if self._begun.get(key) == (version, last_event):
                return
            self._begun[key] = (int(version), int(last_event))
            if key not in self._texts or not self._to_write(key):  # no text: written with it, once there is one
                return
        self._start_writer()

    def begun(self, ticket: int, kind: str) -> tuple[int, int] | None:
        """(version, newest event id) of the ticket when the draft began, if known."""
        with self._lock:
            return self._begun.get((int(ticket), kind))

    def _to_write(self, key: tuple[int, str]) -> bool:
        """With the lock held: ``key`` is to be written; whether the writer is to be started."""
        now = time.monotonic()
        if not self._pending:
            self._first_pending = now
        self._pending.add(key)
        self._last_put = now
        if self._closed:
            return False
        self._wake.notify()
        return True

    def unsent(self) -> list[tuple[int, str]]:
        """(ticket, kind) of every draft that is not empty, by ticket."""
        with self._lock:
            return sorted(k for k, v in self._texts.items() if v.strip())

    def count(self) -> int:
        return len(self.unsent())

    # -- on disk -----------------------------------------------------------------------------------

    def _open_dir(self, create: bool) -> int | None:
        """A descriptor of the drafts directory (made 0700 when missing); None when it is absent or unusable."""
        if create:
            try:
                self.directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.mkdir(self.directory, 0o700)
            except FileExistsError:
                pass
        try:
            fd = os.open(self.directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem = f"{self.directory}: {exc.strerror or exc} (drafts are not kept on disk)"
            return None
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            os.close(fd)
            self.problem = f"{self.directory}: not a directory of yours (drafts are not kept on disk)"
            return None
        return fd

    def load(self) -> None:
        """Read every draft of this desk from disk (damaged or foreign files are left aside)."""
        fd = self._open_dir(create=False)
        if fd is None:
            return
        found: dict[tuple[int, str], tuple[str, tuple[int, int] | None]] = {}
        try:
            for name in os.listdir(fd):
                parts = name.split(".")
                if len(parts) != 3 or parts[2] != "json" or not parts[0].isdigit() or parts[1] not in KINDS:
                    continue
                text, begun = self._read(fd, name)
                if text is not None and text.strip():
                    found[(int(parts[0]), parts[1])] = (text, begun)
        finally:
            os.close(fd)
        with self._lock:
            for key, (text, begun) in found.items():
                if key not in self._texts and begun is not None:
                    self._begun.setdefault(key, begun)
                self._texts.setdefault(key, text)

    @staticmethod
    def _read(dir_fd: int, name: str) -> tuple[str | None, tuple[int, int] | None]:
        """The text of a draft file and (version, newest event id) of the ticket when the draft began."""
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return None, None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, None
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = json.loads(fh.read(4_000_000).decode("utf-8"))
        except (OSError, ValueError):
            return None, None
        finally:
            os.close(fd)
        if not isinstance(data, dict):
            return None, None
        text, version, last = data.get("text"), data.get("version"), data.get("last_event")
        begun = None
        if type(version) is int and type(last) is int and version >= 0 and last >= 0:
            begun = (version, last)
        return (text if isinstance(text, str) else None), begun

    def flush(self) -> None:
        """Write every pending draft now (in the caller's thread)."""
        with self._io:
            with self._lock:
                batch = {key: self._texts.get(key, "") for key in self._pending}
                begun = {key: self._begun.get(key) for key in batch}
                self._pending.clear()
            if batch:
                self._write_batch(batch, begun)

    def _write_batch(self, batch: dict[tuple[int, str], str], begun: dict | None = None) -> None:
        fd = self._open_dir(create=any(text.strip() for text in batch.values()))
        if fd is None:
            return
        try:
            for (ticket, kind), text in batch.items():
                name = _file_name(ticket, kind)
                try:
                    if text.strip():
                        self._write_file(fd, name, ticket, kind, text, (begun or {}).get((ticket, kind)))
                    else:
                        os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    self.problem = f"{self.directory / name}: {exc.strerror or exc} (the draft is not kept on disk)"
        finally:
            os.close(fd)

    def _write_file(
        self, dir_fd: int, name: str, ticket: int, kind: str, text: str, begun: tuple[int, int] | None = None
    ) -> None:
        fields: dict[str, object] = {
            "desk": self.identity,
            "ticket": ticket,
            "kind": kind,
            "text": text,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if begun is not None:
            fields["version"], fields["last_event"] = begun
        body = json.dumps(fields, ensure_ascii=False)
        tmp = f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            try:
                data = body.encode("utf-8")
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # a link named like the draft is replaced
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise

    # -- the writer thread -------------------------------------------------------------------------

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is not None or self._closed:
                return
            self._writer = threading.Thread(target=self._write_behind, name="deskterm drafts", daemon=True)
        self._writer.start()

    def _write_behind(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                # wait for a pause in the typing (or AT_MOST since the first unwritten change)
                while not self._closed:
                    now = time.monotonic()
                    due = min(self._last_put + DEBOUNCE, self._first_pending + AT_MOST)
                    if now >= due:
                        break
                    self._wake.wait(due - now)
                if self._closed:
                    return
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - a full disk must not end the writer
                self.problem = f"{self.directory}: {exc} (drafts are not kept on disk)"

    def close(self) -> None:
        """Stop the writer and write what is pending (idempotent)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=5)
        self.flush()
