"""The labelled verification set, and the verifier's figures on it.

`evals/datasets/verification.jsonl` holds claim–passage pairs labelled by
careful reading (by people who never saw the verifier): strong-model-style
paraphrases, yes/no answers, facts combined from two passages, and hard
negatives of every kind (changed number, date or name, swapped roles, a wrong
list item, an invented clause, wrong attribution, negation, a quantifier, a
fact true in the world but not in the passage). Rows with ``"split": "test"``
come from articles no tuning touches.

Rows over Wikipedia (``title``/``para_index`` instead of ``passages``) point
into SQuAD v1.1 dev, which is read from ``../shared`` and never committed;
they are skipped when it is absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT

__all__ = ["VERIFICATION_SET", "Pair", "load_pairs", "score_predictions"]

VERIFICATION_SET = PROJECT_ROOT / "evals" / "datasets" / "verification.jsonl"


@dataclass
class Pair:
    id: str
    claim: str
    passages: list[str]
    titles: list[str]
    supported: bool
    kind: str
    split: str
    corpus: str  # "karpathy" or "wikipedia"
    question: str = ""
    sources: list[str] = field(default_factory=list)  # the articles the passages come from
    origin: str = "written"
    extra: dict[str, Any] = field(default_factory=dict)


def _squad_contexts(path: Path | None) -> dict[str, list[str]] | None:
    from .squad import default_squad_path

    path = path or default_squad_path()
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return {a["title"]: [p["context"] for p in a["paragraphs"]] for a in data}


@lru_cache(maxsize=None)
def _seed_title(name: str) -> str:
    """A seed document's title as ingest reads it (the verifier checks names against titles too)."""
    from ingest.loaders import load_document

    path = PROJECT_ROOT / "seeds" / name
    return load_document(path).title if path.is_file() else ""


def load_pairs(path: Path = VERIFICATION_SET, squad: Path | None = None) -> list[Pair]:
    """Every usable pair; Wikipedia rows are resolved against the SQuAD file when present."""
    contexts: dict[str, list[str]] | None | bool = False
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "title" in row:  # a Wikipedia row: passages are spans of SQuAD paragraphs
            if contexts is False:
                contexts = _squad_contexts(squad)
            if not contexts:
                continue
            paragraphs = contexts[row["title"]]
            passages = [paragraphs[i][s:e] for i, (s, e) in zip(row["para_index"], row["spans"])]
            titles = [row["title"].replace("_", " ")] * len(passages)
            corpus = "wikipedia"
        else:
            passages = row["passages"]
            titles = [_seed_title(name) for name in row.get("source", [])]
            corpus = "karpathy"
        pairs.append(Pair(
            id=row["id"], claim=row["claim"], passages=passages, titles=titles,
            supported=bool(row["supported"]), kind=row.get("kind", "?"), split=row.get("split", "train"),
            corpus=corpus, question=row.get("question", ""), sources=list(row.get("source", [])), origin=row.get("origin", "written"),
        ))
    return pairs


POSITIVE_KINDS = ("verbatim", "paraphrase", "combined", "yes-no", "inference-light", "draft")


def score_predictions(pairs: Iterable[Pair], predicted: Callable[[Pair], bool]) -> dict[str, Any]:
    """Precision and recall of "supported", balanced accuracy, and accuracy per kind."""
    tp = fp = tn = fn = 0
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for pair in pairs:
        p = predicted(pair)
        tp += p and pair.supported
        fp += p and not pair.supported
        fn += pair.supported and not p
        tn += not p and not pair.supported
        by_kind[pair.kind].append(p == pair.supported)
    recall = tp / max(tp + fn, 1)
    specificity = tn / max(tn + fp, 1)
    return {
        "pairs": tp + fp + tn + fn,
        "supported": tp + fn,
        "precision": round(tp / max(tp + fp, 1), 4),
        "recall": round(recall, 4),
        "balanced_accuracy": round((recall + specificity) / 2, 4),
        "false_supported": fp,
        # For positive kinds this is recall; for negative kinds, the share caught.
        "by_kind": {k: {"n": len(v), "correct": round(sum(v) / len(v), 4)} for k, v in sorted(by_kind.items())},
    }
