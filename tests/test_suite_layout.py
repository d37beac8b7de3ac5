"""The suite's own layout. Test modules are imported by their file name alone (pytest's default "prepend" import
mode puts each test directory on sys.path), so two test files of one name in two directories cannot both be
collected: ``make test`` stops on "import file mismatch" before running anything."""

from __future__ import annotations

from collections import defaultdict

from deskterm_testing import ROOT


def test_no_two_test_modules_share_a_file_name():
    where: dict[str, list[str]] = defaultdict(list)
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name != "conftest.py" and "__snapshots__" not in path.parts:
            where[path.name].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not clashes, "rename one of each (a test module is imported by its file name alone):\n" + "\n".join(
        f"  {name}: {', '.join(sorted(paths))}" for name, paths in sorted(clashes.items())
    )
