"""Pick the passage sentence that answers a question: the quote fallback.

When no sentence of the model's draft survives the check, the product quotes
the corpus instead of inventing. The sentence is chosen by classic extractive
QA signals: closeness in meaning to the question (the embedding model), how
much of the question's IDF-weighted vocabulary it holds, whether it has the
kind of answer the question asks for (a date for "when", a number for "how
many", a new name for "who"), and how much of it the draft echoed (a small
model often points at the right sentence while garbling it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .support import SupportChecker
from .text import content_terms, names, numbers

__all__ = ["Quote", "Relevance", "answer_type", "has_answer_type", "best_quote", "best_quotes"]

_PAIR_PENALTY = 0.03
# A second quote must bring this share of the question's (IDF-weighted) terms
# that the first one lacks: "Where did he study, and where did he work?".
_SECOND_QUOTE_GAIN = 0.25
_YEAR = re.compile(r"1[89]\d\d|20\d\d")
_MONTHS = "january february march april may june july august september october november december".split()


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for: "date", "number", "name" or None."""
    q = question.lower().strip()
    if re.match(r"^(when|what year|which year|in what year|what date|since when)\b", q) or " what year" in q:
        return "date"
    if re.match(r"^(how (many|much|long|old|far)|what (percentage|percent|number|share))\b", q):
        return "number"
    if re.match(r"^(who|whom|whose|where|which (company|person|university|team))\b", q):
        return "name"
    return None


def has_answer_type(sentence: str, kind: str | None, question: str) -> bool:
    """Whether ``sentence`` contains something of the expected kind not already in the question."""
    if kind is None:
        return True
    if kind == "date":
        return bool(re.search(r"\b(1[89]\d\d|20\d\d)s?\b", sentence)) or any(m in sentence.lower() for m in _MONTHS)
    if kind == "number":  # a year is not a quantity: "how much funding" is not answered by "in 2024"
        return any(not _YEAR.fullmatch(n) for n in numbers(sentence) - numbers(question))
    return bool(names(sentence) - names(question))


@dataclass(frozen=True)
class Quote:
    passage: int  # 1-based passage number
    sentence: str
    relevance: float


class Relevance:
    """Scores how well sentences answer one question, on one scale for quotes and drafts."""

    def __init__(
        self, question: str, checker: SupportChecker, idf: Callable[[str], float], draft: str = ""
    ) -> None:
        self.question = question
        self.checker = checker
        self.qvec = checker.embedder.embed_query(question)
        terms = set(content_terms(question))
        self.weights = {t: idf(t) for t in terms}
        self.total = sum(self.weights.values()) or 1.0
        self.draft_terms = set(content_terms(draft))
        self.kind = answer_type(question)

    def score(self, sentence: str, vector: np.ndarray | None = None) -> float:
        """0..1: closeness in meaning (0.55) and question-term coverage (0.45), times
        0.7 when the sentence lacks the kind of answer asked for. Thresholds apply to this."""
        terms = set(content_terms(sentence))
        if not terms:
            return 0.0
        if vector is None:
            vector = self.checker.embedder.embed_query(sentence)
        sim = float(np.asarray(vector) @ self.qvec)
        relevance = 0.55 * max(sim, 0.0) + 0.45 * self.coverage(terms)
        if not has_answer_type(sentence, self.kind, self.question):
            relevance *= 0.7
        return relevance

    def coverage(self, terms: set[str]) -> float:
        """IDF-weighted share of the question's terms among ``terms``."""
        return sum(w for t, w in self.weights.items() if t in terms) / self.total

    def echo(self, sentence: str) -> float:
        """Share of the sentence the draft repeated: a tie-breaker for ranking only,
        since a model that invents freely must not lift a sentence over the bar."""
        terms = set(content_terms(sentence))
        return len(terms & self.draft_terms) / len(terms) if terms and self.draft_terms else 0.0


def _is_prose(window: str) -> bool:
    """Sentences end in punctuation; headings, titles and table rows mostly do not."""
    text = window.rstrip()
    if text.endswith(":"):
        return False  # a lead-in ("On Tesla vs Waymo:")
    return text[-1:] in ".!?\"”’)]" or len(text.split()) >= 12


def best_quotes(
    question: str,
    passages: Sequence[str],
    checker: SupportChecker,
    idf: Callable[[str], float],
    draft: str = "",
    threshold: float = 0.0,
) -> list[Quote]:
    """The passage sentence (or pair) that best answers ``question``, plus a second one
    from another passage when it covers question terms the first does not.

    Candidates are ranked by relevance plus a small bonus for what the draft
    echoed; only quotes whose relevance alone reaches ``threshold`` are returned.
    """
    if not passages:
        return []
    scorer = Relevance(question, checker, idf, draft)
    ranked: list[tuple[float, Quote]] = []
    for n, passage in enumerate(passages, start=1):
        windows, vectors = checker.windows(passage)
        count = (len(windows) + 1) // 2  # n sentences come before n - 1 pairs
        for i, (window, vector) in enumerate(zip(windows, vectors)):
            if len(set(content_terms(window))) < 4 or not _is_prose(window):
                continue
            # A pair of sentences is quoted only when it answers clearly better
            # than one ("...a course on computer vision. The class was CS231n.").
            relevance = scorer.score(window, vector) - (_PAIR_PENALTY if i >= count else 0.0)
            ranked.append((relevance + 0.1 * scorer.echo(window), Quote(n, window, relevance)))
    ranked.sort(key=lambda x: -x[0])
    chosen = [q for _, q in ranked if q.relevance >= threshold][:1]
    if not chosen:
        return []
    first_terms = set(content_terms(chosen[0].sentence))
    for _, quote in ranked:
        if quote.passage == chosen[0].passage or quote.relevance < threshold:
            continue
        gain = scorer.coverage(set(content_terms(quote.sentence)) - first_terms)
        if gain >= _SECOND_QUOTE_GAIN:
            chosen.append(quote)
        break  # only the best candidate from another passage is considered
    return chosen


def best_quote(
    question: str,
    passages: Sequence[str],
    checker: SupportChecker,
    idf: Callable[[str], float],
    draft: str = "",
) -> Quote | None:
    """The single best quote, whatever its relevance (for calibration and tests)."""
    quotes = best_quotes(question, passages, checker, idf, draft, threshold=-1.0)
    return quotes[0] if quotes else None
