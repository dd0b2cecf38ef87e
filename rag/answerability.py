"""Does the corpus answer this question? A learned decision from the pipeline's own signals.

Thresholds tuned on a handful of questions over one corpus do not carry over
to another. This model is fitted on thousands of questions from other corpora
(SQuAD 2.0's adversarial unanswerables, SQuAD 1.1 with the question's own
paragraph left out of the index), split by article, and its operating point
is a stated target: "refuse at most N % of the answerable questions"
(``max_wrong_refusals``). ``rag calibrate --dataset F`` recomputes that
operating point on a user's own labelled questions and writes it to the
config (``answerability_threshold``). The model and its calibration table live
in ``rag/params/answerability.json`` (``python -m evals.train_answerability``).

The signals, all computed before any language model runs:

- ``top_dense``: the best passage's cosine similarity to the question;
- ``dense_margin`` / ``fused_margin``: how far the best passage stands out;
- ``coverage``: IDF-weighted share of the question's terms in the passages,
  over the terms the corpus knows (a word the corpus never uses is not "the
  rarest word": it is counted apart, in ``unseen``);
- ``quote_relevance``, ``quote_coverage``, ``quote_similarity``,
  ``quote_has_type``: how well the best quotable window answers (relevance on
  the quote scale, its share of the question's terms, its cosine, whether it
  holds the kind of answer asked for).

A capable model's own "the passages do not answer this" is not a feature
here: the policy respects it outright.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .extract import Extract, Relevance
from .qtypes import has_answer_type
from .retrieval import Retrieval
from .text import content_terms

__all__ = ["FEATURES", "AnswerabilityModel", "answerability_signals", "assessed_passages", "default_model"]

PARAMS_FILE = Path(__file__).with_name("params") / "answerability.json"

FEATURES = (
    "top_dense", "dense_margin", "fused_margin", "coverage", "unseen",
    "quote_relevance", "quote_coverage", "quote_similarity", "quote_has_type",
)


def answerability_signals(
    retrieval: Retrieval, extract: Extract | None, relevance: Relevance, doc_freq: dict[str, int] | None
) -> dict[str, float]:
    """The feature vector of one question (see the module doc)."""
    dense = sorted((c.dense_score for c in retrieval.passages if c.dense_score is not None), reverse=True)
    fused = sorted((c.fused_score for c in retrieval.passages), reverse=True)
    terms = set(content_terms(relevance.question))
    known = {t for t in terms if doc_freq is None or doc_freq.get(t, 0) > 0}
    present: set[str] = set()
    for p in retrieval.passages:
        present.update(content_terms(f"{p.chunk.title}\n{p.chunk.text}"))
    weights = {t: relevance.weights.get(t, 1.0) for t in known}
    total = sum(weights.values()) or 1.0
    signals = {
        "top_dense": dense[0] if dense else 0.0,
        "dense_margin": dense[0] - dense[1] if len(dense) > 1 else (dense[0] if dense else 0.0),
        "fused_margin": fused[0] - fused[1] if len(fused) > 1 else 1.0,
        "coverage": sum(w for t, w in weights.items() if t in present) / total if known else 0.0,
        "unseen": (len(terms) - len(known)) / len(terms) if terms else 0.0,
        "quote_relevance": 0.0,
        "quote_coverage": 0.0,
        "quote_similarity": 0.0,
        "quote_has_type": 0.0,
    }
    if extract is not None:
        window_terms = set(content_terms(extract.window))
        signals["quote_relevance"] = extract.relevance
        signals["quote_coverage"] = relevance.coverage(window_terms)
        vector = relevance.embedder.embed_query(extract.window)
        signals["quote_similarity"] = float(np.asarray(vector) @ relevance.qvec)
        signals["quote_has_type"] = float(has_answer_type(extract.window, relevance.kind, relevance.question))
    return signals


@dataclass(frozen=True)
class AnswerabilityModel:
    """Logistic weights, and the answerable questions' score quantiles for choosing thresholds."""

    weights: dict[str, float]
    bias: float
    mean: dict[str, float]
    scale: dict[str, float]
    # quantiles[i] = the score below which i % of the training set's answerable questions fall
    quantiles: list[float] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> "AnswerabilityModel":
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["weights"], raw["bias"], raw["mean"], raw["scale"], raw.get("quantiles", []), raw.get("meta", {}))

    def probability(self, signals: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (signals.get(f, 0.0) - self.mean.get(f, 0.0)) / (self.scale.get(f, 1.0) or 1.0)
            for f, w in self.weights.items()
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def threshold_for(self, max_wrong_refusals: float) -> float:
        """The score that refuses at most this share of answerable questions (on the training corpora)."""
        if not self.quantiles:
            return 0.5
        i = min(max(int(round(max_wrong_refusals * 100)), 0), len(self.quantiles) - 1)
        return self.quantiles[i]


# The retrieval depth the answerability model reads when its file does not say (files
# trained before the depth was recorded were trained at 5).
_TRAINED_DEPTH = 5


def assessed_passages() -> int:
    """How many of the top passages answerability reads: the depth its model was trained at,
    whatever ``top_k`` gives the model (more passages would raise coverage and the best quote's
    score, and with them the answerability of questions the corpus does not answer)."""
    model = default_model()
    return int(model.meta.get("passages", _TRAINED_DEPTH)) if model is not None else _TRAINED_DEPTH


@lru_cache(maxsize=1)
def default_model() -> AnswerabilityModel | None:
    """The committed model, or None before one has been trained."""
    return AnswerabilityModel.load() if PARAMS_FILE.is_file() else None
