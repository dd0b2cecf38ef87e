"""Is a claim backed by a passage? A deterministic support score.

Used twice: to check every answer sentence against the passages it cites, and
as the offline judge of the eval suite. It combines

- hard checks that catch the classic hallucinations of small models: a number
  or a name in the claim that the passage does not contain, or a negation that
  the passage does not share;
- a soft score: how much of the claim's content vocabulary the passage holds
  (stemmed) and how close the claim is in meaning to the passage's best
  matching sentence or pair of sentences (the embedding model).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder
from .text import content_terms, names, negated_terms, numbers, split_sentences, stem, words

__all__ = ["Support", "SupportChecker", "strip_citations"]

_CITATION = re.compile(r"\s*\[\d+\]")

# Weights of the soft score; the threshold is a setting calibrated on
# evals/datasets/judge_check.jsonl (see `rag eval --judge-check`).
_W_TERMS = 0.45
_W_MEANING = 0.55


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


@dataclass(frozen=True)
class Support:
    """Verdict for one claim against one or more passages."""

    score: float
    supported: bool
    reason: str  # empty when supported; otherwise the first failed check
    evidence: str  # the passage sentence(s) that match the claim best

    def to_dict(self) -> dict:
        return {"score": round(self.score, 4), "supported": self.supported, "reason": self.reason}


def _windows(passage: str) -> list[str]:
    sentences = split_sentences(passage) or [passage]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
    return sentences + pairs


def _acronyms(text: str) -> set[str]:
    """Initials of runs of capitalised words: "Full Self Driving Beta" -> "fsdb", "fsd", ..."""
    out = set()
    for run in re.findall(r"(?:\b[A-Z][\w-]*(?:\s+|$)){2,}", text):
        initials = "".join(w[0] for w in run.split()).lower()
        out.update(initials[i:j] for i in range(len(initials)) for j in range(i + 2, len(initials) + 1))
    return out


def _missing_names(claim: str, passage_text: str) -> list[str]:
    """Names in the claim that the passage never mentions.

    Names are compared part by part ("Fei-Fei" -> "fei") and by stem ("LiDARs"),
    and an all-capitals name may stand for a run of capitalised words in the
    passage ("NHTSA" for "National Highway Traffic Safety Administration").
    """
    present = set()
    for w in words(passage_text):
        w = w.removesuffix("'s")
        present.update((w, stem(w)))
    acronyms = None
    missing = []
    for name in sorted(names(claim)):
        parts = [p for p in re.split(r"[-'’]", name.removesuffix("'s").removesuffix("’s")) if p and p != "s"]
        if not parts or all(p in present or stem(p) in present for p in parts):
            continue
        if acronyms is None:
            acronyms = _acronyms(passage_text)
        if name in acronyms:
            continue
        missing.append(name)
    return missing


def _negation_conflict(claim: str, window: str) -> bool:
    """True when one side denies what the other asserts."""
    neg_claim, neg_window = negated_terms(claim), negated_terms(window)
    claim_terms, window_terms = set(content_terms(claim)), set(content_terms(window))
    denies = neg_claim - neg_window
    if denies & window_terms:
        return True
    denied = neg_window - neg_claim
    return bool(denied & claim_terms) and not (neg_claim & neg_window)


class SupportChecker:
    """Scores claims against passages with the embedder plus lexical agreement."""

    def __init__(
        self,
        embedder: Embedder,
        threshold: float = 0.45,
        cache_size: int = 512,
        idf: Callable[[str], float] | None = None,
    ) -> None:
        """``idf`` weights the word overlap by rarity (the corpus's BM25 statistics),
        so a missing specific term ("minbpe") costs more than a missing common one."""
        self.embedder = embedder
        self.threshold = threshold
        self.idf = idf
        self._cache: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def windows(self, passage: str) -> tuple[list[str], np.ndarray]:
        """The passage's sentences, then its sentence pairs, with their embeddings (cached)."""
        with self._lock:
            hit = self._cache.get(passage)
            if hit is not None:
                self._cache.move_to_end(passage)
                return hit
        windows = _windows(passage)
        vectors = self.embedder.embed_batch(windows)
        with self._lock:
            self._cache[passage] = (windows, vectors)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return windows, vectors

    def check(self, claim: str, passages: Sequence[str]) -> Support:
        """Support of ``claim`` by the passages taken together."""
        claim = strip_citations(claim)
        terms = set(content_terms(claim))
        if not terms:
            return Support(0.0, False, "no content to check", "")
        if not passages:
            return Support(0.0, False, "no passage cited", "")
        joined = "\n".join(passages)

        missing_numbers = numbers(claim) - numbers(joined)
        if missing_numbers:
            return Support(0.0, False, f"number {sorted(missing_numbers)[0]} is not in the cited passages", "")
        missing_names = _missing_names(claim, joined)
        if missing_names:
            return Support(0.0, False, f"name {missing_names[0]!r} is not in the cited passages", "")

        if len(terms) < 2:
            return Support(0.0, False, "too short to be a claim", "")

        # Scored window by window (a sentence or two neighbours), not against the
        # whole passage: a claim stitched from words scattered over a table or a
        # list ("designed the course minbpe in 2011") must not pass because each
        # word occurs somewhere.
        weight = {t: (self.idf(t) if self.idf else 1.0) for t in terms}
        total = sum(weight.values()) or 1.0
        claim_vec = self.embedder.embed_query(claim)
        score, best_window = -1.0, ""
        for passage in passages:
            windows, vectors = self.windows(passage)
            sims = vectors @ claim_vec
            for window, sim in zip(windows, np.asarray(sims, dtype=float)):
                recall = sum(weight[t] for t in terms & set(content_terms(window))) / total
                candidate = _W_TERMS * recall + _W_MEANING * max(float(sim), 0.0)
                if candidate > score:
                    score, best_window = candidate, window

        if _negation_conflict(claim, best_window):
            return Support(score, False, "negation differs from the passage", best_window)
        if score < self.threshold:
            return Support(score, False, "too little overlap with the cited passages", best_window)
        return Support(score, True, "", best_window)

    def best(self, claim: str, passages: Sequence[str]) -> tuple[int, Support]:
        """Index and verdict of the single passage that supports ``claim`` best."""
        results = [self.check(claim, [p]) for p in passages]
        if not results:
            return -1, Support(0.0, False, "no passage", "")
        i = max(range(len(results)), key=lambda j: (results[j].supported, results[j].score))
        return i, results[i]
