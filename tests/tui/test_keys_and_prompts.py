"""Keys, help and prompts (issue 13, items 13-16, 18, 20): what an agent types belongs where it was typed, the
help lists every key of the screen, the search folds accents, and a filter always says what it did."""

from __future__ import annotations

from textual import events
from tuihelp import SIZE, ready, settle

from deskterm.tui.screens.queue import QueueScreen
from deskterm.tui.widgets.queue_table import QueueTable

SMALL = (80, 24)


def table_of(app) -> QueueTable:
    return app.screen.query_one(QueueTable)


async def type_at_once(pilot, keys: str | list[str]) -> None:
    """Keys sent back to back, the way a terminal delivers a paste or ``tmux send-keys '/Rhône'``: every key
    is queued before the app has handled the first one (``pilot.press`` waits for the app after each key)."""
    from textual.keys import _character_to_key

    app = pilot.app
    for key in keys:
        char = key if len(key) == 1 else None
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await settle(pilot)
    await pilot.pause()


# -- 16: keys typed while a prompt opens belong to the prompt ------------------------------------------


async def test_text_typed_straight_after_slash_is_the_filter(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        await type_at_once(pilot, "/Rhône")
        assert screen.query_one("#prompt").value == "Rhône"
        assert screen.state.filter == "Rhône"
        assert isinstance(app.screen, QueueScreen)  # nothing typed reached the queue's keys (H: handover)
        assert table_of(app).total > 0
        assert all(
            "rhône" in r.customer.casefold() or "rhône" in r.subject.casefold() for r in table_of(app).visible_rows()
        )


async def test_text_typed_straight_after_colon_is_the_command(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await type_at_once(pilot, [*":view pending", "enter"])
        assert app.screen.state.view == "pending"


async def test_text_typed_straight_after_opening_a_dialog_is_in_it(make_app):
    """The same for the dialogs: "rHello there" in one go is a reply that reads "Hello there" (a capital H
    went nowhere, not to the handover); the escalation list's note prompt too."""
    from textual.widgets import Input, TextArea

    from deskterm.tui.screens.detail import DetailScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        await type_at_once(pilot, "rHello there")
        assert app.screen.query_one(TextArea).text == "Hello there"
        await pilot.press("escape")  # keeps the draft
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        # a one-line prompt (TextPromptScreen): assign from the ticket is a list; the queue's / is covered above,
        # so the prompt of a note: escalations' "return to L1"
        from deskterm.tui.screens.modals import TextPromptScreen

        app.push_screen(TextPromptScreen("A note"))
        await type_at_once(pilot, "Rhône ok")
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one(Input).value == "Rhône ok"


# -- 15: tab in a prompt stays in the prompt -----------------------------------------------------------


async def test_tab_in_the_search_does_not_switch_the_view(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        view = screen.state.view
        for opener in ("slash", "colon"):
            await pilot.press(opener, "v", "tab", "shift+tab", "p")
            await settle(pilot)
            prompt = screen.query_one("#prompt")
            assert screen.state.view == view
            assert prompt.display and prompt.has_focus and prompt.value.endswith("vp")
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("a")  # the bulk prompt: assign
        await settle(pilot)
        await pilot.press("tab", "b")
        await settle(pilot)
        assert screen.state.view == view and screen.query_one("#prompt").value == "b"
        await pilot.press("escape")
        await pilot.press("tab")  # out of the prompt, tab is the next view again
        assert screen.state.view != view


# -- 18: the search folds case and diacritics, both ways -------------------------------------------------


def test_fold_ignores_case_and_diacritics_both_ways():
    from deskterm.store.queue_terms import fold

    assert fold("Banque Rhône-Alpes") == fold("BANQUE RHONE-ALPES") == "banque rhone-alpes"
    assert fold("rhône") in fold("Banque RHONE-Alpes")
    assert fold("ÉLECTRIQUE") == fold("electrique") == fold("Électrique")
    assert fold("Straße") == "strasse" and fold("Ørsted Ångström") == "ørsted angstrom"  # ø has no accent to strip
    assert fold("Москва") == "москва"  # other scripts: case folded, letters kept


async def test_search_and_customer_filter_fold_accents(make_app, other_desk):
    from datetime import timedelta

    from tuihelp import NOW

    from deskterm.service import NewTicket

    [plain] = other_desk.import_tickets(
        [
            NewTicket(
                subject="Panne electrique au sous-sol",
                customer="Atelier Moreau",
                priority="P2",
                created_at=NOW - timedelta(hours=1),
            )
        ]
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen, table = app.screen, table_of(app)
        from deskterm.store.queue_terms import OPEN_STATUSES

        rhone = {t.id for t in other_desk.tickets(OPEN_STATUSES) if t.customer == "Banque Rhône-Alpes"}
        assert rhone
        for typed in ("rhone", "RHONE", "customer:rhone", "c:RHÔNE"):
            screen.set_filter(typed)
            await settle(pilot)
            assert table.total > 0, typed
            assert all(r.customer == "Banque Rhône-Alpes" for r in table.visible_rows()), typed
            assert table.total == len(rhone), typed
        screen.set_filter("ÉLECTRIQUE")  # the accent typed, none in the text
        await settle(pilot)
        assert plain in [r.id for r in table.visible_rows()]


# -- 20: a filter says what it did; :sort takes the screen's words; o cycles the columns shown -------------


def status_of(app) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#queue-status", Static).content)


async def test_a_filter_with_no_result_says_so_and_esc_clears_it(make_app):
    from tuihelp import lines

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        table = table_of(app)
        everything = table.total
        await pilot.press("slash", *"zzqx", "enter")
        await settle(pilot)
        assert table.total == 0
        assert "No ticket matches zzqx — esc clears" in lines(table)[0]
        assert status_of(app).startswith("0 tickets · filter: zzqx")
        long = "customer:nobody-at-all prio:P3 status:open,new,in_progress,pending"
        await pilot.press("escape", "slash", *long, "enter")
        await settle(pilot)
        assert lines(table)[0].rstrip().endswith("… — esc clears")  # at 80 columns, the filter cut, not the hint
        assert "No ticket matches customer:nobody-at-all" in lines(table)[0]
        await pilot.press("escape")
        await settle(pilot)
        assert table.total == everything and "No ticket" not in lines(table)[0]


async def test_the_status_line_shows_the_count_and_the_filter_whole_or_shortened(make_app):
    from rich.cells import cell_len

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        screen = app.screen
        width = screen.query_one("#queue-status").content_region.width
        long = "prio:P1,P2,P3 status:open,new,in_progress vpn"  # 46 characters: whole at 80 columns
        screen.set_filter(long)
        await settle(pilot)
        status = status_of(app)
        assert status.startswith(f"{screen.table.total} ticket") and f"filter: {long}" in status
        assert cell_len(status) <= width
        longer = long + " customer:lyon group:L1 assignee:me,none,bob"
        screen.set_filter(longer)
        await settle(pilot)
        status = status_of(app)
        assert status.startswith(f"{screen.table.total} ticket") and "filter: prio:P1,P2,P3" in status
        assert status.endswith("…") and cell_len(status) == width
    async with make_app().run_test(size=SIZE) as pilot:  # wide: the whole filter
        await ready(pilot)
        assert status_of(pilot.app).endswith(f"filter: {longer}")


async def test_sort_command_takes_the_words_the_screen_shows(make_app):
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        screen = app.screen
        for typed, sort, descending in [
            ("sort customer", "customer", False),
            ("sort sla", "due", False),
            ("sort SLA desc", "due", True),
            ("sort P", "priority", False),
            ("sort Time to breach", "due", False),
            ("sort age desc", "age", True),
            ("sort Status", "status", False),
        ]:
            await pilot.press("colon", *typed, "enter")
            await settle(pilot)
            assert (screen.state.sort, screen.state.descending) == (sort, descending), typed
            assert screen.table.sort.column == sort
        await pilot.press("colon", *"sort nonsense", "enter")
        await settle(pilot)
        assert screen.state.sort == "status"


async def test_o_cycles_only_the_columns_shown(make_app):
    from deskterm.tui.widgets.queue_table import layout

    for size, group_shown in ((SMALL, False), (SIZE, True)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            screen, table = app.screen, table_of(app)
            shown = [c.key for c, _ in layout(table.scrollable_content_region.width)]
            seen = []
            for _ in range(9):
                await pilot.press("o")
                seen.append(screen.state.sort)
                assert screen.state.sort in shown
            assert ("group" in seen) == group_shown
            assert set(seen) == set(shown) - {"mark"}  # every column shown, in turn


# -- 13: ? lists every key of every screen, grouped, scrollable at 80x24 -------------------------------------


def _listed_keys(entries) -> set[str]:
    return {k for e in entries for k in e.keys}


async def _open_help(pilot):
    from deskterm.tui.keys import KeysScreen

    await pilot.press("question_mark")
    await settle(pilot)
    assert isinstance(pilot.app.screen, KeysScreen)
    return pilot.app.screen


async def _every_key_of(screen) -> set[str]:
    """The keys of a screen's bindings and of the app's, as the help names them."""
    from deskterm.tui.keys import key_name

    app = screen.app
    keys = set()
    for node in (screen, app):
        for _, b in node._bindings:
            if b.id:  # deskterm's bindings (Textual's own have no id)
                keys.add(key_name(app, b))
    return keys


async def test_help_on_the_queue_lists_every_key_and_scrolls_at_80x24(make_app):
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        queue = app.screen
        wanted = await _every_key_of(queue) | {"space", "v", "j", "g", "G", "pgdn"}
        help_ = await _open_help(pilot)
        listed = _listed_keys(help_.entries)
        assert wanted <= listed, wanted - listed
        for key in ("2", "6", "Z", "ctrl+r", "E", "D", "H", "q", "ctrl+p", "?"):
            assert key in listed
        groups = [g for g, _ in __import__("deskterm.tui.keys", fromlist=["grouped"]).grouped(help_.entries)]
        assert groups[0] == "Move" and groups[-2:] == ["Go elsewhere", "Anywhere"] and "Views" in groups
        words = dict(help_.bindings_list)
        assert words["c"].startswith("Claim") and "." not in words["c"].split()[0]  # plain words, not ids
        scroll = help_.query_one("#keys-scroll")
        assert scroll.max_scroll_y > 0  # more than a screenful at 80x24: it scrolls
        dialog = help_.query_one("#keys-dialog")
        assert dialog.region.height <= 24 and dialog.region.y >= 0
        await pilot.press("j", "j")
        assert scroll.scroll_y == 2
        await pilot.press("k")
        assert scroll.scroll_y == 1
        await pilot.press("pagedown")
        assert scroll.scroll_y > 2
        await pilot.press("pageup", "G")
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("g")
        assert scroll.scroll_y == 0
        await pilot.press("down", "down", "up")
        assert scroll.scroll_y == 1
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("home")
        assert scroll.scroll_y == 0
        await pilot.press("question_mark")  # ? closes it too
        await settle(pilot)
        assert app.screen is queue
        await _open_help(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is queue


async def test_help_on_every_screen_lists_its_keys(make_app):
    from deskterm.tui.screens.dashboard import DashboardScreen
    from deskterm.tui.screens.detail import DetailScreen
    from deskterm.tui.screens.escalations import EscalationScreen
    from deskterm.tui.screens.handover import HandoverScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        for key, cls, must in [
            (None, DetailScreen, {"w", "r", "n", "x", "X", "m", "b", "l", "ctrl+r", "esc", "↓"}),
            ("E", EscalationScreen, {"a", "r", "e", "enter", "j", "k", "esc"}),
            ("D", DashboardScreen, {"1", "2", "3", "c", "C", "tab", "esc"}),
            ("H", HandoverScreen, {"y", "+", "-", "tab", "j", "k", "esc"}),
        ]:
            if key:
                await pilot.press(key)
                await settle(pilot)
            screen = app.screen
            assert isinstance(screen, cls)
            help_ = await _open_help(pilot)
            listed = _listed_keys(help_.entries)
            wanted = await _every_key_of(screen) | must | {"E", "D", "H", "?", "ctrl+p"}
            assert wanted <= listed, (cls.__name__, wanted - listed)
            assert all(e.words and "." not in e.words.split()[0] for e in help_.entries)
            assert help_.query_one("#keys-dialog").region.height <= 24
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen
        # the footer shows "? Keys" first, whatever else is cut off at 80 columns
        from textual.widgets._footer import FooterKey

        for screen in app.screen_stack[1:]:
            keys = [w.key for w in screen.query(FooterKey)]
            assert keys and keys[0] == "question_mark", type(screen).__name__


def test_help_snapshot_at_80x24(snap_compare, make_app):
    app = make_app()

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


# -- 14: the command palette: every action, in plain words, and the places ---------------------------------


async def test_palette_lists_every_action_in_plain_words_and_the_places(make_app):
    from deskterm.tui.commands import ScreenActions

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        found = [(str(h.text), h.help) async for h in ScreenActions(detail).discover()]
        texts = [t for t, _ in found]
        assert not any("detail." in t or "queue." in t or "app." in t for t, _ in found)  # no internal ids
        for start in (
            "Why is it due then",
            "Reply to the customer",
            "Escalations",
            "Dashboard",
            "Handover",
            "Resolve",
            "Back to the queue",
        ):
            assert any(t.startswith(start) for t in texts), start
        assert all(help_ for _, help_ in found)  # each says its group, in words
        # every binding of the screen with an id is there
        ids = {b.id for _, b in detail._bindings if b.id}
        from deskterm.tui.keys import key_entries

        assert ids <= {e.id for e in key_entries(detail)}
        hits = [h async for h in ScreenActions(detail).search("handover")]
        assert hits
        await hits[0].command()
        await settle(pilot)
        assert type(app.screen).__name__ == "HandoverScreen"
        found = [str(h.text) async for h in ScreenActions(app.screen).discover()]
        assert any(t.startswith("Copy the handover") for t in found)


async def test_the_footer_is_remade_only_when_what_it_shows_changed(make_app):
    """Textual's footer composes its keys again whenever the screen says its bindings may have changed (a focus
    moving, a dialog closing, a write settling): a dozen widgets, each styled, 15 % of a screen test's CPU. The
    same keys are kept; keys turned off (the prompt's openers while it is open) leave at once, and come back."""
    from textual.widgets._footer import FooterKey

    from deskterm.tui.keys import KeysFooter

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        footer = screen.query_one(KeysFooter)
        before = list(footer.query(FooterKey))
        assert before and before[0].key == "question_mark"
        screen.refresh_bindings()
        await settle(pilot)
        assert list(footer.query(FooterKey)) == before and all(
            a is b for a, b in zip(footer.query(FooterKey), before, strict=True)
        )
        assert any(k.action == "search" for k in before)
        await pilot.press("slash")  # the prompt opens: search, the command line and the like are hidden meanwhile
        await settle(pilot)
        assert not any(k.action == "search" for k in footer.query(FooterKey))
        await pilot.press("escape")
        await settle(pilot)
        search = [k for k in footer.query(FooterKey) if k.action == "search"]
        assert search and search[0] not in before
