"""Run a question set through the real pipeline and score every answer.

Dataset: JSON Lines, one object per line with ``id``, ``question`` and
optionally ``answers`` (acceptable short answers), ``answerable`` (default
true) and ``evidence`` (corpus spans holding the answer). Unknown fields are
kept and ignored; a malformed line is reported by number and skipped.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answer import Answerer
from rag.config import Settings
from rag.extract import display_text
from rag.text import normalise_for_match

from .metrics import best_over, contains_answer, evidence_rank, exact_match, token_f1
from .replay_labels import ReplayLabels, replay_metrics, replay_summary

__all__ = ["EvalItem", "load_dataset", "run_eval", "summarise"]

KS = (1, 3, 5, 10)


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    answerable: bool = True
    evidence: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def load_dataset(path: Path) -> tuple[list[EvalItem], list[str]]:
    """Items and one problem message per malformed line."""
    items: list[EvalItem] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict) or not str(raw.get("question", "")).strip():
                raise ValueError("needs a non-empty 'question'")
            known = {"id", "question", "answers", "answerable", "evidence"}
            items.append(EvalItem(
                id=str(raw.get("id", f"line-{number}")),
                question=str(raw["question"]),
                answers=[str(a) for a in raw.get("answers") or []],
                answerable=bool(raw.get("answerable", True)),
                evidence=[str(e) for e in raw.get("evidence") or []],
                extra={k: v for k, v in raw.items() if k not in known},
            ))
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}:{number}: skipped malformed line ({exc})")
    return items, problems


def _llm_judge(answer: Any, judge: Any) -> dict[str, int]:
    """An independent model's verdicts on the shown sentences (every one the verifier passed)."""
    texts = [p.chunk.text for p in answer.passages]
    shown = [s for s in answer.sentences if s.supported] if not answer.refused else []
    counts = {"llm_judged": 0, "llm_supported": 0, "llm_undecided": 0}
    for sentence in shown:
        cited = [texts[n - 1] for n in sentence.citations if 1 <= n <= len(texts)]
        verdict = judge.judge(sentence.text, cited) if cited else False
        if verdict is None:
            counts["llm_undecided"] += 1
            continue
        counts["llm_judged"] += 1
        counts["llm_supported"] += verdict
    return counts


def _independent(answer: Any) -> dict[str, Any]:
    """Checks of the shown answer that do not use the verifier.

    A quote must occur verbatim in the passage it cites, and a short answer in
    its quote: string matching, nothing the answer policy computed.
    """
    texts = {n: normalise_for_match(display_text(p.chunk.text)) for n, p in enumerate(answer.passages, start=1)}
    quotes = [s for s in answer.sentences if s.note == "quoted"] if answer.mode == "quote" else []
    verbatim = sum(
        bool(s.citations) and all(normalise_for_match(s.text) in texts.get(n, "") for n in s.citations)
        for s in quotes
    )
    span_ok = None
    if answer.mode == "quote" and answer.short_answer:
        span_ok = any(normalise_for_match(answer.short_answer) in normalise_for_match(s.text) for s in quotes)
    return {"quotes": len(quotes), "quotes_verbatim": verbatim, "short_answer_verbatim": span_ok}


def _score(item: EvalItem, answer: Any, retrieved: list[str], llm_judge: Any = None,
           labels: ReplayLabels | None = None) -> dict[str, Any]:
    rank = evidence_rank(retrieved, item.evidence) if item.evidence else None
    draft_sentences = [s for s in answer.sentences if s.note != "quoted"]
    shown = [s for s in draft_sentences if s.supported] if answer.mode == "answer" else []
    metrics: dict[str, Any] = {
        "refused": answer.refused,
        "mode": answer.mode,
        "error": answer.error is not None,
        "removed_citations": answer.removed_citations,
        "draft_sentences": len(draft_sentences),
        # The verifier's own verdicts: what it let through, not whether that was right.
        "checker_passed": len(shown),
        "evidence_rank": rank,
        "tokens_generated": answer.tokens_generated,
        **_independent(answer),
    }
    if llm_judge is not None:
        metrics.update(_llm_judge(answer, llm_judge))
    if labels is not None:
        metrics.update(replay_metrics(labels, item.question, answer))
    if item.answerable and item.answers:
        text = answer.text if not answer.refused else ""
        metrics["exact_match"] = best_over(exact_match, text, item.answers)
        metrics["f1"] = best_over(token_f1, answer.short_answer or text, item.answers)
        metrics["contains_answer"] = contains_answer(text, item.answers)
    return metrics


def run_eval(
    settings: Settings,
    items: list[EvalItem],
    progress: Callable[[int, int], None] | None = None,
    answerer: Answerer | None = None,
    judge: str = "offline",
) -> list[dict[str, Any]]:
    """Answer every item; returns one record per item (question, full answer, metrics).

    ``judge="llm"`` adds verdicts from the configured LLM on every shown sentence.
    """
    answerer = answerer or Answerer(settings)
    llm_judge = None
    if judge == "llm":
        from .llm_judge import LLMJudge

        llm_judge = LLMJudge(answerer.llm)
    labels = ReplayLabels.for_settings(settings)
    records = []
    for i, item in enumerate(items, start=1):
        answer = answerer.ask(item.question)
        retrieved = [c.chunk.text for c in answerer.retriever.retrieve(answer.standalone_question, k=max(KS)).passages]
        records.append({
            "id": item.id,
            "question": item.question,
            "answerable": item.answerable,
            "answers": item.answers,
            "evidence": item.evidence,
            "result": answer.to_dict(),
            "metrics": _score(item, answer, retrieved, llm_judge, labels),
        })
        if progress:
            progress(i, len(items))
    return records


def _llm_summary(m: list[dict[str, Any]]) -> dict[str, Any]:
    if not any("llm_judged" in x for x in m):
        return {}
    judged = sum(x.get("llm_judged", 0) for x in m)
    return {
        "faithfulness_llm_judge": _ratio(sum(x.get("llm_supported", 0) for x in m), judged),
        "llm_judge_undecided": sum(x.get("llm_undecided", 0) for x in m),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _p(values: list[float], q: float) -> float | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return round(statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0], 4)


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregates over the records (definitions in the README)."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    m = [r["metrics"] for r in records]
    ranks = [r["metrics"]["evidence_rank"] for r in answerable if r.get("evidence")]
    scored = [r["metrics"] for r in answerable if "f1" in r["metrics"]]
    timings = [r["result"]["timings"] for r in records]
    return {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": _share([r["metrics"]["refused"] for r in unanswerable]),
        "answerable_refused": _share([r["metrics"]["refused"] for r in answerable]),
        "errors": sum(x["error"] for x in m),
        "modes": {mode: sum(1 for x in m if x["mode"] == mode) for mode in ("answer", "quote", "refusal", "error")},
        "exact_match": round(statistics.mean(x["exact_match"] for x in scored), 4) if scored else None,
        "f1": round(statistics.mean(x["f1"] for x in scored), 4) if scored else None,
        "contains_answer": round(statistics.mean(x["contains_answer"] for x in scored), 4) if scored else None,
        "removed_citations": sum(x["removed_citations"] for x in m),
        # Independent of the verifier: quotes and short answers found verbatim in what they cite.
        "quotes_verbatim": _ratio(sum(x["quotes_verbatim"] for x in m), sum(x["quotes"] for x in m)),
        "short_answers_verbatim": _share([x["short_answer_verbatim"] for x in m
                                          if x["short_answer_verbatim"] is not None]),
        # The verifier grading its own output: reported as what it is, never as faithfulness.
        "checker_pass_rate": _ratio(sum(x["checker_passed"] for x in m), sum(x["draft_sentences"] for x in m)),
        **replay_summary(records),
        "model": records[0]["result"]["model"] if records else None,
        **_llm_summary(m),
        "retrieval": {f"hit@{k}": _share([r is not None and r <= k for r in ranks]) for k in KS}
        | {"mrr": round(statistics.mean(1 / r if r else 0 for r in ranks), 4) if ranks else None},
        "latency_s": {
            "retrieval_p50": _p([t.get("retrieval") for t in timings], 50),
            "first_token_p50": _p([t.get("first_token") for t in timings], 50),
            "first_sentence_p50": _p([t.get("first_sentence") for t in timings], 50),
            "generation_p50": _p([t.get("generation") for t in timings], 50),
            "checking_p50": _p([t.get("checking") for t in timings], 50),
            "total_p50": _p([t.get("total") for t in timings], 50),
            "total_p95": _p([t.get("total") for t in timings], 95),
        },
        "tokens_generated": sum(x["tokens_generated"] for x in m),
    }
