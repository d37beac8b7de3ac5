"""A damaged queue.json (the queue's remembered view, filter and sort) is harmless: the app starts, says so once,
and rewrites it. It stopped the app at start (with exit code 0)."""

from __future__ import annotations

import json

import pytest
from tuihelp import SIZE, ready

from deskterm.tui.state import state_path

DAMAGED = {
    "a list": "[]",
    "null": "null",
    "a string": '"x"',
    "a number": "42",
    "broken JSON": '{"view": "mine", ',
    "not UTF-8": b"\xff\xfe{}",
    "view of the wrong type": '{"view": 3, "sort": "priority"}',
    "filter of the wrong type": '{"filter": ["vpn"], "sort": "priority"}',
    "sort of the wrong type": '{"sort": {"x": 1}}',
    "descending of the wrong type": '{"descending": "yes", "sort": "priority"}',
    "a control character in the filter": '{"filter": "vpn\\u001b[2J", "sort": "priority"}',
}


@pytest.mark.parametrize("content", list(DAMAGED.values()), ids=list(DAMAGED))
async def test_a_damaged_state_file_is_harmless(make_app, content):
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.is_running and app.screen.table.total > 0
        warnings = [n for n in app._notifications if n.title == "Queue state"]
        assert len(warnings) == 1 and "damaged" in warnings[0].message and str(path) in warnings[0].message
    saved = json.loads(path.read_text(encoding="utf-8"))  # rewritten: valid, with what could be read
    assert set(saved) == {"view", "filter", "sort", "descending"}
    assert isinstance(saved["descending"], bool) and saved["filter"] == ""
    if isinstance(content, str) and '"sort": "priority"' in content:
        assert saved["sort"] == "priority"  # the good fields are kept
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not [n for n in again._notifications if n.title == "Queue state"]  # said once


async def test_a_state_file_of_another_version_starts_quietly(make_app):
    """A view or a sort this version does not know is not damage: the default, no warning."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"view": "someday", "sort": "mood", "filter": "vpn", "extra": 1}', encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        assert (screen.state.view, screen.state.sort, screen.state.filter) == ("open", "due", "vpn")
        assert not [n for n in app._notifications if n.title == "Queue state"]


async def test_a_damaged_holiday_cache_is_one_notice_in_the_app(make_app, demo, monkeypatch):
    from deskterm import holiday_cache
    from deskterm.config import load_config

    db, _, _ = demo
    monkeypatch.setattr(holiday_cache, "_kept_years", None)  # as a new process starts
    monkeypatch.setattr(holiday_cache, "_warning", None)
    path = holiday_cache.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"FR": [], "US": {"2026": {"July 4": "Independence Day"}}}', encoding="utf-8")
    config = load_config(db.parent / "deskterm.toml")  # the demo's calendars have FR and US holidays
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        [notice] = [n for n in app._notifications if n.title == "Holidays cache"]
        assert "damaged" in notice.message and str(path) in notice.message
    assert holiday_cache.take_warning() is None  # shown by the app: not printed again on stderr
    assert json.loads(path.read_text(encoding="utf-8")).get("FR") not in ([], None)  # rewritten
