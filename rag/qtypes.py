"""What kind of answer a question asks for, and whether a text holds one.

"When ..." wants a date, "How many ..." a number, "Who ..." a person, "Which
course ..." a name, "Why ..." a reason. An extractive answer must contain a
thing of that kind that the question does not already say: "There he designed
the first deep learning course" does not answer "Which course?", the next
sentence ("The class was designated CS231n.") does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .text import STOPWORDS, numbers

__all__ = ["answer_type", "has_answer_type", "typed_spans"]

_YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)s?\b")
_MONTHS = "january february march april may june july august september october november december"
_DATE = re.compile(
    rf"\b(?:(?:\d{{1,2}}\s+)?(?:{_MONTHS.replace(' ', '|')})(?:\s+\d{{1,2}})?(?:,?\s+(?:1[5-9]\d\d|20\d\d))?"
    r"|(?:1[5-9]\d\d|20\d\d)s?(?:\s*[-–]\s*(?:1[5-9]\d\d|20\d\d))?)\b",
    re.I,
)
_QUANTITY = re.compile(
    r"(?:about |around |over |nearly |almost |roughly |more than |less than |up to )?"
    r"(?:\$\s?)?\d[\d,.]*\s*(?:%|percent|[kmb]n?\b|million|billion|thousand|hundred)?"
    r"(?:\s+[a-z]+){0,2}"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|a decade|decades?)\b(?:\s+[a-z]+){0,2}",
    re.I,
)
_ORG_WORDS = {"university", "institute", "college", "school", "company", "inc", "labs", "lab", "corporation",
              "foundation", "council", "department", "ai", "openai", "tesla", "google", "stanford", "toronto"}
_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|de\s+|van\s+)?[A-Z][\w'’-]*)*")
_REASON = re.compile(r"\b(because|since|so that|so|due to|in order to|as a result|thanks to|which means|"
                     r"the reason|this is why|that's why|therefore|leads? to|helps?|allows?|lets?)\b", re.I)


def answer_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for: date, number, person, name, reason or None."""
    q = " ".join(question.lower().split())
    if re.match(r"^(when|what year|which year|in what year|in which year|what date|since when)\b", q) \
            or re.search(r"\b(what|which) year\b", q):
        return "date"
    if re.match(r"^(how (many|much|long|old|far|big|large|fast)|what (percentage|percent|number|share|fraction))\b", q):
        return "number"
    if re.match(r"^(?:\w+\s+)?(who|whom|whose)\b", q) or re.search(r"\b(which|what) (person|people|researcher|scientist|"
                                                         r"professor|advisor|author|founder|ceo)\b", q):
        return "person"
    if re.match(r"^why\b", q) or re.search(r"\b(what|which) (is|was|are|were) the reasons?\b", q) \
            or re.search(r"\bwhat reasons?\b", q):
        return "reason"
    if re.match(r"^(where|which|what (is|was) the (name|title|course|company|code))\b", q) or re.search(
        r"\b(which|what) (company|companies|course|class|university|school|model|project|product|team|book|"
        r"paper|language|title|name|city|country|organization|organisation|lab|program|series|term)\b", q
    ):
        return "name"
    return None


def _runs(text: str) -> list[str]:
    """Runs of capitalised words, without a sentence-initial function word ("Under Fei-Fei Li")."""
    out = []
    for run in _NAME_RUN.findall(text):
        words = run.split()
        while words and words[0].lower().replace("’", "'") in STOPWORDS:
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def _persons(text: str, question: str) -> list[str]:
    asked = {w.lower() for w in re.findall(r"[\w'’-]+", question)}
    out = []
    for run in _runs(text):
        parts = [p.lower().removesuffix("'s").removesuffix("’s") for p in run.split()]
        if any(p in _ORG_WORDS for p in parts) or all(p in asked for p in parts):
            continue
        out.append(run)
    return out


def typed_spans(text: str, kind: str, question: str) -> Iterator[str]:
    """Candidate spans of ``text`` of the given kind that the question does not contain."""
    q_low = question.lower()
    if kind == "date":
        for m in _DATE.finditer(text):
            if m.group(0).lower() not in q_low:
                yield m.group(0)
    elif kind == "number":
        for m in _QUANTITY.finditer(text):
            if not _YEAR.fullmatch(m.group(0).strip()) and m.group(0).lower().strip() not in q_low:
                yield m.group(0).strip()
    elif kind == "person":
        yield from (p for p in _persons(text, question) if len(p.split()) >= 2)
        yield from _persons(text, question)
    elif kind == "name":
        asked = {w.lower() for w in re.findall(r"[\w'’-]+", question)}
        for run in _runs(text):
            if not any(w.lower() in asked for w in run.split()):
                yield run


def has_answer_type(text: str, kind: str | None, question: str) -> bool:
    """Whether ``text`` contains something of the expected kind not already in the question."""
    if kind is None:
        return True
    if kind == "reason":
        return bool(_REASON.search(text))
    if kind == "number":  # a year is not a quantity: "how much funding" is not answered by "in 2024"
        return any(not _YEAR.fullmatch(n) for n in numbers(text) - numbers(question))
    if kind == "date":
        return bool(_YEAR.search(text)) or any(m in text.lower() for m in _MONTHS.split())
    if kind == "person":
        return bool(_persons(text, question))
    asked = {w.lower() for w in re.findall(r"[\w'’-]+", question)}
    return any(not any(w.lower() in asked for w in run.split()) for run in _runs(text)) \
        or bool(re.search(r"[\"“][^\"”]{2,60}[\"”]", text))
