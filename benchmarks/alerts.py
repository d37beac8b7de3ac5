"""Alerts through the Alertmanager listener (issue 16): alerts taken per second (goal >= 200/s).

    python benchmarks/alerts.py [--alerts 2000] [--batch 1,10] [--db PATH_OR_URL]

The listener is the one ``deskterm intake alertmanager --listen`` runs (``alertlisten.make_server`` on a free
loopback port, in a thread); one client posts real-shaped notifications over one keep-alive connection, as
Alertmanager does, each carrying ``batch`` new firing alerts (distinct fingerprints, groups of 20 alerts: every
group storms into a major incident), then the same notifications again (repeats: nothing changes), then their
resolutions. Prints alerts per second for each phase.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "alerts"))

from alertpayloads import POLICY, listening, notification, storm  # noqa: E402

from deskterm.config import parse_config  # noqa: E402
from deskterm.service import Desk  # noqa: E402
from deskterm.store.engine import open_store  # noqa: E402

TOKEN = "benchmark-token-0123456789"
CONFIG = (
    POLICY
    + """
[alertmanager]
storm = 5
resolve = true
"""
)


def bodies(n: int, batch: int, status: str, offset: int) -> list[bytes]:
    """Notifications of ``batch`` alerts each (groups of 20 alerts: every group storms into a major incident)."""
    return [
        notification(*storm(min(batch, n - start), status, offset + start), group_key=f"group-{(offset + start) // 20}")
        for start in range(0, n, batch)
    ]


def run(desk: Desk, n: int, batch: int, offset: int) -> dict[str, float]:
    rates = {}
    with listening(desk, TOKEN) as address:
        conn = http.client.HTTPConnection(*address, timeout=60)
        try:
            for phase, status in (("new", "firing"), ("repeated", "firing"), ("resolved", "resolved")):
                todo = bodies(n, batch, status, offset)
                t0, c0 = time.perf_counter(), time.process_time()
                for body in todo:
                    conn.request("POST", "/", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
                    r = conn.getresponse()
                    r.read()
                    assert r.status == 200, r.status
                rates[phase] = n / (time.perf_counter() - t0)
                rates[phase + " cpu"] = n / max(time.process_time() - c0, 1e-9)
        finally:
            conn.close()
    return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=2000)
    ap.add_argument("--batch", default="1,10")
    ap.add_argument("--db", help="a desk URL (default: a new SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(open_store(args.db or str(Path(tmp) / "desk.db")), parse_config(tomllib.loads(CONFIG)))
        print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        print("alerts per second through the listener (wall clock; in brackets: per CPU second of the process, client")
        print("included, which is what an idle machine gives when the disk keeps up)")
        print(f"{'alerts per notification':>24} {'new':>14} {'repeated':>14} {'resolved':>14}")
        for k, batch in enumerate(int(b) for b in args.batch.split(",")):
            r = run(desk, args.alerts, batch, offset=k * args.alerts)
            cells = [f"{r[p]:.0f} ({r[p + ' cpu']:.0f})" for p in ("new", "repeated", "resolved")]
            print(f"{batch:>24} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}")
        desk.store.dispose()
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
