"""Creating files where others may plant links (issue 13 item 24).

The desk's directory is shared by the agents of a host through its group (mode 0770), so any member can put
a name in it before deskterm does: a symbolic link ``deskterm.db.bak-0004 -> ~victim/.ssh/authorized_keys``
would make the next agent who upgrades the desk overwrite (and chmod) a file of theirs if deskterm opened
that name with ``O_CREAT`` and no more. Here nothing opens an existing name for writing:

- ``write_atomic`` writes a whole file under a fresh temporary name (``O_EXCL``: created by us, never a link)
  and renames it over the destination (a rename replaces a planted link itself, never what it points to);
- ``private_dir`` makes a directory only this user can enter, for work files that another program (SQLite)
  opens by name;
- ``publish`` gives such a file its final name without replacing anything: ``link`` fails when the name
  exists, whatever it is, so a planted name is skipped for the next free one.

Modes are set with ``fchmod`` on a descriptor of the file we created, never by name (``chmod`` follows links).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """``path`` holds ``data`` whole, or is untouched (an OSError is raised); never written through a link."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # whatever the umask
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def private_dir(beside: Path) -> Iterator[Path]:
    """A fresh directory in ``beside``'s directory (same file system, so ``publish`` can link from it), mode
    0700 and ours (``mkdtemp`` never reuses a name), removed with all it holds at the end."""
    where = Path(tempfile.mkdtemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent))
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


def set_mode(path: Path, mode: int) -> None:
    """``chmod`` of a file we just made, refusing to follow a link put in its place meanwhile."""
    fd = os.open(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def publish(tmp: Path, names: Iterable[Path]) -> Path:
    """Give ``tmp`` the first of ``names`` that does not exist (as anything, a dangling link included); the
    name it got. Raises FileExistsError when every name is taken."""
    for name in names:
        try:
            os.link(tmp, name, follow_symlinks=False)
        except FileExistsError:
            continue
        return name
    raise FileExistsError(f"{tmp}: every name is taken")
