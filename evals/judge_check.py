"""How good is the offline judge? Accuracy, precision and recall on labelled pairs.

`evals/datasets/judge_check.jsonl` holds (claim, passage, supported) pairs from
the corpus, more than half of them hard negatives made by changing one number,
name, date or negation in a supported claim.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT, Settings
from rag.embeddings import get_embedder
from rag.errors import StoreError
from rag.support import SupportChecker

__all__ = ["JUDGE_SET", "judge_check"]

JUDGE_SET = PROJECT_ROOT / "evals" / "datasets" / "judge_check.jsonl"


def judge_check(settings: Settings, path: Path = JUDGE_SET) -> dict[str, Any]:
    """Score the support checker on the labelled pairs, overall and per kind."""
    idf = None
    try:  # the corpus's term statistics, when a corpus is indexed
        from rag.lexical import lexical_index
        from rag.store import open_store

        idf = lexical_index(open_store(settings, get_embedder(settings))).idf
    except StoreError:
        pass
    judge = SupportChecker(get_embedder(settings), settings.support_threshold, idf=idf)
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    tp = fp = tn = fn = 0
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        predicted = judge.check(row["claim"], [row["passage"]]).supported
        truth = bool(row["supported"])
        tp += predicted and truth
        fp += predicted and not truth
        fn += truth and not predicted
        tn += not predicted and not truth
        by_kind[row.get("kind", "?")].append(predicted == truth)
    return {
        "pairs": len(rows),
        "accuracy": round((tp + tn) / max(len(rows), 1), 4),
        "precision": round(tp / max(tp + fp, 1), 4),
        "recall": round(tp / max(tp + fn, 1), 4),
        "by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
    }
