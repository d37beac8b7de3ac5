"""A killed test run leaves no server behind: the throwaway PostgreSQL and Dovecot servers are started through
``spawn_tied`` (tests/deskterm_testing.py), and its child gets a signal when the process that started it ends,
even by SIGKILL, when no finalizer or atexit handler runs. Here the "server" is a shell, the test process a
Python that starts it from a thread that then ends (as a fixture run in a thread would: the signal is tied to
the thread that forks), checks it still answers, and is then killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from deskterm_testing import ROOT, patience

PARENT = r"""
import os, signal, subprocess, sys, threading, time
sys.path.insert(0, sys.argv[1])
from deskterm_testing import spawn_tied
SERVER = 'read line; echo "$line"; exec sleep 600'  # answers once, then runs on (even when its stdin closes)
box = []
def ask():
    box.append(threading.get_native_id())
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    box.append(spawn_tied(["sh", "-c", SERVER], signal.SIGTERM, **pipes))
t = threading.Thread(target=ask)
t.start(); t.join()
while os.path.exists(f"/proc/self/task/{box[0]}"):  # the thread that asked is gone from the kernel too
    time.sleep(0.01)
server = box[1]
server.stdin.write("ping\n"); server.stdin.flush()
assert server.stdout.readline() == "ping\n"  # the server lives on while the process does
print(server.pid, flush=True)
sys.stdin.read()
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent death signal is Linux's")
def test_a_server_ends_when_the_test_process_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(ROOT / "tests")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    server = 0
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the server died with the thread that started it ({parent.wait()})"
        server = int(line)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + patience(10)
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(server), "the server outlived the killed test process"
    finally:
        parent.kill()
        parent.wait()
        if server and _alive(server):
            os.kill(server, signal.SIGKILL)
