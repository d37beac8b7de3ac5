"""Every SVG snapshot belongs to a test. In one process syrupy fails the session on a snapshot no test uses; on
several workers (``make test``: pytest-xdist) it does not look, so this test does: a snapshot left behind by a
renamed or removed test (or a parameter that is gone) is a file that no longer proves anything."""

from __future__ import annotations

from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "__snapshots__"


def test_every_snapshot_file_belongs_to_a_test(request, whole_tui_suite):
    if not whole_tui_suite:
        pytest.skip("only when every screen test was collected (the whole tests/tui directory, nothing deselected)")
    tests = {(item.path.stem, item.name) for item in request.session.items}
    files = sorted(SNAPSHOTS.glob("*/*.svg"))
    assert files, f"no snapshot under {SNAPSHOTS}"
    orphans = [str(f.relative_to(SNAPSHOTS)) for f in files if (f.parent.name, f.stem) not in tests]
    assert not orphans, "snapshots of no test (remove them, or run the test with --snapshot-update):\n" + "\n".join(
        orphans
    )
