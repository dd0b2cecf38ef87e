"""`rag eval --squad`: the external benchmark through the real pipeline.

The paragraphs go into a collection of their own (never the user's corpus).
``--retrieval-only`` scores retrieval on every question (see
:mod:`evals.bench_retrieval`); otherwise each question is answered and scored
with SQuAD exact match and token F1 against its reference answers.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.answer import Answerer
from rag.config import Settings

from .bench_retrieval import KS, prepare_squad, run_retrieval_bench
from .metrics import best_over, contains_answer, exact_match, token_f1
from .squad import pid_of_source

__all__ = ["run_squad_eval"]


def run_squad_eval(
    settings: Settings,
    squad_path: Path,
    limit: int | None = None,
    retrieval_only: bool = False,
    out: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    out = out or settings.data_dir / "evals" / "squad"
    out.mkdir(parents=True, exist_ok=True)
    if retrieval_only:
        bench = run_retrieval_bench(settings, squad_path, limit_questions=limit, progress=progress)
        summary = {"mode": "retrieval-only", **asdict(bench)}
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary

    from tqdm.auto import tqdm

    bench_settings, paragraphs, questions = prepare_squad(settings, squad_path, None, limit or 200, progress)
    answerer = Answerer(bench_settings)
    records = []
    for q in tqdm(questions, desc="questions", disable=not progress):
        answer = answerer.ask(q.question)
        text = "" if answer.refused else answer.text
        ranks = [pid_of_source(p.chunk.source) for p in answer.passages]
        records.append({
            "id": q.qid,
            "question": q.question,
            "answers": list(q.answers),
            "answer": answer.text,
            "mode": answer.mode,
            "exact_match": best_over(exact_match, text, q.answers),
            "f1": best_over(token_f1, text, q.answers),
            "contains_answer": contains_answer(text, q.answers),
            "refused": answer.refused,
            "gold_rank": ranks.index(q.pid) + 1 if q.pid in ranks else None,
            "seconds": answer.timings.get("total"),
        })
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    n = max(len(records), 1)
    summary = {
        "mode": "answers",
        "questions": len(records),
        "paragraphs": len(paragraphs),
        "model": answerer.llm.name,
        "exact_match": round(sum(r["exact_match"] for r in records) / n, 4),
        "f1": round(sum(r["f1"] for r in records) / n, 4),
        "contains_answer": round(sum(r["contains_answer"] for r in records) / n, 4),
        "refused": round(sum(r["refused"] for r in records) / n, 4),
        **{f"hit@{k}": round(sum(1 for r in records if r["gold_rank"] and r["gold_rank"] <= k) / n, 4)
           for k in KS if k <= bench_settings.top_k},
        "seconds_p50": round(statistics.median(r["seconds"] for r in records if r["seconds"]), 3) if records else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
