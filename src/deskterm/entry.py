"""The ``deskterm`` command's entry point.

``deskterm --version`` is answered here, without importing the command line (click and the options of every
command: most of what ``--version`` cost); anything else is handed to ``cli.main``, which imports only what the
command it runs needs.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        print(f"deskterm, version {__version__}")  # as click's version option says it
        sys.exit(0)
    from .cli import main as cli_main

    cli_main()
