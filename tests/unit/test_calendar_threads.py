"""One calendar is shared by the app's event loop and its worker threads (every ticket of a policy uses its
policy's calendar): its day table grows and is rebuilt on demand, so concurrent readers must never see it half
built. A pty test saw the app crash at start with IndexError inside BusinessCalendar."""

from __future__ import annotations

import random
import sys
import threading
from datetime import date

from deskterm.domain.calendar import BusinessCalendar

OFFICE = {d: ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 18 * 60)) for d in range(5)}
START = 1_796_043_538  # 2026-11-30 12:58:58 UTC, the instant of the crash


def office() -> BusinessCalendar:
    return BusinessCalendar(
        name="office", timezone="Europe/Paris", weekly=OFFICE, closed=frozenset({date(2026, 12, 24)})
    )


def test_concurrent_readers_agree_with_a_calendar_used_alone():
    rnd = random.Random(7)
    # instants far apart, before and after each other: the table is extended and rebuilt (moved back) often
    instants = [START + rnd.randint(-400, 400) * 86400 + rnd.randint(0, 86399) for _ in range(400)]
    alone = office()
    truth = {t: alone.seconds_between(START - 800 * 86400, t) for t in instants}
    shared = office()
    errors: list[BaseException] = []
    wrong: list[int] = []

    def reader(seed: int) -> None:
        order = list(instants)
        random.Random(seed).shuffle(order)
        try:
            for t in order:
                if shared.seconds_between(START - 800 * 86400, t) != truth[t]:
                    wrong.append(t)
                shared.add(t, 3600)
                shared.business_days_later(t, 3)
        except BaseException as exc:  # noqa: BLE001 (any failure of a reader fails the test)
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: make the race likely
    try:
        threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert wrong == []
