"""The live refresh's reader thread (tui/reader.py): jobs run in order off the event loop, each result handed back
on the loop; a failure goes to the job's clean-up, then to the app; ``idle`` waits for all of them."""

from __future__ import annotations

import asyncio
import threading

from deskterm.tui.reader import Reader


async def test_jobs_run_in_order_off_the_loop_and_come_back_on_it():
    failures: list[BaseException] = []
    reader = Reader(failures.append)
    loop_thread = threading.get_ident()
    ran: list[tuple[int, int]] = []
    handed: list[tuple[int, int]] = []
    gate = threading.Event()

    def work(i: int):
        if i == 0:
            gate.wait(5)  # the first job holds the thread: the others wait behind it, in order
        ran.append((i, threading.get_ident()))
        return i * 10

    for i in range(5):
        reader.submit(lambda i=i: work(i), lambda result: handed.append((result, threading.get_ident())))
    assert reader.busy and handed == []
    gate.set()
    await reader.idle()
    assert [i for i, _ in ran] == [0, 1, 2, 3, 4]
    assert all(thread != loop_thread for _, thread in ran)
    assert handed == [(i * 10, loop_thread) for i in range(5)]
    assert not reader.busy and failures == []
    reader.close()


async def test_a_failed_job_is_cleaned_up_then_handed_to_the_app():
    order: list[str] = []
    reader = Reader(lambda exc: order.append(f"app: {exc}"))

    def fail():
        raise RuntimeError("the desk is busy")

    reader.submit(fail, lambda _: order.append("done"), lambda exc: order.append(f"job: {exc}"))
    reader.submit(lambda: 1, lambda result: order.append(f"next {result}"))
    await reader.idle()
    assert order == ["job: the desk is busy", "app: the desk is busy", "next 1"]
    reader.close()
    reader.submit(lambda: 2, lambda result: order.append("after close"))  # ignored
    await asyncio.sleep(0.05)
    assert order[-1] == "next 1" and not reader.busy
