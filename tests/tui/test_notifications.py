"""Notifications never read their text as markup: what an agent types (``:[/]``), a database error and a
name from the store are shown as written, and a stray ``[/]`` cannot crash the app (Textual's ``notify``
parses markup unless told not to, and a closing tag with nothing to close raises)."""

from __future__ import annotations

from tuihelp import SIZE, ready, settle


async def test_typed_text_in_a_warning_is_shown_as_written(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for typed in ("[/]", "[link=http://x]a[/link]", "[bold]x[/]"):
            await pilot.press(":", *typed, "enter")
            await settle(pilot)
            assert app.is_running
            last = list(app._notifications)[-1]
            assert not last.markup and typed in str(last.message)
        await pilot.press(":", *"view [/]", "enter")
        await settle(pilot)
        assert app.is_running and "[/]" in str(list(app._notifications)[-1].message)


async def test_every_notification_is_plain_text(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.notify("[Errno 13] cannot open [/]", severity="error")
        app.screen.notify("[b]from a screen[/b]")
        await settle(pilot)
        assert app.is_running
        assert all(not n.markup for n in app._notifications)
