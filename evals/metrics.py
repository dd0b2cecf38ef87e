"""Answer and retrieval metrics, each one small and exactly defined (see README)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from rag.text import normalise_for_match

__all__ = ["normalize_answer", "exact_match", "token_f1", "best_over", "contains_answer", "evidence_rank"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().replace("’", "'")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"“", "”"})
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    common = Counter(pred) & Counter(ref)
    overlap = sum(common.values())
    if not pred or not ref or overlap == 0:
        return float(pred == ref)
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over(metric, prediction: str, references: Sequence[str]) -> float:  # noqa: ANN001
    """The best score of ``prediction`` over the acceptable references (0 without any)."""
    return max((metric(prediction, r) for r in references), default=0.0)


def contains_answer(prediction: str, references: Sequence[str]) -> float:
    """1 if any reference answer appears in the prediction (normalised), else 0."""
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(r)} " in pred for r in references if normalize_answer(r)))


def evidence_rank(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing any evidence span (case/space-normalised)."""
    spans = [normalise_for_match(e) for e in evidence if e.strip()]
    for rank, text in enumerate(passages, start=1):
        norm = normalise_for_match(text)
        if any(span in norm for span in spans):
            return rank
    return None
