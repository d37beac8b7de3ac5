"""Issue 17: a year's report shares its fold with a forked process (``deskterm.forked.Forked``): what the child
is sent it works on, and what it made comes back to the parent; a failure in the child is raised in the parent
with the child's own traceback, and the child is gone either way (no process left behind)."""

from __future__ import annotations

import os

import pytest

from deskterm.forked import Forked


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_child_works_on_what_it_is_sent_and_gives_back_what_it_made():
    seen: list[int] = []
    helper = Forked(seen.extend, lambda: (os.getpid(), sum(seen), len(seen)))
    pid = helper.pid
    assert pid is not None
    for part in range(100):
        helper.send(list(range(part * 10, part * 10 + 10)))
    child, total, count = helper.result()
    assert (total, count) == (sum(range(1000)), 1000)
    assert child == pid != os.getpid()
    assert seen == []  # the work was the child's
    assert _gone(pid)


def test_a_failure_in_the_child_is_raised_in_the_parent():
    def work(item: int) -> None:
        if item == 3:
            raise ValueError("the third")

    helper = Forked(work, lambda: "never")
    pid = helper.pid
    assert pid is not None
    for item in range(10):
        helper.send(item)
    with pytest.raises(RuntimeError, match="ValueError: the third"):
        helper.result()
    assert _gone(pid)


def test_a_parent_that_gives_up_ends_the_child():
    helper = Forked(lambda item: None, lambda: None)
    pid = helper.pid
    assert pid is not None
    helper.send(1)
    helper.close()
    assert _gone(pid)
