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
from rag.policy import passages_for

from .bench_retrieval import KS, prepare_squad, run_retrieval_bench
from .metrics import best_over, contains_answer, exact_match, token_f1
from .squad import load_squad, paragraph_removed, pid_of_source, removed_split

__all__ = ["refusal_curve", "run_refusal_eval", "run_squad2_eval", "run_squad_eval", "scripted_decliner"]


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
           for k in KS if k <= passages_for(bench_settings)},
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
    """Refusal on SQuAD 2.0 (adversarial unanswerables), held-out articles 8-15: see :func:`run_refusal_eval`."""
    return run_refusal_eval(settings, squad2_path, False, limit, out, progress, fooled)


def run_refusal_eval(
    settings: Settings,
    path: Path,
    removed: bool = False,
    limit: int | None = None,
    out: Path | None = None,
    progress: bool = True,
    fooled: float = 0.0,
) -> dict[str, Any]:
    """Refusal through the whole pipeline (the reader too), on articles the answerability model never saw.

    Two corpora, each in a collection of its own:

    - SQuAD 2.0 (``path`` is the half dev set): answerable questions and
      adversarial unanswerable ones, articles 8-15; every ``limit``-th question
      (default 600) is asked.
    - ``removed``: SQuAD 1.1 with each question's own paragraph left out of the
      index (:func:`evals.squad.paragraph_removed`), articles 8-15, every
      question of them (~500).

    The report gives refusal of unanswerable questions, wrong refusals of
    answerable ones, and, for answered ones, whether the answer contains a
    reference and the short answer's token F1; ``curve.png`` plots the whole
    trade-off over the answerability threshold, with the shipped point marked.
    """
    from tqdm.auto import tqdm

    from rag.policy import operating_threshold

    from .train_answerability import _store

    name = "squad1-removed" if removed else "squad2"
    out = out or settings.data_dir / "evals" / (f"{name}-replay" if settings.llm == "replay" else name)
    out.mkdir(parents=True, exist_ok=True)
    paragraphs, questions = load_squad(path)
    if removed:
        indexed, questions = paragraph_removed(paragraphs, questions)
        held_out = [q for q in questions if removed_split(q) == "test"]
    else:
        indexed = paragraphs
        held_out = [q for q in questions if int(q.article) >= 8]
    wanted = limit or (len(held_out) if removed else 600)
    step = max(1, len(held_out) // wanted)
    asked = held_out[::step][:wanted]
    update: dict[str, Any] = {"answer_style": settings.answer_style, "reader": settings.reader,
                              "min_dense_score": settings.min_dense_score,
                              "min_query_coverage": settings.min_query_coverage}
    if settings.llm == "replay" and settings.replay_file is None:
        # A capable model that declines exactly when the passages lack the answer.
        update["replay_file"] = scripted_decliner(paragraphs, asked, out / "scripted_answers.jsonl", fooled)
        update["replay_variant"] = "correct"
    bench = _store(settings, name, indexed, progress).model_copy(update=update)
    answerer = Answerer(bench)
    records = []
    for q in tqdm(asked, desc="questions", disable=not progress):
        answer = answerer.ask(q.question)
        text = "" if answer.refused else answer.text
        records.append({
            "id": q.qid, "question": q.question, "answerable": q.answerable, "answers": list(q.answers),
            "answer": answer.text, "mode": answer.mode, "refused": answer.refused,
            "refusal_reason": answer.refusal_reason, "short_answer": answer.short_answer,
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
    threshold = operating_threshold(bench)
    curve = refusal_curve(records)
    summary = {
        "mode": name, "questions": len(records), "model": f"{answerer.strategy} {bench.llm}",
        "fooled": fooled if bench.llm == "replay" else None,
        "unanswerable_refused": round(sum(r["refused"] for r in neg) / max(len(neg), 1), 4),
        "answerable_wrongly_refused": round(sum(r["refused"] for r in pos) / max(len(pos), 1), 4),
        "answered_contains_answer": round(statistics.mean(r["contains_answer"] for r in answered), 4) if answered else None,
        "answered_short_answer_f1": round(statistics.mean(r["f1"] for r in answered), 4) if answered else None,
        "threshold": threshold,
        # The best the threshold alone can reach, for the targets' kind of question:
        # unanswerable refused while at most this share of answerable ones is refused.
        "at_wrong_refusals": {str(w): _best_at(curve, w) for w in (0.05, 0.10, 0.15)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if threshold is not None and neg and pos:
        plot_curve(records, curve, threshold, out / "curve.png", f"{name}, held-out articles ({len(records)} questions)")
    return summary


def refusal_curve(records: list[dict[str, Any]], points: int = 201) -> list[tuple[float, float, float]]:
    """(threshold, answerable wrongly refused, unanswerable refused) as the answerability threshold moves.

    A refusal for another reason (nothing close, an unfilled slot, the model
    declining) stays whatever the threshold; a question the answerability
    model refused is answered below its probability.
    """
    from rag.policy import NOT_ANSWERED

    # (after a draft none of which was supported, the reason ends with NOT_ANSWERED)
    fixed = [r["refused"] and not (r.get("refusal_reason") or "").endswith(NOT_ANSWERED) for r in records]
    probs = [r.get("probability") for r in records]
    pos = sum(1 for r in records if r["answerable"]) or 1
    neg = sum(1 for r in records if not r["answerable"]) or 1
    out = []
    for i in range(points):
        t = i / (points - 1)
        refused = [f or (p is not None and p < t) for f, p in zip(fixed, probs)]
        wrong = sum(x for x, r in zip(refused, records) if r["answerable"]) / pos
        right = sum(x for x, r in zip(refused, records) if not r["answerable"]) / neg
        out.append((t, wrong, right))
    return out


def _best_at(curve: list[tuple[float, float, float]], max_wrong: float) -> float:
    return round(max((right for _, wrong, right in curve if wrong <= max_wrong), default=0.0), 4)


def plot_curve(records: list[dict[str, Any]], curve: list[tuple[float, float, float]], threshold: float, path: Path,
               title: str) -> Path:
    """The trade-off ``curve`` (:func:`refusal_curve` of ``records``), the shipped point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = [r for r in records if r["answerable"]]
    neg = [r for r in records if not r["answerable"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.plot([c[1] for c in curve], [c[2] for c in curve], label="answerability threshold 0..1")
    ax.scatter([sum(r["refused"] for r in pos) / len(pos)], [sum(r["refused"] for r in neg) / len(neg)],
               color="C3", zorder=3, label=f"shipped (threshold {threshold:.3f})")
    ax.axvline(0.15, color="#bbb", linestyle=":", linewidth=1)
    ax.axhline(0.75, color="#bbb", linestyle=":", linewidth=1)
    ax.set_xlabel("answerable questions wrongly refused")
    ax.set_ylabel("unanswerable questions refused")
    ax.set_title(title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
