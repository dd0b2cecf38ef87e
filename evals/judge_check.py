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
    """Score the verifier, as configured, on the labelled pairs of ``split`` (``all`` for every pair)."""
    from rag.verifier import default_params

    from .train_verifier import verdicts

    pairs = [p for p in load_pairs() if split == "all" or p.split == split]
    labelled, _ = verdicts(pairs)
    params = default_params()
    decided = {p.id: v.supported(params) for p, v in zip(pairs, labelled)}
    out: dict[str, Any] = {"split": split, "limits": params.to_json()["limits"]}
    for corpus in sorted({p.corpus for p in pairs}):
        out[corpus] = score_predictions([p for p in pairs if p.corpus == corpus], lambda p: decided[p.id])
    out["all"] = score_predictions(pairs, lambda p: decided[p.id])
    return out
