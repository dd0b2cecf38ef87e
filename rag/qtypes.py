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

from .text import STOPWORDS, content_terms, numbers, unpossessed

__all__ = ["answer_type", "asked_unit", "asked_words", "exact_slot", "fills_slot", "has_answer_type", "typed_spans"]

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
# Words that make a name run an organisation, not a person ("Stanford University"). A bare
# name ("OpenAI", "Tesla") may still be the answer to "Who ...?" ("Who bought the factory?").
_ORG_WORDS = {"university", "institute", "college", "school", "company", "inc", "labs", "lab", "corporation",
              "foundation", "council", "department"}
_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:[ \t]+(?:of[ \t]+|de[ \t]+|van[ \t]+)?[A-Z][\w'’-]*)*")
_REASON = re.compile(r"\b(because|since|so that|so|due to|in order to|as a result|thanks to|which means|"
                     r"the reason|this is why|that's why|therefore|leads? to|helps?|allows?|lets?)\b", re.I)


def answer_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for: date, number, person, name, reason or None."""
    q = " ".join(question.lower().split())
    if re.match(r"^(when|what year|which year|in what year|in which year|what date|since when)\b", q) \
            or re.search(r"\b(what|which) (year|month|date)\b", q):
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
    ) or re.search(r"\b(which|what)\s+(?:(?!(?:is|was|are|were|does|did|do)\s)[a-z]+\s+)?"
                   r"(phrase|expression|nickname|metaphor|slogan|motto)\b", q):
        return "name"
    return None


def asked_words(question: str) -> set[str]:
    """The question's words, lower-cased, without function words: a name run that keeps its
    "The" or "No" ("The Verge", "No Priors") is not asked just because the question says "the"."""
    return {w.lower() for w in re.findall(r"[\w'’-]+", question)} - STOPWORDS


_SENTENCE_START = re.compile(r"(?:^|[.!?:;|\"“(\[]\s*|\n\s*)$")


def _runs(text: str, span: bool = False) -> list[str]:
    """Runs of capitalised words, without a sentence-initial function word ("Under Fei-Fei Li").

    A lone capitalised common word opening a sentence ("Consumer hardware
    ...", "Consider the ...") is just a first word, not a name, unless ``text``
    is a span standing on its own ("English").
    """
    from .lexicon import commonness

    out = []
    for match in _NAME_RUN.finditer(text):
        words = match.group(0).split()
        initial = bool(_SENTENCE_START.search(text[max(0, match.start() - 3):match.start()]))
        # A capitalised function word opening a sentence is just its first word ("Under
        # Fei-Fei Li"); inside a sentence it belongs to the name ("in No Priors Ep. 80",
        # "at The Verge"), unless it stands alone or is "I".
        while words and words[0].lower().replace("’", "'") in STOPWORDS and (
                initial or len(words) == 1 or words[0] == "I"):
            words = words[1:]
        if initial and not span and len(words) == 1 and words[0][1:].islower() and commonness(words[0].lower()) >= 4.5:
            continue
        if words:
            out.append(" ".join(words))
    return out


# A question about a person's family may be answered by their surname ("Who was Lincoln's
# father?" -> "Thomas Lincoln").
_KIN = re.compile(r"\b(father|mother|parents?|brothers?|sisters?|siblings?|sons?|daughters?|wife|husband|spouse|"
                  r"uncle|aunt|cousin|grand\w*|nephew|niece|family|children|child|heirs?|widow)\b", re.I)


def _persons(text: str, question: str, span: bool = False) -> list[str]:
    """Name runs that may be the person asked for: not an organisation, not a name with a
    number in it ("GPT-4"), and not the question's own person ("Andrej Karpathy" does
    not answer "Who hired Karpathy?")."""
    asked = asked_words(question)
    owners = {unpossessed(w) for w in asked}  # "Karpathy's" names Karpathy
    kin = bool(_KIN.search(question))
    out = []
    for run in _runs(text, span):
        words = run.split()
        parts = [unpossessed(p.lower()) for p in words]
        # The question's own name, possessive or not: "Tesla" does not answer "Who led Tesla's AI?".
        if any(p in _ORG_WORDS for p in parts) or all(p in owners for p in parts) or re.search(r"\d", run):
            continue
        if any(re.search(r"['’]s$", w) for w in words[:-1]):
            continue  # a thing someone owns: "Tesla's Autopilot"
        if len(parts) > 1 and parts[-1] in owners and not kin:
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
        asked = asked_words(question)
        for run in _runs(text):
            if not any(w.lower() in asked for w in run.split()):
                yield run


def has_answer_type(text: str, kind: str | None, question: str, span: bool = False) -> bool:
    """Whether ``text`` contains something of the expected kind not already in the question.

    ``span``: ``text`` is a short answer standing alone, not a stretch of prose.
    """
    if kind is None:
        return True
    if kind == "reason":
        return bool(_REASON.search(text))
    if kind == "number":  # a year is not a quantity: "how much funding" is not answered by "in 2024"
        return any(not _YEAR.fullmatch(n) for n in numbers(text) - numbers(question))
    if kind == "date":
        return bool(_YEAR.search(text)) or any(m in text.lower() for m in _MONTHS.split())
    if kind == "person":
        return bool(_persons(text, question, span))
    asked = asked_words(question)
    return any(not any(w.lower() in asked for w in run.split()) for run in _runs(text, span)) \
        or bool(re.search(r"[\"“][^\"”]{2,60}[\"”]", text))


# --- the slot a question names, and whether a text fills it ------------------------------
_AUX = r"(?:do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|might|may)"
_HOW_MANY = re.compile(rf"\bhow many\s+((?:(?!{_AUX}\b)[\w'’-]+\s+){{0,3}}?)(?:{_AUX}\b|$)", re.I)
_COUNT = re.compile(
    r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w.]*\d)|\b(?:two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|several|"
    r"one|twice|thrice|once|single|double|triple|couple)\b", re.I)


def asked_unit(question: str) -> set[str]:
    """The stems of what a "how many ..." question counts ("how many GitHub stars" -> {github, star})."""
    m = _HOW_MANY.search(question)
    return set(content_terms(m.group(1))) if m else set()


# Counted things too general to pin a count to: "how many times", "how many people".
_GENERAL_UNITS = {"time", "peopl", "person", "one", "thing", "way", "kind", "type", "member", "individu"}


# A sum of money asked for: "How much did the stadium cost?", "What was his annual salary
# as director?". Not "how much of", nor a change ("how much did revenue increase": 500%).
_MONEY_NOUNS = (r"(?:salary|salaries|wages?|prices?|costs?|fees?|tuition|funding|revenues?|valuation|budget|"
                r"income|earnings|payment|payroll|fines?|donation|ransom|bounty|compensation)")
_MONEY_VERBS = (r"(?:costs?|costing|pay|paid|pays|spend|spent|earn|earned|earns|charge|charged|charges|raise|"
                r"raised|sold|sell|bought|buy|donate|donated|funded|invest|invested|worth|owe|owed|fined)")
_HOW_MUCH_MONEY = re.compile(
    rf"^how much (?!of\b)(?!.*\b(?:increase|increased|rise|rose|grow|grew|drop|dropped|fall|fell|decline|declined|"
    rf"change|changed|alter)\b).*\b(?:{_MONEY_VERBS}|{_MONEY_NOUNS}|money|dollars?|euros?|pounds?)\b")
_WHAT_MONEY = re.compile(
    rf"^(?:what|which) (?:is|was|were|are) (?:the |his |her |its |their |[\w-]+'s )?(?:[\w-]+ ){{0,2}}?"
    rf"{_MONEY_NOUNS}(?: (?:of|for|at|in|as|during|from|per)\b.*)?$")
_CURRENCY = (r"(?:dollars?|euros?|pounds?|pence|yen|yuan|francs?|marks?|rupees?|usd|eur|gbp|cents?|pesos?|lire|lira|"
             r"rubles?|roubles?|shillings?|guineas?|kronor|krona|rand)")
# A sum of money in prose: a currency sign or word with its amount, or "free".
_MONEY = re.compile(
    rf"[$€£¥]\s?\d|\d[\d,.]*\s*(?:thousand|million|billion|trillion|m|bn|k)?\s*{_CURRENCY}\b"
    rf"|\b(?:hundred|thousand|million|billion|trillion) {_CURRENCY}\b|\bfree\b", re.I)


def exact_slot(question: str) -> str | None:
    """The precise slot a question names, when it names one: month, year, count or amount
    (of money).

    Only these are checked strictly (:func:`fills_slot`); "When ..." may be
    answered by "after the war", and "how many times" by "seven turnovers".
    """
    q = " ".join(question.lower().split())
    bare = q.rstrip(" ?").strip()
    if _HOW_MUCH_MONEY.match(bare) or _WHAT_MONEY.match(bare):
        return "amount"
    if re.search(r"\b(which|what) month\b", q):
        return "month"
    if re.search(r"\b(which|what) year\b", q):
        return "year"
    unit = asked_unit(question)
    if answer_type(question) == "number" and unit and unit.isdisjoint(_GENERAL_UNITS):
        return "count"
    return None


def fills_slot(text: str, kind: str | None, question: str, span: bool = False) -> bool:
    """Like :func:`has_answer_type`, but for the slot a question names exactly.

    "In which month ..." wants a month the question does not already give, "in
    2024" is no answer; "How many GitHub stars ..." wants a count of stars (or
    a bare count), not "millions of views". Otherwise the same as
    :func:`has_answer_type`.
    """
    q = " ".join(question.lower().split())
    low = text.lower()
    if exact_slot(question) == "amount":
        # A sum of money, not any number ("3 billion parameters"); a short answer may be
        # the bare figure of one ("20,427" from "£20,427").
        return bool(_MONEY.search(text)) or (span and has_answer_type(text, "number", question, span))
    if kind == "date":
        if re.search(r"\b(which|what) month\b", q):
            return any(re.search(rf"\b{m}\b", low) and not re.search(rf"\b{m}\b", q) for m in _MONTHS.split())
        years = set(_YEAR.findall(text)) - set(_YEAR.findall(question))
        if re.search(r"\b(which|what) year\b", q):  # any year, "1130" too
            found = set(re.findall(r"\b\d{3,4}s?\b|\b\d{1,2}(?:st|nd|rd|th) century\b", text, re.I))
            return bool(found - set(re.findall(r"\b\d{3,4}s?\b", question)))
        return bool(years) or any(re.search(rf"\b{m}\b", low) for m in _MONTHS.split() if m != "may")
    if kind == "number":
        unit = asked_unit(question)
        if not unit:
            return has_answer_type(text, kind, question, span)
        from .lexicon import related  # WordNet: "employees" counts "staff"

        asked = set(unit)
        for u in unit:
            asked |= related(u)
        q_numbers = {m.group(0).lower() for m in _COUNT.finditer(question)}
        for m in _COUNT.finditer(text):
            if m.group(0).lower() in q_numbers or _YEAR.fullmatch(m.group(0)):
                continue
            if m.group(0).lower() in ("twice", "thrice", "once") and "time" in unit:
                return True
            if re.match(r"\s*(?:%|per ?cent\b)", text[m.end():], re.I):
                continue  # a share, not a count: "Top 0.1%" is no number of stars
            after = content_terms(text[m.end():m.end() + 60])[:5]
            if not after or not asked.isdisjoint(after):
                return True  # a bare count, or a count of the asked thing
            before = content_terms(text[max(0, m.start() - 50):m.start()])[-4:]
            if not asked.isdisjoint(before):
                return True  # "the team had grown to 300"
        return False
    return has_answer_type(text, kind, question, span)
