"""The search line's grammar: free words and key:value filters (a pure function)."""

from deskterm.store.queue import Filters, parse_filter


def test_empty():
    assert parse_filter("") == Filters()
    assert parse_filter("   ").is_empty()


def test_terms_and_words():
    f = parse_filter("vpn prio:p1,P2 status:Open customer:lyon assignee:me group:L2 ward")
    assert f.priorities == ("P1", "P2")
    assert f.statuses == ("open",)
    assert f.customers == ("lyon",)
    assert f.assignees == ("me",)
    assert f.groups == ("L2",)
    assert f.words == ("vpn", "ward")


def test_short_keys_and_repeats():
    f = parse_filter("p:P1 p:P3 s:on-hold c:clinique a:none g:L3")
    assert f.priorities == ("P1", "P3")
    assert f.statuses == ("on_hold",)
    assert f.customers == ("clinique",)
    assert f.assignees == ("none",)
    assert f.groups == ("L3",)


def test_unknown_keys_and_empty_values_are_words():
    f = parse_filter("error:0x3BBF prio: http://x")
    assert f.words == ("error:0x3BBF", "prio:", "http://x")
    assert f.priorities == ()
