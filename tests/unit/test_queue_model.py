"""The queue screen's model without a pilot (tui/queue_model.py): the agent's choices, the queries in flight, when
the order changes by itself, when the order shown can be moved on or patched, and the tabs' counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from deskterm.store.queue_terms import Filters, Sort
from deskterm.tui.queue_model import COUNTS_EVERY, QueueModel, moves_with_time
from deskterm.tui.state import QueueState

T0 = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)


def test_the_saved_filter_is_parsed_and_a_typed_one_is_unsaved_until_saved():
    model = QueueModel.from_state(QueueState(view="mine", filter="vpn prio:P1", sort="age", descending=True))
    assert model.filters.words == ("vpn",) and model.filters.priorities == ("P1",)
    assert model.sort == Sort("age", True)
    model.set_filter("customer:lyon", typing=True)
    assert model.state.filter == "customer:lyon" and model.filters.customers == ("lyon",) and model.unsaved
    model.saved()
    assert not model.unsaved
    model.set_filter("")  # not typed (esc, a command): saved at once by the screen, never left unsaved
    assert model.filters == Filters() and not model.unsaved


def test_views_go_round_and_a_jump_shows_all_open_without_the_filter():
    model = QueueModel.from_state(QueueState(view="mine"))
    assert model.view_after(-1) == "open" and model.view_after(1) == "unassigned"
    model.set_view("open")
    assert model.view_after(1) == "mine" and not model.hides_tickets
    model.set_filter("vpn")
    assert model.hides_tickets
    model.show_all_open()
    assert (model.state.view, model.state.filter, model.filters) == ("open", "", Filters())
    model.show_filter("customer:CHU Lyon Sud", Filters(customers=("CHU Lyon Sud",)))
    assert model.filters.customers == ("CHU Lyon Sud",) and model.state.filter == "customer:CHU Lyon Sud"


def test_only_the_newest_query_is_shown_and_the_order_instant_moves_only_when_asked():
    model = QueueModel()
    calls = []

    def now() -> datetime:
        calls.append(1)
        return T0

    assert model.query_terms(now) == {"view": "open", "filters": Filters(), "sort": Sort(), "now": T0}
    model.query_terms(now)
    assert len(calls) == 1  # taken once: the order holds its instant
    first = model.begin()  # typing: the same instant
    second = model.begin(T0 + timedelta(seconds=5))  # the data or the time moved it
    assert model.order_at == T0 + timedelta(seconds=5)
    assert not model.is_current(first) and model.is_current(second) and model.in_flight
    model.data_changed()
    assert model.shown(second, (T0, None, None)) is True  # the rows held were stale: read again
    assert not model.in_flight and not model.data_moved and model.resort_at == (T0, None, None)
    third = model.begin()
    assert model.shown(third, None) is False and model.resort_at == (T0, None, None)  # None: the same instants
    fourth = model.begin()
    model.patched(fourth, (None, T0, None))
    assert model.shown_generation == fourth and model.resort_at == (None, T0, None)


def test_the_order_expires_when_a_warning_starts_a_deadline_passes_or_a_ticket_comes_within_the_horizon():
    model = QueueModel()
    assert not model.order_expired(T0)  # no instant: never
    model.resort_at = (T0, None, None)
    assert not model.order_expired(T0 - timedelta(seconds=1)) and model.order_expired(T0)  # warning: at it
    model.resort_at = (None, T0, None)
    assert not model.order_expired(T0) and model.order_expired(T0 + timedelta(seconds=1))  # deadline: once passed
    model.resort_at = (None, None, T0)
    assert model.order_expired(T0)  # entering "breaching soon": at it
    assert moves_with_time("open", Sort("due")) and moves_with_time("breaching", Sort("age"))
    assert not moves_with_time("open", Sort("age", True))


def query(view="open", filters=Filters(), sort=Sort(), user="alice"):  # noqa: B008 - immutable dataclasses
    return SimpleNamespace(view=view, filters=filters, sort=sort, user=user)


def test_the_order_shown_is_moved_on_only_when_it_is_the_same_query_on_the_same_data():
    model = QueueModel()
    assert model.can_move_on(query(), query())
    assert not model.can_move_on(None, query())
    assert not model.can_move_on(query(), query(filters=Filters(words=("vpn",))))
    assert not model.can_move_on(query(), query(user="bob"))
    assert not model.can_move_on(query(sort=Sort("due", True)), query())
    model.data_changed()
    assert not model.can_move_on(query(), query())


def test_changed_tickets_are_patched_in_only_into_time_to_breach_without_words_and_nothing_in_flight():
    model = QueueModel()
    assert model.can_patch(query(), frozen=False)
    assert model.can_patch(query(view="mine", filters=Filters(priorities=("P1",))), frozen=False)
    assert not model.can_patch(query(), frozen=True)
    assert not model.can_patch(None, frozen=False)
    assert model.can_patch(query(sort=Sort("age")), frozen=False)  # (by its key: QueueQuery._patch_sorted)
    assert not model.can_patch(query(view="breaching"), frozen=False)
    assert not model.can_patch(query(filters=Filters(words=("vpn",))), frozen=False)
    model.begin()  # a query on its way (a filter typed)
    assert not model.can_patch(query(), frozen=False)
    model.shown(model.generation)
    model.data_changed()
    assert not model.can_patch(query(), frozen=False)


def test_breaching_soon_is_recounted_every_minute_of_ticks():
    model = QueueModel()
    due = [model.tick() for _ in range(3 * COUNTS_EVERY)]
    assert [i + 1 for i, d in enumerate(due) if d] == [COUNTS_EVERY, 2 * COUNTS_EVERY, 3 * COUNTS_EVERY]


def test_one_count_at_a_time_asked_again_while_it_runs_and_whole_after_a_data_change():
    model = QueueModel()
    assert model.ask_count() is True  # the first count is whole
    assert model.ask_count(False) is None  # one is running: once more afterwards
    assert model.counted({"open": 5, "breaching": 1}, True) is True
    assert model.counts == {"mine": 0, "unassigned": 0, "breaching": 1, "escalated": 0, "pending": 0, "open": 5}
    assert model.ask_count(False) is False  # the clock only: "breaching soon"
    assert model.counted({"breaching": 2}, False) is False
    assert model.counts["open"] == 5 and model.counts["breaching"] == 2  # the others as they were
    # tickets changed while a count runs: a whole count follows it
    assert model.ask_count(False) is False
    assert model.ask_count_changed() is False
    assert model.counted({"breaching": 2}, False) is True
    assert model.ask_count(False) is True
    model.counted(None, True)  # failed: the data views are counted again next time
    assert model.ask_count(False) is True
    model.counted({}, True)
    assert model.ask_count_changed() is True and model.counting  # the difference, now


def test_a_change_over_the_first_screenful_reads_the_view_again():
    """Before the store is open, the table holds the first screenful read through the driver (``QueueHead``: no
    filters, no user). A change heard then is neither patched into it nor taken as the same order: the view is
    read again. (It was read for its filters, and the app stopped on an AttributeError.)"""
    from deskterm.store.plain import QueueHead

    model = QueueModel()
    head = QueueHead("open", False, [1, 2], {})
    assert not model.can_patch(head, frozen=False)
    assert not model.can_move_on(head, head)
