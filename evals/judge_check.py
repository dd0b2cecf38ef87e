"""How good is the verifier? Precision and recall on the labelled verification set.

The labels come from careful reading (`evals/datasets/verification.jsonl`,
see :mod:`evals.verification`), not from the verifier, so these are the
figures to trust; the test split comes from articles no tuning touched.
"""

from __future__ import annotations

from typing import Any

from rag.config import Settings

from .verification import load_pairs, score_predictions

__all__ = ["judge_check"]


def judge_check(settings: Settings, split: str = "test") -> dict[str, Any]:
    """Score the verifier on the labelled pairs of ``split`` (``all`` for every pair)."""
    from .train_verifier import pair_features
    from rag.verifier import FEATURES, default_params

    pairs = [p for p in load_pairs() if split == "all" or p.split == split]
    x, vetoed, _, _ = pair_features(pairs)
    params = default_params()
    threshold = params.threshold if settings.support_threshold is None else settings.support_threshold
    decided = {
        p.id: (not v) and params.probability(dict(zip(FEATURES, row))) >= threshold
        for p, row, v in zip(pairs, x, vetoed)
    }
    out: dict[str, Any] = {"split": split, "threshold": threshold}
    for corpus in sorted({p.corpus for p in pairs}):
        out[corpus] = score_predictions([p for p in pairs if p.corpus == corpus], lambda p: decided[p.id])
    out["all"] = score_predictions(pairs, lambda p: decided[p.id])
    return out
