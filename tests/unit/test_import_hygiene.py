"""The domain stays pure: importing it in a fresh interpreter loads neither Textual nor SQLAlchemy."""

import subprocess
import sys


def test_domain_imports_no_ui_and_no_database():
    code = (
        "import sys, deskterm.domain.sla, deskterm.domain.calendar, deskterm.domain.workflow, deskterm.domain.priority;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'sqlalchemy', 'sqlmodel', 'rich')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_does_not_load_the_database_layer():
    code = (
        "import sys\nfrom deskterm.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(m for m in sys.modules if m.split('.')[0] in ('textual', 'sqlalchemy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED="


def test_the_first_screen_paints_before_the_database_layer_is_imported():
    """The app and its first screen (the queue and its table) import no SQLAlchemy (about 0.3 s): the store's
    worker imports it after the first frame is painted."""
    code = (
        "import sys, deskterm.tui.app, deskterm.tui.screens.queue, deskterm.tui.widgets.queue_table;"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
