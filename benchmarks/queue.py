"""The queue at 100,000 tickets: deskterm's virtual table beside a plain Textual DataTable.

Builds (once, cached in the temp directory) a desk of N demo tickets with ``Desk.import_tickets`` and a
fixed seed, then runs each variant in its own process (so that peak RSS is its own) under
``App.run_test`` with a driver that counts the bytes the app would write to the terminal:

- time to first painted queue: from launching the ``deskterm`` command in a pseudo-terminal to the queue on
  screen (``launch_to_queue_s``: interpreter, imports, store, first query; ``launch_cpu_s``, the CPU seconds the
  process had used by then, which the machine's load does not inflate), and in-process from the app's
  start to its rows (``first_paint_s``, the figure the DataTable has too; a first screenful may come first: then
  ``whole_order_s``, to the whole order shown, after which the keys are timed),
- key-to-repaint, median and worst: ``j`` (50 presses), ``G``/``g`` (10 each), page down and up (5 each), the
  next view and back (``tab``, ``shift+tab``: twice), a search character (``/`` then ``v``, ``p``, ``n`` and
  three backspaces: the first one includes what is left of loading the search's haystacks, which ``/`` starts).
  Each key is timed to the first frame it causes and to the last one, and the CPU the event loop spent to the
  first (``cpu``: the load inflates it far less than the wall time) (for ``G``, the last is the repaint of
  countdowns evaluated after the frame; for a search character, the narrowed rows; and ``rows``: to the first
  frame after the table took the query of the words typed, its first screenful of matches or its whole order),
- peak RSS, CPU used while idle, bytes written while idle (10 s at 80x24 by default; the tab counts
  that the clock moves are recounted every 60 s: ``--idle 60`` includes one).

Each figure is printed beside the same figure for a plain Textual DataTable holding every open ticket.
The clock runs (from the demo's reference instant) so that idle includes the live countdowns.
Usage: ``python benchmarks/queue.py [--tickets 100000] [--idle 10] [--only deskterm] [--against BIN]``.
``--against`` runs deskterm a second time, in the same run, with another installation (the ``bin`` directory of
its environment: its ``python`` imports its own deskterm) on the same desk, and prints it beside. The demo's mix leaves
about 47 % of its tickets open (the older ones are mostly resolved, as on a real desk): the queue ("All
open") of the default desk holds 47,538 rows; ``--tickets 210000`` makes one of 99,518.

This file is named like the standard library's ``queue``, and benchmarks/ is ``sys.path[0]`` for every
script run from it, so a script there that imports asyncio, concurrent.futures or multiprocessing (which
``import queue``) would import this file instead. So: imported as ``queue``, it hands over to the
standard library's module and defines nothing; run as a script, it first takes its own directory off
``sys.path``, before importing anything that could ``import queue``.
"""

import sys
from datetime import UTC

if __name__ == "queue":
    # Imported as "queue" (from a script of benchmarks/, whose directory is on sys.path): load the standard
    # library's module in this one's place. The import system returns sys.modules["queue"] once this file has
    # run, so the importer gets the real one; this file defines nothing.
    import os as _os

    _here = _os.path.dirname(_os.path.abspath(__file__))
    sys.path[:] = [_p for _p in sys.path if _os.path.abspath(_p or _os.curdir) != _here]
    del sys.modules["queue"]
    import queue as _stdlib_queue

    sys.modules["queue"] = _stdlib_queue
    del _os, _here, _stdlib_queue
else:
    import os

    # Run as a script (or imported under another name): this directory is sys.path[0]; take it off, so that
    # asyncio and subprocess find the standard library's queue and not this file.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

    import argparse
    import asyncio
    import json
    import resource
    import statistics
    import subprocess
    import tempfile
    import time
    from datetime import datetime, timedelta
    from pathlib import Path

    NOW = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    SEED = 7

    def build(tickets: int) -> Path:
        import hashlib

        import deskterm.demo
        import deskterm.store.migrate

        # cached per generator and schema: a desk built by an older demo.py (another mix of open and closed
        # tickets) or migrated on first open (and every open ticket derived again) would measure something else
        made_by = hashlib.sha256(Path(deskterm.demo.__file__).read_bytes()).hexdigest()[:10]
        where = (
            Path(tempfile.gettempdir())
            / "deskterm-bench-queue"
            / f"{tickets}-seed{SEED}-{made_by}-{deskterm.store.migrate.HEAD}"
        )
        if (where / "demo.db").exists() and (where / "deskterm.toml").exists():
            return where
        # the same desk as benchmarks/desks.py's (build_demo of the busy queue, the clock frozen at NOW), which
        # keeps it between runs under $DESKTERM_BENCH_DIR (a million tickets take ten minutes or more to build):
        # built there once, copied here (this benchmark's apps write to their desk)
        desks = _desks()
        started = time.perf_counter()
        desks.working_copy(tickets, where)
        print(f"copied {tickets} tickets in {time.perf_counter() - started:.0f} s → {where}", file=sys.stderr)
        return where

    def _desks():
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_desks", Path(__file__).with_name("desks.py"))
        assert spec is not None and spec.loader is not None
        desks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(desks)
        assert desks.NOW == NOW
        return desks

    def copies_against(tickets: int, against: Path, into: Path) -> tuple[Path, Path]:
        """With ``--against``: the desk as the other installation builds it (its generator, its schema), in two
        working copies: the other's, and this deskterm's, migrated up to this schema first (the migration timed
        and printed: not part of the launch measured)."""
        desks = _desks()
        source = desks.cached_by(against, tickets)
        theirs, ours = into / "against", into / "this"
        for where in (theirs, ours):
            started = time.perf_counter()
            desks.working_copy(tickets, where, source=source)
            print(f"copied {tickets} tickets in {time.perf_counter() - started:.0f} s → {where}", file=sys.stderr)
        started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        desks.migrate(Path(sys.executable).parent, ours / "demo.db", ours / "deskterm.toml")
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu
        print(
            f"this deskterm migrated its copy in {time.perf_counter() - started:.1f} s ({cpu:.1f} s of CPU),"
            f" load average {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
        )
        return ours, theirs

    def _counting_driver():
        from textual.drivers.headless_driver import HeadlessDriver

        class CountingDriver(HeadlessDriver):
            """Renders like a terminal driver (not headless) but only counts what it would write."""

            written = 0
            writes: list[float] = []  # when each frame was written
            cpu: list[float] = []  # the CPU seconds the writing thread (the event loop's) had used by then

            @property
            def is_headless(self) -> bool:
                return False

            def write(self, data: str) -> None:
                CountingDriver.written += len(data.encode("utf-8"))
                CountingDriver.writes.append(time.perf_counter())
                CountingDriver.cpu.append(time.thread_time())

        return CountingDriver

    def _running_clock():
        from deskterm.clock import Clock

        class RunningClock(Clock):
            """Real seconds, counted from the demo's reference instant."""

            def __init__(self) -> None:
                self.t0 = time.monotonic()

            def now(self) -> datetime:
                return (NOW + timedelta(seconds=time.monotonic() - self.t0)).replace(microsecond=0)

        return RunningClock()

    async def _timed_keys(pilot, Driver, keys: list[str]) -> tuple[list[float], list[float], list[float]]:
        """From a key to the first frame it causes and to the last one (a search echoes the character
        at once and shows the narrowed rows when its query, run in a thread, is done), and the CPU the event loop
        spent from the key to its first frame. The pilot's own waiting for idle, tens of milliseconds, is not
        counted: the times are the driver's writes."""
        first: list[float] = []
        last: list[float] = []
        cpu: list[float] = []
        for key in keys:
            await _press_timed(pilot, Driver, key, first, last, cpu)
        return first, last, cpu

    async def _press_timed(
        pilot, Driver, key: str, first: list[float], last: list[float], cpu: list[float] | None = None
    ) -> float:
        """Press ``key``, wait for its work, and add the time to its first and last frame (ms) to ``first`` and
        ``last``, and to ``cpu`` the event loop's CPU (ms) to the first frame, which the machine's load inflates
        far less than the wall time; returns the instant it was pressed."""
        await pilot.pause(0.05)
        t, c, n = time.perf_counter(), time.thread_time(), len(Driver.writes)
        await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        after = [i for i in range(n, len(Driver.writes)) if Driver.writes[i] > t]
        if after:
            first.append((Driver.writes[after[0]] - t) * 1000)
            last.append((Driver.writes[after[-1]] - t) * 1000)
            if cpu is not None:
                cpu.append((Driver.cpu[after[0]] - c) * 1000)
        return t

    def _summary(timings: tuple) -> dict:
        first, last, *cpu = timings
        out = {
            "median_ms": round(statistics.median(last), 1),
            "worst_ms": round(max(last), 1),
            "first_frame_median_ms": round(statistics.median(first), 1),
            "first_frame_worst_ms": round(max(first), 1),
        }
        if cpu and cpu[0]:
            out["first_frame_cpu_median_ms"] = round(statistics.median(cpu[0]), 1)
            out["first_frame_cpu_worst_ms"] = round(max(cpu[0]), 1)
        return out

    def _watch_queries() -> list[tuple[float, tuple[str, ...]]]:
        """When the queue table is given each query, and its free words (the rows of a search character are on
        screen in the first frame written after the table took a query of that character's words)."""
        from deskterm.tui.widgets.queue_table import QueueTable

        given: list[tuple[float, tuple[str, ...]]] = []
        set_query = QueueTable.set_query

        def watched(self, query, *args, **kwargs):
            # (a first screenful read before the store is open is no QueueQuery: no filters)
            given.append((time.perf_counter(), tuple(getattr(getattr(query, "filters", None), "words", ()))))
            return set_query(self, query, *args, **kwargs)

        QueueTable.set_query = watched  # type: ignore[method-assign]
        return given

    async def _timed_search(pilot, Driver, given, typed: list[str]) -> dict:
        """``_timed_keys`` for the search's characters, and from each to its rows: the first frame written after
        the table took a query of the words typed so far (its first screenful, or the whole order)."""
        rows: list[float] = []
        first: list[float] = []
        last: list[float] = []
        cpu: list[float] = []
        text = ""
        for key in typed:
            text = text[:-1] if key == "backspace" else text + key
            t = await _press_timed(pilot, Driver, key, first, last, cpu)
            took = [at for at, words in given if at > t and words == tuple(text.split())]
            shown = [w for w in Driver.writes if took and w >= took[0]]
            if shown:
                rows.append((shown[0] - t) * 1000)
        out = _summary((first, last, cpu))
        if rows:
            out["rows_median_ms"], out["rows_worst_ms"] = round(statistics.median(rows), 1), round(max(rows), 1)
        return out

    async def run_deskterm(where: Path, size: tuple[int, int], idle: float) -> dict:
        from deskterm.config import load_config
        from deskterm.tui.app import DeskApp
        from deskterm.tui.widgets.queue_table import QueueTable

        Driver = _counting_driver()
        given = _watch_queries()
        started = time.perf_counter()
        app = DeskApp(
            db=str(where / "demo.db"), config=load_config(where / "deskterm.toml"), clock=_running_clock(), user="alice"
        )
        app.driver_class = Driver
        result: dict = {"variant": "deskterm QueueTable"}
        async with app.run_test(size=size, headless=False) as pilot:
            while True:
                await pilot.pause(0.01)
                tables = app.screen.query(QueueTable)
                if tables and tables.first().loaded:
                    break
            await pilot.pause()
            result["first_paint_s"] = round(time.perf_counter() - started, 2)
            await app.workers.wait_for_complete()
            table = tables.first()
            # the first rows may be a first screenful only (read through the driver before the store is open, or
            # QueueQuery.head): the keys are timed once the whole order is shown, as they were before either
            waited = time.perf_counter() + 300  # (not for ever: a run that never shows it is timed as it is)
            while not getattr(table.query_, "complete", False) and time.perf_counter() < waited:
                await pilot.pause(0.01)
            await app.workers.wait_for_complete()
            result["whole_order_s"] = round(time.perf_counter() - started, 2)
            result["rows"] = table.total
            result["j"] = _summary(await _timed_keys(pilot, Driver, ["j"] * 50))
            result["G"] = _summary(await _timed_keys(pilot, Driver, ["G", "g"] * 10))
            result["page"] = _summary(await _timed_keys(pilot, Driver, ["pagedown"] * 5 + ["pageup"] * 5))
            # the next view and back (each one's first screenful, then its whole order from a worker, awaited)
            result["view"] = _summary(await _timed_keys(pilot, Driver, ["tab", "shift+tab"] * 2))
            await pilot.press("slash")
            result["search_char"] = await _timed_search(pilot, Driver, given, list("vpn") + ["backspace"] * 3)
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            await pilot.pause()
            result.update(await _idle(pilot, Driver, idle))
        return result

    async def run_datatable(where: Path, size: tuple[int, int], idle: float) -> dict:
        """A plain DataTable holding every open ticket (the same columns; no live countdowns)."""
        from rich.text import Text
        from textual.app import App
        from textual.widgets import DataTable, Input

        from deskterm.fmt import compact, one_line
        from deskterm.store.engine import open_store
        from deskterm.store.queue import QueueQuery

        Driver = _counting_driver()
        started = time.perf_counter()

        class Plain(App):
            BINDINGS = [("slash", "search", "search")]

            def compose(self):
                yield DataTable(cursor_type="row")
                yield Input(id="search")

            def on_mount(self) -> None:
                self.store = open_store(where / "demo.db")
                q = QueueQuery(self.store, view="open", user="alice", now=NOW)
                self.all_rows = [self._cells(r) for r in q.window(0, q.count())]
                table = self.query_one(DataTable)
                table.add_columns("SLA", "P", "Status", "ID", "Customer", "Subject", "Assignee", "Group", "Age")
                table.add_rows(self.all_rows)
                table.focus()
                self.loaded = True

            def _cells(self, r):
                due = compact(int((r.next_due - NOW).total_seconds())) if r.next_due else ""
                return (
                    due,
                    r.priority,
                    r.status,
                    str(r.id),
                    Text(one_line(r.customer)),
                    Text(one_line(r.subject)),
                    r.assignee or "—",
                    r.group,
                    compact(int((NOW - r.created_at).total_seconds())),
                )

            def action_search(self) -> None:
                self.query_one(Input).focus()

            def on_input_changed(self, event) -> None:
                words = event.value.lower()
                table = self.query_one(DataTable)
                table.clear()
                table.add_rows([c for c in self.all_rows if words in c[5].plain.lower()])

        app = Plain()
        app.driver_class = Driver
        result: dict = {"variant": "Textual DataTable"}
        async with app.run_test(size=size, headless=False) as pilot:
            while not getattr(app, "loaded", False):
                await pilot.pause(0.01)
            await pilot.pause()
            result["first_paint_s"] = round(time.perf_counter() - started, 2)
            result["rows"] = len(app.all_rows)
            result["j"] = _summary(await _timed_keys(pilot, Driver, ["down"] * 50))
            result["G"] = _summary(await _timed_keys(pilot, Driver, ["ctrl+end", "ctrl+home"] * 10))
            await pilot.press("slash")
            result["search_char"] = _summary(await _timed_keys(pilot, Driver, list("vpn") + ["backspace"] * 3))
            app.query_one("DataTable").focus()
            await pilot.pause()
            result.update(await _idle(pilot, Driver, idle))
        return result

    async def _idle(pilot, Driver, seconds: float) -> dict:
        await pilot.pause(0.5)
        cpu0, bytes0, t0 = time.process_time(), Driver.written, time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - t0
        return {
            "idle_cpu_percent": round(100 * cpu / wall, 2),
            "idle_bytes": Driver.written - bytes0,
            "peak_rss_mb": _peak_rss_mb(),
        }

    def _peak_rss_mb() -> float:
        """This process's peak resident memory. Linux's VmHWM, where it exists: ``ru_maxrss`` carries over
        fork and exec, so a child started by a parent that had just built the desk (about 1 GB at 210,000
        tickets) reported the parent's peak, not its own."""
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    def launch_in_terminal(
        where: Path, size: tuple[int, int], runs: int = 3, python: str | None = None
    ) -> tuple[float, float]:
        """Seconds from starting the real ``deskterm`` command in a pseudo-terminal to the queue's status line
        on screen ("N tickets · sorted by …", painted with the rows; not "tickets" alone, which the wide
        tabs' "My tickets" holds from the first frame): interpreter start, imports, store and first query
        included. The median of ``runs``; and the median of the CPU seconds the process had used by then (all
        its threads: what the wall time is on an idle machine, less the waits, whatever the load)."""
        import fcntl
        import select
        import struct
        import termios

        times, cpus = [], []
        tick = os.sysconf("SC_CLK_TCK")
        for _ in range(runs):
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
            env = {
                **os.environ,
                "TERM": "xterm-256color",
                "XDG_STATE_HOME": tempfile.mkdtemp(prefix="deskterm-bench-state-"),
            }
            started = time.perf_counter()
            proc = subprocess.Popen(
                [
                    python or sys.executable,
                    "-m",
                    "deskterm.cli",
                    "--db",
                    str(where / "demo.db"),
                    "--config",
                    str(where / "deskterm.toml"),
                ],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
            os.close(slave)
            seen, shown, cpu = b"", None, 0.0
            try:
                while shown is None and time.perf_counter() - started < 30:
                    if select.select([master], [], [], 0.05)[0]:
                        seen += os.read(master, 1 << 16)
                        if b" sorted by " in seen:  # the status line, shown with the rows
                            shown = time.perf_counter() - started
                            with open(f"/proc/{proc.pid}/stat") as stat:  # utime and stime, in clock ticks
                                fields = stat.read().rsplit(")", 1)[1].split()
                            cpu = (int(fields[11]) + int(fields[12])) / tick
            finally:
                proc.terminate()
                proc.wait()
                os.close(master)
            if shown is None:
                raise RuntimeError("the queue never showed in the terminal")
            times.append(shown)
            cpus.append(cpu)
        return round(statistics.median(times), 2), round(statistics.median(cpus), 2)

    def child(variant: str, where: Path, size: tuple[int, int], idle: float) -> None:
        os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="deskterm-bench-state-")  # no saved filter
        runner = run_deskterm if variant == "deskterm" else run_datatable
        print(json.dumps(asyncio.run(runner(where, size, idle))))

    def main() -> int:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument(
            "--tickets",
            type=int,
            default=100_000,
            help="tickets in the desk (built once, cached under the temp directory)",
        )
        parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
        parser.add_argument("--size", default="80x24", help="terminal size, COLSxROWS")
        parser.add_argument("--variant", choices=["deskterm", "datatable"], help=argparse.SUPPRESS)  # the child process
        parser.add_argument("--where", help=argparse.SUPPRESS)  # the child's desk (the parent's, whatever its deskterm)
        parser.add_argument("--only", choices=["deskterm", "datatable"], help="run one variant")
        parser.add_argument(
            "--against", help="another installation's bin directory: its deskterm measured beside this one's"
        )
        args = parser.parse_args()
        size = tuple(int(v) for v in args.size.split("x"))
        if args.variant:
            child(args.variant, Path(args.where), size, args.idle)  # type: ignore[arg-type]
            return 0
        results = []
        if args.against:  # each deskterm its own copy of the desk the other builds, this one's migrated first
            scratch = Path(tempfile.mkdtemp(prefix="deskterm-bench-queue-"))
            ours, theirs = copies_against(args.tickets, Path(args.against), scratch)
        else:
            ours = theirs = build(args.tickets)
        runs = [(v, sys.executable, "", ours) for v in ([args.only] if args.only else ["deskterm", "datatable"])]
        if args.against:
            runs.insert(1, ("deskterm", str(Path(args.against) / "python"), " (baseline)", theirs))
        for variant, python, label, where in runs:
            # the load average before each variant: the machine is shared, and its figures move with it
            print(f"{variant}{label}: load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
            out = subprocess.run(
                [
                    python,
                    __file__,
                    "--variant",
                    variant,
                    "--tickets",
                    str(args.tickets),
                    "--idle",
                    str(args.idle),
                    "--size",
                    args.size,
                    "--where",
                    str(where),
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            results[-1]["variant"] += label
            # the real command in a terminal (the DataTable is no command: its in-process figure is beside)
            launch, cpu = launch_in_terminal(where, size, python=python) if variant == "deskterm" else ("—", "—")
            results[-1]["launch_to_queue_s"], results[-1]["launch_cpu_s"] = launch, cpu
            results[-1]["load_average"] = round(os.getloadavg()[0], 1)
        keys = [
            "rows",
            "launch_to_queue_s",
            "launch_cpu_s",
            "first_paint_s",
            "whole_order_s",
            "j",
            "G",
            "page",
            "view",
            "search_char",
            "peak_rss_mb",
            "idle_cpu_percent",
            "idle_bytes",
            "load_average",
        ]
        print(
            "key rows, ms from the key: median / worst to its first frame · (a search: to its rows) · to the last"
            " frame it caused"
        )
        print(f"{'':22}" + "".join(f"{r['variant']:>64}" for r in results))
        for k in keys:
            cells = []
            for r in results:
                v = r.get(k, "—")
                cells.append(
                    f"1st {v['first_frame_median_ms']} / {v['first_frame_worst_ms']} · "
                    + (
                        f"cpu {v['first_frame_cpu_median_ms']} / {v['first_frame_cpu_worst_ms']} · "
                        if "first_frame_cpu_median_ms" in v
                        else ""
                    )
                    + (f"rows {v['rows_median_ms']} / {v['rows_worst_ms']} · " if "rows_median_ms" in v else "")
                    + f"last {v['median_ms']} / {v['worst_ms']}"
                    if isinstance(v, dict)
                    else str(v)
                )
            print(f"{k:22}" + "".join(f"{c:>64}" for c in cells))
        print(json.dumps(results))
        if args.against:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
        return 0

    if __name__ == "__main__":
        sys.exit(main())
