"""The survey answers read from customers' replies (domain/survey.py)."""

from __future__ import annotations

import pytest

from deskterm.domain.survey import SurveyAnswer, SurveyError, answer_part, check, parse_answer, summary


@pytest.mark.parametrize(
    ("text", "csat", "nps", "ces", "comment"),
    [
        ("4", 4, None, None, None),
        ("  5\n", 5, None, None, None),
        ("4 / 9 / 6", 4, 9, 6, None),
        ("4, 9, 6", 4, 9, 6, None),
        ("4 9 6", 4, 9, 6, None),
        ("3/5", 3, None, None, None),
        ("9/10", None, 9, None, None),
        ("4/5 9/10 6/7", 4, 9, 6, None),
        ("CSAT 4 NPS 9 CES 6", 4, 9, 6, None),
        ("csat: 4, nps=9, CES : 6", 4, 9, 6, None),
        ("NPS 0", None, 0, None, None),
        ("4 - quick and friendly, thanks", 4, None, None, "quick and friendly, thanks"),
        ("5\nVery quick, thank you!", 5, None, None, "Very quick, thank you!"),
        ("Satisfaction : 4, recommandation : 9, effort : 6 — très bon accueil", 4, 9, 6, "très bon accueil"),
        ("Satisfaction 2/5. Trop long à mon goût.", 2, None, None, "Trop long à mon goût."),
        ("Would recommend: 10, ease 7", None, 10, 7, "Would"),
        ("4/5 and 3 days to fix it", 4, None, None, "and 3 days to fix it"),
        ("Likely to recommend: 8\nSatisfied: 5", 5, 8, None, "Likely to"),
    ],
)
def test_answers_are_read(text, csat, nps, ces, comment) -> None:
    answer = parse_answer(text)
    assert answer == SurveyAnswer(csat=csat, nps=nps, ces=ces, comment=comment)


@pytest.mark.parametrize(
    "quote",
    [
        "\n\nOn Mon, 30 Nov 2026 at 10:00, Desk <desk@example.com> wrote:\n> How satisfied were you (CSAT 1-5)?\n> 3",
        "\n\nLe lun. 30 nov. 2026 à 10:00, Desk <desk@example.com> a écrit :\n> Satisfaction 1-5 ? NPS 0-10 ?",
        "\n\nOn Mon, 30 Nov 2026 at 10:00, Service Desk <desk@example.com>\nwrote:\n> CSAT 1 NPS 2 CES 3",
        "\n-----Original Message-----\nFrom: desk@example.com\nSubject: [#12] resolved\nCSAT 1-5, NPS 0-10, CES 1-7",
        "\n\n-----Message d'origine-----\nDe : desk@example.com\nnote 1 à 5",
        "\n________________________________\nFrom: Service Desk\nSent: Monday\nRate us: CSAT 1",
        "\n-- \nJane Doe, CES 2 department",
        "\n> CSAT 1",
    ],
)
def test_the_quoted_original_is_ignored(quote) -> None:
    assert parse_answer("4 / 9 / 6" + quote) == SurveyAnswer(4, 9, 6)
    assert parse_answer("CSAT 5" + quote) == SurveyAnswer(csat=5)
    assert parse_answer("Thanks for your help" + quote) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "Thanks, it works again.",
        "The server 10.0.0.4 is still down",
        "Merci, ces deux postes fonctionnent",  # French "ces" is no CES
        "> CSAT 4",  # only a quote
        "4/5 3/5",  # two answers to one question
        "4/5 3",
        "12345",
    ],
)
def test_ordinary_messages_hold_no_answer(text) -> None:
    assert parse_answer(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("CSAT 9", "csat: 9 must be 1 (very unhappy) to 5 (very happy)"),
        ("8", "csat: 8 must be 1"),
        ("0", "csat: 0 must be 1"),
        ("4 / 11", "nps: 11 must be 0"),
        ("4 9 0", "ces: 0 must be 1"),
        ("NPS 9/5", "nps: 9/5 is not on its scale"),
    ],
)
def test_scores_off_their_scale_are_refused(text, why) -> None:
    with pytest.raises(SurveyError, match=why.replace("(", r"\(").replace(")", r"\)")):
        parse_answer(text)


def test_check_needs_a_score_on_its_scale() -> None:
    with pytest.raises(SurveyError, match="no score"):
        check(SurveyAnswer(comment="nice"))
    with pytest.raises(SurveyError, match="ces"):
        check(SurveyAnswer(ces=True))  # type: ignore[arg-type]
    assert check(SurveyAnswer(nps=0)).scores() == {"nps": 0}


def test_answer_part_and_summary() -> None:
    assert answer_part("4\r\nok\r\n> quoted") == "4\nok"
    assert summary(SurveyAnswer(4, 9, 6)) == "CSAT 4/5 · NPS 9/10 · CES 6/7"
