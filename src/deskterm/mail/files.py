"""Attachments and quarantined messages on disk, beside the desk, stored by content (SHA-256).

``<desk>.files/ab/abcdef…`` holds each distinct content once, mode 0640 (the agents of the desk's group read
it; the process that wrote it owns it), in directories of mode 0770 like the desk's. A file is written under a
fresh name created with O_EXCL|O_NOFOLLOW, then linked to its final name (``safefile.publish``): a name
someone planted is never written through, and a content already stored is not written again. Quarantined
messages are kept whole in ``quarantine/`` the same way. Files are written before the transaction that
records them: a fetcher killed in between leaves an unreferenced file, never a reference without its file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import BadInput
from ..safefile import NOFOLLOW, set_mode

FILE_MODE = 0o640
DIR_MODE = 0o770


def files_dir(db_path: str | None, configured: str) -> Path:
    """Where the files of a desk live: ``[mail] attachments_dir``, else beside the SQLite desk."""
    if configured:
        return Path(configured).expanduser()
    if db_path is None:
        raise BadInput("mail.attachments_dir: required with a PostgreSQL desk (a directory the agents share)")
    return Path(db_path + ".files")


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return
    set_mode(path, DIR_MODE)


def path_of(root: Path, sha: str, sub: str = "") -> Path:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise BadInput(f"attachment: {sha!r} is not a stored file's name")
    return (root / sub / sha[:2] / sha) if sub else (root / sha[:2] / sha)


def put(root: Path, data: bytes, sub: str = "") -> str:
    """Store ``data`` once; its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    target = path_of(root, sha, sub)
    if target.exists():
        return sha
    root.parent.mkdir(parents=True, exist_ok=True)
    _mkdir(root)
    if sub:
        _mkdir(root / sub)
    _mkdir(target.parent)
    tmp = target.parent / f".{sha}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target, follow_symlinks=False)
        except FileExistsError:  # another fetcher stored the same content meanwhile (or a name was planted)
            if target.is_symlink() or not target.is_file():
                raise BadInput(f"{target}: not a file deskterm stored; remove it") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return sha


def get(root: Path, sha: str, sub: str = "") -> bytes:
    path = path_of(root, sha, sub)
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the stored file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != sha:
        raise BadInput(f"{path}: the stored file is damaged (its content changed)")
    return data


def human_size(n: int) -> str:
    for unit, size in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
