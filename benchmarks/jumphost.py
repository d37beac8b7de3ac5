"""A jump host: K agents' apps open on one desk while changes arrive, and what each app pays for them.

Starts K real ``deskterm`` apps, each in a pseudo-terminal of 80x24 (ptyprocess, read through the pyte
terminal emulator as ``tests/pty`` does, each with a private HOME), on a working copy of the cached demo desk
of N tickets (``benchmarks/desks.py``: built once, kept between runs). Once every app shows its queue (and has
counted its tabs), it measures for ``--idle`` seconds what the apps cost doing nothing, then for ``--seconds``
seconds another process changes tickets at ``--rate`` changes a second through the service layer (as
``deskterm update`` does, without starting an interpreter for each): it takes the tickets the queue shows in
its first rows ("open", breached long ago: they stay where they are) and sets each in turn to ``on_hold`` and
back to ``open``, so that every change shows on every app's screen. It prints, per app and over all apps:

- CPU per change: the app's CPU time (user + system, ``/proc/PID/stat``) during the changes, less what it
  spends idle over the same time, divided by the number of changes;
- idle CPU, as a share of one core;
- resident memory (``VmRSS``) at the end;
- from a change's commit to its appearance on the app's screen: median, 95th percentile and worst, over every
  change and app (a change that never showed is counted as missed).

    nice python benchmarks/jumphost.py [--apps 1,10] [--tickets 100000] [--rate 1] [--seconds 20] [--idle 10]
        [--engine sqlite|pg|both] [--screen queue|ticket|ticket-own|escalations|handover|dashboard]
        [--against /path/to/baseline/.venv/bin]

``--screen`` opens another screen over the queue before measuring, by the keys an agent would press in the
terminal: ``ticket`` the first row's ticket (``enter``), the changes made to the other tickets of the first rows;
``ticket-own`` the same screen, every change made to its own ticket; ``escalations`` (``E``), ``handover``
(``H``), ``dashboard`` (``D``), each measured once it shows its content. The time to a change's appearance is
measured on the queue only (the other screens show no row of the changed tickets' statuses to look for).

``--engine pg`` runs the same on PostgreSQL: a throwaway server started for the run (``tests/pg/pgserver.py``, as
the tests' fixtures: ``initdb`` in a temporary directory, listening on 127.0.0.1 only, durability off, killed at
the end however the run ends). Each installation copies its working copy of the desk into an empty database with
its own ``deskterm db copy`` (then ``VACUUM ANALYZE``, as an operator would after a bulk copy), once; each run of
K apps gets a fresh clone of that database (``CREATE DATABASE … TEMPLATE``).

The machine is shared: say the load average (printed before and after) with the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

import desks  # noqa: E402 - benchmarks/desks.py, beside this file

TICK = os.sysconf("SC_CLK_TCK")
ROW = re.compile(r"\b(new|open|on.hold|pending)\s+(\d+)\b")
READY = re.compile(r"\d+ tickets? · ")
COUNTED = re.compile(r"Unassigned \d+")  # the tabs are counted once the rows are shown
# --screen: the keys that open it from the queue, and what it shows once it has its content
SCREENS: dict[str, tuple[bytes, tuple[re.Pattern, ...]]] = {
    "queue": (b"", ()),
    "ticket": (
        b"\r",
        (re.compile(r"^ #\d+ ", re.M), re.compile(r"esc Back"), re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")),
    ),
    "escalations": (b"E", (re.compile(r"open escalation|ticket +level +target"),)),
    "handover": (b"H", (re.compile(r"^ Shift handover · \d{4}-", re.M), re.compile(r"^ breaching \d+", re.M))),
    "dashboard": (b"D", (re.compile(r"^ Dashboard\b(?!.*(reading|computing))", re.M),)),
}
SCREENS["ticket-own"] = SCREENS["ticket"]
OPENED = re.compile(r"^ #(\d+) ", re.M)


class App:
    """One agent's app in a pseudo-terminal; a thread reads its output into a pyte screen and notes when each
    expected change first shows."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import ptyprocess
        import pyte

        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.expected: dict[int, tuple[str, float]] = {}  # ticket → (status, committed at)
        self.latencies: list[float] = []
        self.missed = 0
        self.proc = ptyprocess.PtyProcess.spawn(argv, env=env, dimensions=(24, 80))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.proc.read(65536)
            except (EOFError, OSError, ValueError):
                return
            now = time.time()
            with self.lock:
                try:
                    self.stream.feed(data)
                except Exception:  # noqa: BLE001 - an emulator hiccup must not stop the reading
                    continue
                if self.expected:
                    self._look(now)

    def _look(self, now: float) -> None:
        for line in self.screen.display:
            for status, ticket in ROW.findall(line):
                want = self.expected.get(int(ticket))
                if want is not None and status.replace(" ", "_") == want[0]:
                    self.latencies.append(now - want[1])
                    del self.expected[int(ticket)]

    def expect(self, ticket: int, status: str, committed: float) -> None:
        with self.lock:
            if ticket in self.expected:
                self.missed += 1  # the previous change of this ticket never showed
            self.expected[ticket] = (status, committed)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def cpu(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def wait_until(self, *patterns: re.Pattern, timeout: float, what: str = "its queue") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.text()
            if all(p.search(shown) for p in patterns):
                return
            time.sleep(0.1)
        raise SystemExit(f"an app did not show {what} within {timeout:g} s:\n{self.text()}")

    def close(self) -> None:
        try:
            self.proc.write(b"q")
            time.sleep(0.5)
        except OSError:
            pass
        if self.proc.isalive():
            self.proc.terminate(force=True)


CHANGER = r"""
import sys, time
from deskterm.config import load_config
from deskterm.service import Change, Desk
from deskterm.store.engine import open_store

db, config, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
tickets = [int(t) for t in sys.argv[5].split(",")]
desk = Desk(open_store(db), load_config(config), user="bench")
status = {t: "open" for t in tickets}
started = time.monotonic()
n = 0
while time.monotonic() - started < seconds:
    ticket = tickets[n % len(tickets)]
    status[ticket] = "on_hold" if status[ticket] == "open" else "open"
    desk.update(ticket, Change(status=status[ticket]))
    print(ticket, status[ticket], time.time(), flush=True)
    n += 1
    time.sleep(max(0.0, started + n / rate - time.monotonic()))
"""


class Desks:
    """Where each run's desk comes from: a working copy of the cached SQLite desk, or (``server``: a
    ``PgServer``) a clone of a PostgreSQL database into which the installation copied that desk once."""

    def __init__(self, source: Path, tickets: int, scratch: Path, server=None) -> None:
        self.source, self.tickets, self.scratch, self.server = source, tickets, scratch, server
        self._templates: dict[Path, tuple[str, Path]] = {}  # installation → (its PostgreSQL copy, configuration)

    def for_run(self, bin_dir: Path, into: Path) -> tuple[str, Path]:
        """A desk of its own for one run (database path or URL, configuration), at ``bin_dir``'s schema."""
        if self.server is None:
            db, config = desks.working_copy(self.tickets, into, source=self.source)
            desks.migrate(bin_dir, db, config)
            return str(db), config
        if bin_dir not in self._templates:
            self._templates[bin_dir] = self._copy_to_pg(bin_dir, self.scratch / f"pg-{len(self._templates)}")
        template, config = self._templates[bin_dir]
        return self.server.create_database(template=template), config

    def done(self, db: str) -> None:
        """The run is over: its PostgreSQL clone is dropped (a working copy goes with its directory)."""
        if self.server is not None:
            self.server.admin(f"DROP DATABASE {db.rsplit('/', 1)[1]} WITH (FORCE)")

    def _copy_to_pg(self, bin_dir: Path, into: Path) -> tuple[str, Path]:
        db, config = desks.working_copy(self.tickets, into, source=self.source)
        desks.migrate(bin_dir, db, config)
        url = self.server.create_database(migrated=False)
        started = time.monotonic()
        subprocess.run(
            [
                str(bin_dir / "deskterm"),
                "--config",
                str(config),
                "db",
                "copy",
                "--from",
                str(db),
                "--to",
                url,
                "--quiet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _vacuum(url)
        print(f"      (db copy to PostgreSQL by {bin_dir}: {time.monotonic() - started:.0f} s)", file=sys.stderr)
        db.unlink()
        return url, config


def _vacuum(url: str) -> None:
    import psycopg

    host, rest = url.split("@", 1)[1].split("/", 1)
    addr, port = host.split(":")
    with psycopg.connect(host=addr, port=int(port), user="postgres", dbname=rest, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _settle(apps: list[App], most: float, *, window: float = 5.0, quiet: float = 0.05, times: int = 3) -> float:
    """Waits until every app spends under ``quiet`` of a core over ``window`` seconds, ``times`` windows in a row
    (its first load done in the background: the order, the counts; an app whose load waits on another's lock
    can look quiet for one window), at most ``most`` seconds; the time waited."""
    t0 = time.monotonic()
    calm = 0
    while time.monotonic() - t0 < most and calm < times:
        before = [a.cpu() for a in apps]
        time.sleep(window)
        calm = calm + 1 if all((a.cpu() - b) / window < quiet for a, b in zip(apps, before, strict=True)) else 0
    return time.monotonic() - t0


def run(
    bin_dir: Path,
    db: str,
    config: Path,
    k: int,
    rate: float,
    seconds: float,
    idle: float,
    tmp: Path,
    settle: float = 0.0,
    screen: str = "queue",
) -> dict:
    deskterm = str(bin_dir / "deskterm")
    apps = []
    started = time.monotonic()
    for i in range(k):
        home = tmp / f"home-{k}-{i}"
        home.mkdir()
        env = {
            **{n: v for n, v in os.environ.items() if not n.startswith(("DESKTERM_", "XDG_", "TEXTUAL"))},
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        apps.append(App([deskterm, "--db", str(db), "--config", str(config)], env))
    try:
        for app in apps:
            app.wait_until(READY, COUNTED, timeout=60 + 10 * k)
        opened = time.monotonic() - started
        time.sleep(3)  # what the first load left (search haystacks, the first countdowns) settles
        settled = _settle(apps, settle) if settle else 0.0
        targets = [int(t) for s, t in ROW.findall(apps[0].text()) if s == "open"][:5]
        if not targets:
            raise SystemExit("no open ticket on the first screen:\n" + apps[0].text())
        keys, shown = SCREENS[screen]
        if keys:
            for app in apps:
                app.proc.write(keys)
            for app in apps:
                app.wait_until(*shown, timeout=600 + 30 * k, what=f"the {screen} screen")
            time.sleep(3)  # what opening it left settles
        if screen.startswith("ticket"):
            found = OPENED.search(apps[0].text())
            assert found is not None
            opened_id = int(found.group(1))
            targets = [opened_id] if screen == "ticket-own" else [t for t in targets if t != opened_id]
        targets = targets[:4]
        watched = screen == "queue"  # a change's appearance is looked for in the queue's rows only
        cpu0 = [a.cpu() for a in apps]
        time.sleep(idle)
        cpu1 = [a.cpu() for a in apps]
        idle_rate = [(b - a) / idle for a, b in zip(cpu0, cpu1, strict=True)]
        changer = subprocess.Popen(
            [
                str(bin_dir / "python"),
                "-c",
                CHANGER,
                str(db),
                str(config),
                str(rate),
                str(seconds),
                ",".join(map(str, targets)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        t0 = time.monotonic()
        changes = 0
        assert changer.stdout is not None
        for line in changer.stdout:
            ticket, status, committed = line.split()
            changes += 1
            for app in apps if watched else ():
                app.expect(int(ticket), status, float(committed))
        changer.wait()
        time.sleep(2.0)  # the last change's chance to show
        busy = time.monotonic() - t0
        cpu2 = [a.cpu() for a in apps]
        rss = [a.rss_mb() for a in apps]
        per_change = [
            max(0.0, (c2 - c1) - r * busy) / changes * 1000 for c1, c2, r in zip(cpu1, cpu2, idle_rate, strict=True)
        ]
        latencies = sorted(x for a in apps for x in a.latencies)
        missed = sum(a.missed + len(a.expected) for a in apps)
    finally:
        for app in apps:
            app.close()

    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {
        "apps": k,
        "opened_s": opened,
        "settled_s": settled,
        # the apps' CPU in all while the changes came, as a share of one core (idle included)
        "core_share": sum(c2 - c1 for c1, c2 in zip(cpu1, cpu2, strict=True)) / busy,
        "changes": changes,
        "cpu_ms": per_change,
        "idle": idle_rate,
        "rss": rss,
        "p50": p(0.5),
        "p95": p(0.95),
        "worst": latencies[-1] if latencies else float("nan"),
        "missed": missed,
        "shown": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="1,10", help="how many apps, comma-separated runs (e.g. 1,10,30)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the changes go on")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle before the changes")
    parser.add_argument(
        "--against",
        metavar="VENV_BIN",
        help="another installation's bin directory (the baseline: e.g. a checkout of main with its venv), measured"
        " first with the same desk and the same changes, in the same run",
    )
    parser.add_argument("--engine", choices=("sqlite", "pg", "both"), default="sqlite")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after the queues are shown, wait (at most this long) until every app is quiet (under 5 %% of a core"
        " over 5 s, three times in a row: its first load finished in the background) before measuring: the steady"
        " state",
    )
    parser.add_argument(
        "--screen",
        choices=tuple(SCREENS),
        default="queue",
        help="the screen open over the queue while the changes come (its keys sent in the terminal)",
    )
    parser.add_argument(
        "--built-by",
        metavar="VENV_BIN",
        help="the installation whose generator builds the desk (default: --against, else this one): an older one"
        " reuses a desk already built by it",
    )
    args = parser.parse_args()
    # built by the baseline when there is one: both can open it (this deskterm migrates its copy)
    builder = args.built_by or args.against
    source = desks.cached_by(Path(builder) if builder else Path(sys.executable).parent, args.tickets)
    engines = ["sqlite", "pg"] if args.engine == "both" else [args.engine]
    print(
        f"{args.tickets} tickets, {' and '.join(ENGINES[e] for e in engines)}, {args.rate:g} changes/s for"
        f" {args.seconds:g} s, the {args.screen} screen open;"
        f" load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    installs = [("this", Path(sys.executable).parent)]
    if args.against:
        installs.insert(0, ("baseline", Path(args.against)))
    header = (
        f"{'engine':10} {'install':9} {'apps':>4} {'CPU/change ms (median, worst app)':>34}"
        f" {'idle % (median)':>16} {'RSS MB (max)':>13}"
        f" {'change→screen p50/p95/worst s':>30} {'missed':>7}"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="deskterm-bench-jumphost-") as scratch:
        for engine in engines:
            server = _pg_server() if engine == "pg" else None
            try:
                where = Desks(source, args.tickets, Path(scratch), server)
                for k in (int(x) for x in args.apps.split(",")):
                    for name, bin_dir in installs:
                        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
                            db, config = where.for_run(bin_dir, Path(tmp) / "desk")
                            try:
                                r = run(
                                    bin_dir,
                                    db,
                                    config,
                                    k,
                                    args.rate,
                                    args.seconds,
                                    args.idle,
                                    Path(tmp),
                                    args.settle,
                                    args.screen,
                                )
                            finally:
                                where.done(db)
                        _print(ENGINES[engine], name, k, r)
            finally:
                if server is not None:
                    server.stop()  # never left running
    return 0


ENGINES = {"sqlite": "SQLite", "pg": "PostgreSQL"}


def _pg_server():
    sys.path.insert(0, str(_HERE.parent / "tests" / "pg"))
    from pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        raise SystemExit(f"--engine pg: {exc}") from None
    print(
        f"      (PostgreSQL {server.version // 10000} on 127.0.0.1:{server.port}, thrown away at the end)",
        file=sys.stderr,
    )
    return server


def _print(engine: str, name: str, k: int, r: dict) -> None:
    cpu = f"{statistics.median(r['cpu_ms']):.1f}, {max(r['cpu_ms']):.1f}"
    idle = f"{statistics.median(r['idle']) * 100:.2f}"
    lat = f"{r['p50']:.2f} / {r['p95']:.2f} / {r['worst']:.2f}"
    print(f"{engine:10} {name:9} {k:>4} {cpu:>34} {idle:>16} {max(r['rss']):>13.0f} {lat:>30} {r['missed']:>7}")
    print(
        f"      ({r['changes']} changes, {r['shown']} appearances; all apps showed their queue in"
        f" {r['opened_s']:.1f} s, quiet {r['settled_s']:.1f} s later; the apps in all used"
        f" {r['core_share'] * 100:.1f} % of a core during the changes; load average {os.getloadavg()[0]:.2f})",
        file=sys.stderr,
    )
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
