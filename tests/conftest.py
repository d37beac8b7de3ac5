"""Shared fixtures: real SQLite files in a temporary directory, a throwaway PostgreSQL server (tests marked
``engines`` run on both), a frozen clock, the contract's config, and the command line forked from one process."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from deskterm_testing import EXAMPLE_CONFIG, ROOT, run_cli  # noqa: F401  (run_cli re-exported)

# Hypothesis: as many examples as each test asks for (max_examples), without the 200 ms deadline per example and
# the too_slow health check, which measure how loaded the machine is (2 cores shared by the suite's two workers
# and often by other developers) rather than the code: they failed tests whose every example was right.
settings.register_profile("deskterm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("deskterm")


# The collector: a screen test builds a whole Textual app (hundreds of thousands of objects) and each frame makes
# many short-lived ones, so at Python's default threshold (a young collection every 700 allocations, a full one
# every 100 of those, over the whole heap: pytest's, hypothesis's, every imported module) the collector took 17 %
# of the screen tests' CPU (16.6 of 96 s for test_queue_screen.py and test_detail.py). What is imported and
# collected by then is frozen (never scanned again) and the young generation is collected every 10,000: 3.7 s.
# A worker then peaks at ~460 MB instead of ~180 (garbage in cycles waits longer for a full collection). The
# thresholds are the app's own (src/deskterm/tui/gcpolicy.py), which each screen test's app sets while it runs.


def pytest_collection_finish(session):
    import gc

    from deskterm.tui.gcpolicy import THRESHOLDS

    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the real user's database or configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("DESKTERM_DB", raising=False)
    monkeypatch.delenv("DESKTERM_CONFIG", raising=False)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def example_config():
    from deskterm.config import load_config

    return load_config(EXAMPLE_CONFIG)


@pytest.fixture
def frozen_clock():
    from deskterm.clock import FrozenClock

    return FrozenClock(datetime(2026, 3, 27, 15, 0, tzinfo=UTC))


@pytest.fixture
def desk(db_url, example_config, frozen_clock):
    from deskterm.service import Desk
    from deskterm.store.engine import open_store

    store = open_store(db_url)
    yield Desk(store, example_config, clock=frozen_clock, user="alice")
    store.dispose()


# -- PostgreSQL: a throwaway server for the whole session, one database per test ------------------------
#
# Tests that take ``db_url`` (directly or through ``desk``) run on SQLite only, unless their module (or the
# test) is marked ``@pytest.mark.engines("sqlite", "postgresql")``: then they run once per engine. With
# ``scope="module"`` on the module's marker, ``module_db_url`` gives one database per engine for the whole
# module (filled once by a module-scoped fixture, then read by the tests). The
# server is started on first use from the machine's PostgreSQL binaries (initdb, pg_ctl: on PATH or under
# /usr/lib/postgresql/*/bin), in a temporary directory, on a free port of 127.0.0.1, as ``nobody`` when
# the tests run as root. Each test gets a fresh database cloned from a template migrated once.
# Without the binaries the PostgreSQL variants are skipped, except under CI=true, where they fail.

ENGINES = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "engines(*names, scope='function'): run the test once per database engine "
        "(sqlite, postgresql); scope='module' to share module-scoped databases",
    )


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("engines")
    if marker is not None and "db_engine" in metafunc.fixturenames:
        engines = marker.args or ENGINES
        # scope="module": module-scoped fixtures (``module_db_url``, a database imported once and only read by
        # the tests) are made once per engine, and the module's tests run grouped by engine (the scope may come
        # from the module's marker while a test's own marker narrows the engines). Indirect, through the
        # db_engine fixture: pytest groups a test that has other parameters too by engine only then (a direct
        # parameter gets a distinct index for every combination, which would interleave the engines and
        # rebuild the module's databases again and again).
        scope = next(
            (m.kwargs["scope"] for m in metafunc.definition.iter_markers("engines") if "scope" in m.kwargs), "function"
        )
        metafunc.parametrize(
            "db_engine", engines, ids=[("pg" if e == "postgresql" else e) for e in engines], scope=scope, indirect=True
        )


@pytest.fixture(scope="session")
def db_engine(request) -> str:
    """The engine of a test marked ``engines``; SQLite for the others."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_url(request, db_engine, db_path):
    """What ``--db`` takes: the SQLite file ``db_path``, or the URL of a fresh PostgreSQL database."""
    if db_engine == "sqlite":
        yield str(db_path)
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture(scope="module")
def module_db_url(request, db_engine, tmp_path_factory):
    """As ``db_url``, but one database for the whole module (per engine): for the tests that only read what a
    module-scoped fixture wrote once. Needs ``@pytest.mark.engines(..., scope="module")`` on the module."""
    if db_engine == "sqlite":
        yield str(tmp_path_factory.mktemp("module-db") / "desk.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def empty_db(db_engine, tmp_path, request):
    """A database nothing was ever written to: a SQLite file that does not exist yet, or a PostgreSQL database
    without any table (not even the schema)."""
    if db_engine == "sqlite":
        yield str(tmp_path / "empty.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.create_database(migrated=False)
    yield url
    server.drop_database(url)


@pytest.fixture
def pg_url(request):
    """A fresh, migrated PostgreSQL database (for the tests that only make sense there)."""
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


def _throwaway_pg_server():
    """A PostgreSQL server of the machine's binaries, stopped at the end; skipped without them (failed under CI)."""
    if str(ROOT / "tests" / "pg") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests" / "pg"))
    from pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but no PostgreSQL server could be started: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server():
    yield from _throwaway_pg_server()


@pytest.fixture
def own_server():
    """A server of the test's own, for tests that stop or restart it (the session's serves every other test)."""
    yield from _throwaway_pg_server()


# -- the command line, forked from one process (tests/deskterm_testing.py: CliServer) ----------------------


@pytest.fixture(scope="session")
def cli_server(tmp_path_factory):
    """``cli_server.run(*args, input=, env=)``: as ``run_cli``, a few tens of milliseconds a command instead of a
    second (tests/test_corpus.py checks both give the same exit code, stdout and stderr)."""
    from deskterm_testing import CliServer

    server = CliServer(tmp_path_factory.mktemp("cli-server"))
    yield server
    server.close()


# -- the longest tests first ---------------------------------------------------------------------------------
#
# make test runs the suite on 2 pytest-xdist workers with --dist worksteal: each worker takes half of the tests in
# order, and one that runs out takes half of what the other still has queued. Whatever runs last decides how long
# the other worker idles at the end, so the tests of tens of seconds (the multi-process stress tests, the real
# program in a terminal) go first, in their order, and the suite ends on tests of a second or less.

LONG_MARKERS = ("stress", "pty")


def pytest_collection_modifyitems(config, items):
    long = [item for item in items if any(item.get_closest_marker(m) for m in LONG_MARKERS)]
    if long and len(long) < len(items):
        taken = {id(item) for item in long}
        items[:] = long + [item for item in items if id(item) not in taken]


# -- every key is exercised, on several workers (pytest-xdist: make test) ------------------------------------
#
# tests/tui/test_zz_every_key.py checks that every binding was pressed by a screen test, which only the process
# that ran every screen test can see. On several workers no process does: each worker leaves that test out and
# sends what its tests pressed (tests/tui/conftest.py); the controller, which runs no test itself, runs the same
# check on the union once every worker is done, and reports it under the test's own name, passed, failed or
# skipped (skipped, as in one process, unless every screen test ran: no -k, no single file, no -x stop).


class _KeyCoverage:
    def __init__(self) -> None:
        self.collected: list[str] | None = None
        self.finished: set[str] = set()
        self.pressed: set[str] = set()
        self.deselected: list[str] = []
        self.check_selected = False
        self.worker_lost = False


_KEYS = _KeyCoverage()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    _KEYS.collected = list(ids)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    out = getattr(node, "workeroutput", None) or {}
    _KEYS.pressed.update(out.get("deskterm_pressed", ()))
    _KEYS.deselected.extend(out.get("deskterm_tui_deselected", ()))
    _KEYS.check_selected |= bool(out.get("deskterm_check_selected"))
    _KEYS.worker_lost |= error is not None or "deskterm_pressed" not in out


def pytest_runtest_logreport(report):
    if report.when == "teardown" and report.nodeid.startswith("tests/tui/"):
        _KEYS.finished.add(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if not session.config.pluginmanager.hasplugin("dsession") or not _KEYS.check_selected:
        return
    if str(ROOT / "tests" / "tui") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests" / "tui"))
    import time

    from _pytest.reports import TestReport
    from keycoverage import CHECK_NODEID, is_tui_test, missing_keys, missing_message, tui_test_files

    started = time.perf_counter()
    tui_ids = {i for i in _KEYS.collected or () if is_tui_test(i)}
    files = {i.split("::", 1)[0] for i in tui_ids}
    whole = (
        files >= tui_test_files() - {CHECK_NODEID.split("::", 1)[0]}
        and not _KEYS.deselected
        and tui_ids <= _KEYS.finished
        and not _KEYS.worker_lost
    )
    path, name = CHECK_NODEID.split("::", 1)
    if not whole:
        outcome = "skipped"
        longrepr: object = (
            str(ROOT / path),
            0,
            "Skipped: only when every screen test ran (the whole tests/tui directory, nothing deselected)",
        )
    else:
        missing = missing_keys(_KEYS.pressed)
        outcome = "failed" if missing else "passed"
        longrepr = missing_message(missing) if missing else None
    report = TestReport(
        nodeid=CHECK_NODEID,
        location=(path, 0, name),
        keywords={name: 1},
        outcome=outcome,
        longrepr=longrepr,
        when="call",
        duration=time.perf_counter() - started,
    )
    session.testscollected += 1  # the workers left it out of theirs
    session.config.hook.pytest_runtest_logreport(report=report)
    if outcome == "failed":
        session.testsfailed += 1
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
