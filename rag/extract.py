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

__all__ = ["Quote", "Relevance", "answer_type", "has_answer_type", "best_quote"]

_PAIR_PENALTY = 0.03
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
    if kind == "number":
        return bool(numbers(sentence) - numbers(question))
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
        """0..1: meaning (0.45), question-term coverage (0.35), echo of the draft (0.2);
        times 0.7 when the sentence lacks the kind of answer asked for."""
        terms = set(content_terms(sentence))
        if not terms:
            return 0.0
        if vector is None:
            vector = self.checker.embedder.embed_query(sentence)
        sim = float(np.asarray(vector) @ self.qvec)
        coverage = sum(w for t, w in self.weights.items() if t in terms) / self.total
        echoed = len(terms & self.draft_terms) / len(terms) if self.draft_terms else 0.0
        relevance = 0.45 * max(sim, 0.0) + 0.35 * coverage + 0.2 * echoed
        if not has_answer_type(sentence, self.kind, self.question):
            relevance *= 0.7
        return relevance


def best_quote(
    question: str,
    passages: Sequence[str],
    checker: SupportChecker,
    idf: Callable[[str], float],
    draft: str = "",
) -> Quote | None:
    """The passage sentence that best answers ``question``, with its relevance in [0, 1]."""
    if not passages:
        return None
    scorer = Relevance(question, checker, idf, draft)
    best: Quote | None = None
    for n, passage in enumerate(passages, start=1):
        windows, vectors = checker.windows(passage)
        count = (len(windows) + 1) // 2  # n sentences come before n - 1 pairs
        for i, (window, vector) in enumerate(zip(windows, vectors)):
            if len(set(content_terms(window))) < 4 or window.rstrip().endswith(":"):
                continue  # headings, fragments and lead-ins ("On Tesla vs Waymo:") are not answers
            # A pair of sentences is quoted only when it answers clearly better
            # than one ("...a course on computer vision. The class was CS231n.").
            relevance = scorer.score(window, vector) - (_PAIR_PENALTY if i >= count else 0.0)
            if best is None or relevance > best.relevance:
                best = Quote(n, window, relevance)
    return best
