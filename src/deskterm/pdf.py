"""The customer's monthly report as PDF (issue 18): its HTML printed by a headless Chromium.

No Python PDF library is needed: the HTML report is self-contained and prints well (``@media print``), and the
browser that already renders it in the tests prints it. The page is written to a private work directory beside
the output (mode 0700, same file system), the browser prints it there with a profile of its own, and the PDF is
checked (it starts with ``%PDF-``) and only then given its name: ``write_atomic`` writes a temporary file and
renames it, so ``--output`` holds a whole PDF or what it held before, never half of one, and a link planted at
that name is replaced, never followed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import BadInput, Refused
from .safefile import NOFOLLOW, private_dir, write_atomic

BROWSERS = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
TIMEOUT = 120  # seconds: a report of a few pages prints in one or two


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(page: str, output: Path, timeout: float = TIMEOUT) -> int:
    """Print the HTML ``page`` to the PDF file ``output``; the PDF's size in bytes.

    Bad input (exit 2, nothing written): no Chromium on PATH, an output that is a directory or whose directory
    does not exist. The browser failing or taking longer than ``timeout`` is refused (exit 1), nothing written.
    """
    browser = find_browser()
    if browser is None:
        raise BadInput(
            "--format pdf: no headless Chromium found (chromium or chromium-browser on PATH; "
            "apt install chromium): write --format html and print it from a browser instead"
        )
    output = Path(output)
    if output.is_dir():
        raise BadInput(f"--output: {output}: is a directory")
    if not output.parent.is_dir():
        raise BadInput(f"--output: {output.parent}: no such directory")
    with private_dir(output) as work:
        source, printed = work / "report.html", work / "report.pdf"
        fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        command = [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--no-first-run",
            f"--user-data-dir={work / 'profile'}",
            f"--print-to-pdf={printed}",
            source.as_uri(),
        ]
        if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
            command.insert(1, "--no-sandbox")
        env = {**os.environ, "HOME": str(work), "XDG_CONFIG_HOME": str(work), "XDG_CACHE_HOME": str(work)}
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise Refused(f"--format pdf: {browser} did not print the report within {timeout:g} s") from None
        except OSError as exc:
            raise Refused(f"--format pdf: {browser}: cannot run: {exc.strerror}") from None
        try:
            data = printed.read_bytes()
        except OSError:
            data = b""
        if done.returncode != 0 or not data.startswith(b"%PDF-"):
            raise Refused(f"--format pdf: {browser} did not print the report (exit {done.returncode})")
        try:
            write_atomic(output, data)
        except OSError as exc:
            raise BadInput(f"--output: {output}: cannot write: {exc.strerror}") from None
    return len(data)
