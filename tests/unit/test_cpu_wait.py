"""The key gate's patience counts the seconds the app could run (tui/keygate.py ``CpuWait``): the time its threads
waited for a processor is read from the kernel, not guessed from the wall clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskterm.tui.keygate import CpuWait


@pytest.mark.skipif(not Path(CpuWait.TASKS).exists(), reason="the kernel says nothing of the run queue here")
def test_a_thread_sharing_its_processor_with_a_busy_process_has_waited_for_it():
    """This thread and a busy process on one processor: they take turns, so the thread waits in the run queue
    about as long as it runs (at least a quarter of it, however loaded the machine: more load, more wait); a
    thread started after the mark counts all its wait."""
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    busy = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.sched_setaffinity(0, {cpu})
    )
    try:
        os.sched_setaffinity(0, {cpu})
        wait = CpuWait()
        wait.mark()
        start = time.thread_time()
        while time.thread_time() - start < 0.4:  # this thread's own CPU time, whatever the wall clock says
            pass
        ran = time.thread_time() - start
        assert wait.seconds() >= ran / 4
    finally:
        os.sched_setaffinity(0, before)
        busy.kill()
        busy.wait()


def test_no_wait_is_read_where_the_kernel_does_not_say(tmp_path, monkeypatch):
    monkeypatch.setattr(CpuWait, "TASKS", str(tmp_path / "nothing"))
    wait = CpuWait()
    wait.mark()
    assert wait.seconds() == 0.0
