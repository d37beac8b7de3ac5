"""Satisfaction surveys: the three measures, their scales, and the answers read from a customer's reply.

Pure. The resolution notice asks for up to three numbers, answered by replying with them:

- CSAT, customer satisfaction, 1 (very unhappy) to 5 (very happy);
- NPS, "how likely are you to recommend …", 0 to 10 (promoters 9–10, passives 7–8, detractors 0–6);
- CES, customer effort, "how easy was it …", 1 (very difficult) to 7 (very easy).

``parse_answer`` reads a reply: the quoted original below the answer (``>`` lines, "On … wrote:",
"Le … a écrit :", "-----Original Message-----", an Outlook header block, a signature after ``-- ``) is cut
off, then the answer is either labelled (``CSAT 4 NPS 9 CES 6``, ``satisfaction : 4, recommandation : 9``,
``effort 6``, any case, ``:``/``=`` allowed) or a bare line of one to three numbers at the top
(``4``, ``4 / 9 / 6``, ``4, 9, 6``, ``4 9 6``: CSAT, then NPS, then CES, in the order the notice asks them).
``4/5``, ``9/10`` and ``6/7`` written without spaces name their scale. What else the customer wrote is the
comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# measure -> (lowest, highest, what the lowest and highest mean)
SCALES: dict[str, tuple[int, int, str]] = {
    "csat": (1, 5, "1 (very unhappy) to 5 (very happy)"),
    "nps": (0, 10, "0 (not at all likely to recommend) to 10 (extremely likely)"),
    "ces": (1, 7, "1 (very difficult) to 7 (very easy)"),
}
MEASURES = ("csat", "nps", "ces")  # the order in which the notice asks, and bare numbers are read
_BY_SCALE = {5: "csat", 10: "nps", 7: "ces"}  # "4/5": the highest of a scale names it


class SurveyError(ValueError):
    """An answer that names a score outside its scale (or none): the message says which and why."""


@dataclass(frozen=True)
class SurveyAnswer:
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    comment: str | None = None

    def scores(self) -> dict[str, int]:
        return {m: v for m in MEASURES if (v := getattr(self, m)) is not None}


def check(answer: SurveyAnswer) -> SurveyAnswer:
    """The answer itself, once every score lies on its scale and at least one is given."""
    problems = []
    for measure in MEASURES:
        value = getattr(answer, measure)
        if value is None:
            continue
        low, high, words = SCALES[measure]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{measure}: {value!r} must be {words}")
    if problems:
        raise SurveyError("; ".join(problems))
    if not answer.scores():
        raise SurveyError("no score: give a CSAT (1-5), an NPS (0-10) or a CES (1-7)")
    return answer


# -- reading a reply -----------------------------------------------------------------------------------

_CUT = re.compile(
    r"""^\s*(?:
        >                                                   # a quoted line
      | -{2,}\s*(?:original\s+message|message\s+d'origine|forwarded\s+message|message\s+transf[ée]r[ée])
      | _{5,}\s*$                                           # Outlook's separator
      | --\s*$                                              # a signature
      | (?:from|de|von|envoy[ée]|sent)\s*:\s.*             # an Outlook header block
      | (?:on|le|am)\s.*(?:wrote|a\s+[ée]crit|schrieb)\s*:\s*$   # the attribution of the quote
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|le|am)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(?:wrote|a\s+[ée]crit|schrieb)\s*:\s*$", re.IGNORECASE)

_LABELS = {
    "csat": r"csat|satisfaction|satisfait|satisfied|note",
    "nps": r"nps|recommand\w*|recommend\w*",
    "ces": r"(?-i:CES|Ces)|effort|facilit[ée]|facile|ease|easy",
}
_LABELLED = re.compile(
    r"\b(?P<label>" + "|".join(f"(?P<{m}>{p})" for m, p in _LABELS.items()) + r")\b"
    r"\s*(?:score\s*)?[:=]?\s*(?P<value>\d{1,3})(?:\s*/\s*(?P<scale>5|7|10)\b)?",
    re.IGNORECASE,
)
_NUMBER = r"\d{1,3}(?:/(?:5|7|10)\b)?"
_BARE = re.compile(
    rf"^\s*(?P<numbers>{_NUMBER}(?:\s*[/,;|]\s*{_NUMBER}|\s+{_NUMBER}){{0,2}})"
    r"(?=$|[\s\-–—:.,;!)])\s*[\-–—:.,;!)]*\s*(?P<rest>.*)$",
)


def answer_part(text: str) -> str:
    """The reply without the quoted original below it (nor a signature)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _CUT.match(line):
            break
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _ATTRIBUTION_START.match(line) and _ATTRIBUTION_END.search(nxt):  # "On Mon … <a@b>\nwrote:"
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _score(measure: str, value: str, scale: str | None) -> tuple[str, int]:
    number = int(value)
    if scale is not None and _BY_SCALE[int(scale)] != measure:
        raise SurveyError(f"{measure}: {value}/{scale} is not on its scale, {SCALES[measure][2]}")
    return measure, number


def _comment(text: str) -> str | None:
    text = re.sub(r"\s+", " ", text).lstrip(" -–—:.,;|/").rstrip(" -–—:,;|/")
    return text or None


def parse_answer(text: str) -> SurveyAnswer | None:
    """The survey answer in a customer's reply, or None when the reply holds none (an ordinary message).

    Raises ``SurveyError`` when it answers with a score outside its scale (``CSAT 9``, ``8`` alone).
    """
    body = answer_part(text)
    if not body:
        return None
    found: dict[str, int] = {}
    labelled = list(_LABELLED.finditer(body))
    if labelled:
        for m in labelled:
            measure = next(k for k in MEASURES if m.group(k))
            key, value = _score(measure, m.group("value"), m.group("scale"))
            found.setdefault(key, value)
        rest = _LABELLED.sub(" ", body)
    else:
        first, _, below = body.partition("\n")
        bare = _BARE.match(first)
        if bare is None:
            return None
        numbers = re.findall(r"(\d{1,3})(?:/(5|7|10)\b)?", bare.group("numbers"))
        if any(scale for _, scale in numbers):
            for value, scale in numbers:
                if not scale:
                    return None  # "4/5 and 3": a mix the reader cannot place
                measure = _BY_SCALE[int(scale)]
                if measure in found:
                    return None
                found[measure] = int(value)
        else:
            for measure, (value, _) in zip(MEASURES, numbers, strict=False):
                found[measure] = int(value)
        rest = bare.group("rest") + "\n" + below
    answer = SurveyAnswer(comment=_comment(rest), **found)
    return check(answer)


def summary(answer: SurveyAnswer) -> str:
    """``CSAT 4/5 · NPS 9/10 · CES 6/7``: how the answer is shown."""
    return " · ".join(f"{m.upper()} {v}/{SCALES[m][1]}" for m, v in answer.scores().items())
