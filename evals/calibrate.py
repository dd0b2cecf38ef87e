"""Calibrate the retrieval-evidence refusal thresholds on the dev set.

For every dev question the retriever's two evidence signals are computed: the
best passage's cosine similarity to the question (``top_dense``) and the share
of the question's IDF-weighted terms found in the passages (``coverage``). The
grid search picks the pair of thresholds that refuses the most unanswerable
questions while wrongly refusing at most ``max_false_refusals`` of the
answerable ones, preferring the loosest such pair, because the sentence check
after generation is a second line of defence.

Run: ``python -m evals.calibrate`` (prints the table and the chosen values).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from rag.config import PROJECT_ROOT, Settings, load_settings
from rag.embeddings import get_embedder
from rag.retrieval import Retriever
from rag.store import open_store

__all__ = ["Calibration", "calibrate_refusal", "DEV_SET"]

DEV_SET = PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl"


@dataclass
class Calibration:
    min_dense_score: float
    min_query_coverage: float
    unanswerable_refused: float
    answerable_refused: float
    rows: list[dict]


def _features(settings: Settings, dataset: Path) -> list[dict]:
    embedder = get_embedder(settings)
    retriever = Retriever(settings, open_store(settings, embedder), embedder)
    rows = []
    for line in dataset.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        result = retriever.retrieve(item["question"])
        rows.append({
            "id": item["id"],
            "answerable": item.get("answerable", True),
            "top_dense": result.top_dense,
            "coverage": result.query_coverage,
        })
    return rows


def calibrate_refusal(
    settings: Settings | None = None, dataset: Path = DEV_SET, max_false_refusals: float = 0.05
) -> Calibration:
    settings = settings or load_settings()
    rows = _features(settings, dataset)
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    best: tuple | None = None
    for d in [x / 100 for x in range(0, 61, 2)]:
        for c in [x / 100 for x in range(0, 96, 5)]:
            def refused(r: dict) -> bool:
                return r["top_dense"] < d or r["coverage"] < c

            wrong = sum(refused(r) for r in pos) / max(len(pos), 1)
            caught = sum(refused(r) for r in neg) / max(len(neg), 1)
            if wrong > max_false_refusals:
                continue
            key = (caught, -wrong, -d, -c)
            if best is None or key > best[0]:
                best = (key, d, c, caught, wrong)
    assert best is not None
    _, d, c, caught, wrong = best
    return Calibration(d, c, caught, wrong, rows)


def main() -> int:
    result = calibrate_refusal()
    print(f"{'id':<12}{'answerable':>11}{'top_dense':>11}{'coverage':>10}")
    for r in sorted(result.rows, key=lambda r: (r["answerable"], r["coverage"])):
        print(f"{r['id']:<12}{str(r['answerable']):>11}{r['top_dense']:>11.3f}{r['coverage']:>10.3f}")
    print(
        f"\nchosen: min_dense_score={result.min_dense_score:.2f} min_query_coverage={result.min_query_coverage:.2f}"
        f" -> unanswerable refused {result.unanswerable_refused:.2%}, answerable refused {result.answerable_refused:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
