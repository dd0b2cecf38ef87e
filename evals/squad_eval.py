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
from .squad import load_squad, pid_of_source

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
            "exact_match": best_over(exact_match, "" if answer.refused else (answer.short_answer or text), q.answers),
            "short_answer": answer.short_answer,
            # The short answer when there is one (what the user reads first), else the whole text.
            "f1": best_over(token_f1, "" if answer.refused else (answer.short_answer or text), q.answers),
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


def scripted_decliner(paragraphs: list, questions: list, path: Path, fooled: float = 0.0) -> Path:
    """Replay answers of a careful strong model: the sentence that holds a reference
    answer, cited; "the passages do not say" for unanswerable questions (and, through
    the replay backend, whenever retrieval missed the sentence).

    ``fooled``: the share of unanswerable questions it answers anyway, with the
    sentence holding SQuAD 2.0's plausible wrong answer (a strong model taken in
    by the adversarial question): a supported sentence that does not answer.
    """
    from rag.text import split_sentences

    texts = {p.pid: p.text for p in paragraphs}
    unanswerable = 0
    with path.open("w", encoding="utf-8") as f:
        for q in questions:
            row: dict[str, Any] = {"question": q.question}
            sentence = None
            targets = q.answers
            if not q.answerable:
                unanswerable += 1
                # Evenly spread: the k-th unanswerable question is answered when the share says so.
                taken_in = int(unanswerable * fooled) > int((unanswerable - 1) * fooled)
                targets = q.plausible if taken_in else ()
            if targets:
                for candidate in split_sentences(texts.get(q.pid, "")):
                    if any(a and a in candidate for a in targets):
                        sentence = candidate.strip()
                        break
            if sentence:
                row["sentences"] = [{"text": sentence, "evidence": sentence}]
            else:
                row["declines"] = True
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def run_squad2_eval(
    settings: Settings,
    squad2_path: Path,
    limit: int | None = None,
    out: Path | None = None,
    progress: bool = True,
    fooled: float = 0.0,
) -> dict[str, Any]:
    """Refusal on SQuAD 2.0, whole pipeline with the reader, on held-out articles (8-15).

    Every ``limit``-th question spread over the held-out articles (default 600)
    is answered; the report gives refusal of unanswerable questions, wrong
    refusals of answerable ones, and, for answered ones, whether the answer
    contains a reference and the short answer's token F1.
    """
    from tqdm.auto import tqdm

    from .train_answerability import _store

    out = out or settings.data_dir / "evals" / ("squad2-replay" if settings.llm == "replay" else "squad2")
    out.mkdir(parents=True, exist_ok=True)
    paragraphs, questions = load_squad(squad2_path)
    held_out = [q for q in questions if int(q.article) >= 8]
    step = max(1, len(held_out) // (limit or 600))
    asked = held_out[::step][: limit or 600]
    update: dict[str, Any] = {"answer_style": settings.answer_style, "reader": settings.reader,
                              "min_dense_score": settings.min_dense_score,
                              "min_query_coverage": settings.min_query_coverage}
    if settings.llm == "replay" and settings.replay_file is None:
        # A capable model that declines exactly when the passages lack the answer.
        update["replay_file"] = scripted_decliner(paragraphs, asked, out / "scripted_answers.jsonl", fooled)
        update["replay_variant"] = "correct"
    bench = _store(settings, "squad2", paragraphs, progress).model_copy(update=update)
    answerer = Answerer(bench)
    records = []
    for q in tqdm(asked, desc="questions", disable=not progress):
        answer = answerer.ask(q.question)
        text = "" if answer.refused else answer.text
        records.append({
            "id": q.qid, "question": q.question, "answerable": q.answerable, "answers": list(q.answers),
            "answer": answer.text, "mode": answer.mode, "refused": answer.refused,
            "short_answer": answer.short_answer,
            "contains_answer": contains_answer(text, q.answers) if q.answerable else None,
            "f1": best_over(token_f1, answer.short_answer or text, q.answers) if q.answerable else None,
            "probability": answer.answerability.get("probability"),
        })
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    pos = [r for r in records if r["answerable"]]
    neg = [r for r in records if not r["answerable"]]
    answered = [r for r in pos if not r["refused"]]
    summary = {
        "mode": "squad2", "questions": len(records), "model": f"{answerer.strategy} {bench.llm}",
        "fooled": fooled if bench.llm == "replay" else None,
        "unanswerable_refused": round(sum(r["refused"] for r in neg) / max(len(neg), 1), 4),
        "answerable_wrongly_refused": round(sum(r["refused"] for r in pos) / max(len(pos), 1), 4),
        "answered_contains_answer": round(statistics.mean(r["contains_answer"] for r in answered), 4) if answered else None,
        "answered_short_answer_f1": round(statistics.mean(r["f1"] for r in answered), 4) if answered else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
