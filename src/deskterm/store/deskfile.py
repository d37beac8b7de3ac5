"""Where the desk is and how it is opened, without the store's libraries: the location given (``--db``,
``DESKTERM_DB``, the default file), the retry window of a write, and the checks made on a SQLite desk's files
before any connection touches them. Both ways in use these: the store (``engine.open_store``, SQLAlchemy) and
the plain reads of ``show`` and ``list`` (``plain.py``, the driver alone), so that each rule has one home.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BadInput, CannotConnect

BUSY_TIMEOUT_MS = 10_000  # how long one statement waits for SQLite's lock (at most the retry window)
# what every connection that writes to a SQLite desk sets (WAL mode aside, which the store sets once for all)
WRITE_PRAGMAS = ("foreign_keys=ON", "synchronous=NORMAL")  # (NORMAL: safe in WAL mode, a crash loses no commit)
# how long the command line's plain write (plain_write.py) waits for the desk's write lock (SQLite) or a row's
# (PostgreSQL) before it leaves the change to the store, which keeps trying for the whole retry window
PLAIN_WRITE_WAIT_S = 1.0
RETRY_WINDOW_S = 30.0  # how long a write keeps trying (busy_window: DESKTERM_BUSY_TIMEOUT overrides it)


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("deskterm")) / "deskterm.db"


def db_url(db: str | os.PathLike | None) -> str:
    """``--db`` / ``DESKTERM_DB`` / the platformdirs default, as a SQLAlchemy URL."""
    value = str(db) if db is not None else os.environ.get("DESKTERM_DB") or str(default_db_path())
    if "://" in value:
        for prefix in ("postgres://", "postgresql://"):  # the bare scheme: the driver deskterm ships with
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def new_desk_file(db: str | os.PathLike | None) -> str | None:
    """The file of a SQLite desk that does not exist (yet): opening it creates a new, empty desk there. None for a
    desk that exists, a server's, or one in memory."""
    url = db_url(db)
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    file = url[len("sqlite:///") :]
    return None if file in ("", ":memory:") or os.path.lexists(file) else file


def cannot_connect(where: str, error: BaseException) -> CannotConnect:
    """The one line said when the desk's server cannot be reached (``where``: its URL without the password), from
    the driver's error (its first line); the store and the reads through the driver alone (store/plain.py) say
    the same."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    return CannotConnect(f"--db: cannot connect to {where}: {reason}")


def lost_connection(where: str, reason: str) -> BadInput:
    """The one line said when the connection to the desk's server was lost in the middle of a command (``where``:
    its URL without the password; ``reason``: the driver's error, its first line): the store and the command
    line's writes through the driver alone (store/plain_write.py) say the same."""
    return BadInput(
        f"--db: {where}: lost the connection to the server ({reason}); this command's change,"
        " if any, was not made: try again"
    )


def without_password(url: str) -> str:
    """The URL with its password shown as ``***`` (as SQLAlchemy renders it), for messages; without SQLAlchemy."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparsable URL>"


def busy_window() -> float:
    """How long a write keeps trying to get the desk's write lock before "the desk is busy", in seconds: 30, or
    the ``DESKTERM_BUSY_TIMEOUT`` environment variable (for tests and scripts that would rather fail fast; at
    least 0.1). SQLite's own wait is at most 10 s a try: between tries the writers that starved get a chance."""
    raw = os.environ.get("DESKTERM_BUSY_TIMEOUT", "")
    try:
        return max(float(raw), 0.1) if raw else RETRY_WINDOW_S
    except ValueError:
        return RETRY_WINDOW_S


def on_read_only_mount(file: Path) -> bool:
    try:
        return bool(os.statvfs(file).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def check_desk_files(file: Path) -> None:
    """The desk and the files SQLite keeps beside it are plain files, never links put there by someone else: SQLite
    opens ``-wal``, ``-shm`` and ``-journal`` with O_CREAT and would write through a link to any file of the agent
    running deskterm (issue 13 item 24). The desk itself may be a link the user chose (``--db``), not its companions."""
    import stat

    try:
        st = file.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise BadInput(f"--db: {file}: cannot open the desk: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise BadInput(f"--db: {file}: not a deskterm desk (not a regular file)")
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(f"{file}{suffix}")
        try:
            cst = companion.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(cst.st_mode) or not stat.S_ISREG(cst.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(cst.st_mode) else "not a regular file"
            raise BadInput(
                f"--db: {companion}: {what}, refused (SQLite would write through it); remove it,"
                " then open the desk again"
            )


@contextmanager
def new_desk_aside(db: str | os.PathLike | None) -> Iterator[str | None]:
    """A new SQLite desk made where nobody opens it, and put in its place only when done (an import into a desk
    that does not exist yet: it is created only for a file found good, and the file is read once).

    Yields None when ``db`` is not a SQLite file that is missing (a desk that exists, PostgreSQL, memory);
    otherwise the path of a hidden file beside it, to be opened and filled as the desk. When the block ends
    normally, every connection to that file closed, the file becomes the desk (a hard link: never over a desk
    that someone created meanwhile, which is an error); when it raises, the file is deleted.
    """
    url = db_url(db)
    path = url.split(":///", 1)[1].split("?", 1)[0] if url.startswith("sqlite") and ":///" in url else ""
    if path in ("", ":memory:") or os.path.lexists(path):
        yield None
        return
    target = Path(path)
    aside = target.with_name(f".{target.name}.importing-{os.getpid()}-{secrets.token_hex(4)}")
    missing = [d for d in target.parents if not d.exists()]  # made for the desk: removed again if it fails
    done = False
    try:
        yield str(aside)
        _fold_wal(aside)
        try:
            os.link(aside, target)
        except FileExistsError:
            raise BadInput(f"--db: {target}: created by someone else meanwhile: nothing was imported") from None
        except OSError as exc:
            raise BadInput(f"--db: {target}: cannot create the desk: {exc.strerror or exc}") from None
        done = True
    except BadInput as exc:  # (opening the file aside: its problem is the desk's, named as the user gave it)
        raise BadInput([p.replace(str(aside), str(target)) for p in exc.problems]) from None
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):  # (not there; or its directory is not one: nothing was made)
                os.unlink(f"{aside}{suffix}")
        for directory in missing if not done else ():
            with contextlib.suppress(OSError):  # (not empty: someone else's now)
                directory.rmdir()


def _fold_wal(file: Path) -> None:
    """Write a closed desk's write-ahead log into the file itself (SQLite does it when the last connection
    closes; this makes sure), so that the file alone is the whole desk."""
    import sqlite3

    if not Path(f"{file}-wal").exists():
        return
    con = sqlite3.connect(file)
    try:
        busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        con.close()
    if busy or (Path(f"{file}-wal").exists() and Path(f"{file}-wal").stat().st_size):
        raise BadInput(f"--db: {file}: still open elsewhere: nothing was imported")


def lock_timeout_sql(seconds: float) -> str:
    """PostgreSQL: a lock held by a stuck session (a psql left in BEGIN) ends the wait after ``seconds`` (then
    "the desk is busy", or the store's retries), not a command, a cron job or a screen that waits for ever."""
    return f"SET lock_timeout = {int(seconds * 1000)}"
