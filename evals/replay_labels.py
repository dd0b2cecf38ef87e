"""End-to-end figures for scripted answers: are true ones shown, do fabricated ones get through?

With ``--llm replay`` the answers are known in advance, and so is the truth
about each sentence (``fabricated: true`` on the one invented fact of a
fabricated variant). That makes the outcome measurable without trusting the
verifier: a fabricated sentence on screen is a failure, a correct answer
replaced by a quote or a refusal is a loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rag.config import Settings
from rag.replay import question_key
from rag.text import normalise_for_match

__all__ = ["ReplayLabels", "replay_metrics", "replay_summary"]


@dataclass
class ReplayLabels:
    variant: str
    rows: dict[str, dict[str, Any]]

    @classmethod
    def for_settings(cls, settings: Settings) -> "ReplayLabels | None":
        if settings.llm != "replay" or settings.replay_file is None or not settings.replay_file.is_file():
            return None
        rows = {}
        for line in settings.replay_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("variant", settings.replay_variant) == settings.replay_variant:
                    rows[question_key(row["question"])] = row
        return cls(settings.replay_variant, rows)


def _same(a: str, b: str) -> bool:
    a, b = normalise_for_match(a).rstrip(". "), normalise_for_match(b).rstrip(". ")
    return a == b or (len(a) > 20 and (a in b or b in a))


def replay_metrics(labels: ReplayLabels, question: str, answer: Any) -> dict[str, Any]:
    row = labels.rows.get(question_key(question))
    if row is None:
        return {}
    shown = [s.text for s in answer.sentences if s.supported and s.note != "quoted"] if answer.mode == "answer" else []
    scripted = row.get("sentences", [])
    fabricated = [s["text"] for s in scripted if s.get("fabricated")]
    return {
        "replay_variant": labels.variant,
        "replay_declines": bool(row.get("declines")),
        "replay_has_fabrication": bool(fabricated),
        "replay_fabricated_shown": any(_same(f, s) for f in fabricated for s in shown),
        "replay_true_sentences": sum(not s.get("fabricated") for s in scripted),
        "replay_true_shown": sum(any(_same(s["text"], t) for t in shown) for s in scripted if not s.get("fabricated")),
        "replay_shown_as_answer": answer.mode == "answer",
    }


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def replay_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    m = [r["metrics"] for r in records if "replay_variant" in r["metrics"]]
    if not m:
        return {}
    answered = [x for x in m if not x["replay_declines"]]
    declined = [x for x in m if x["replay_declines"]]
    fabricated = [x for x in m if x["replay_has_fabrication"]]
    out: dict[str, Any] = {"replay_variant": m[0]["replay_variant"]}
    if fabricated:
        out["replay_fabricated_answers_shown"] = _share([x["replay_fabricated_shown"] for x in fabricated])
        out["replay_fabricated_answers"] = len(fabricated)
    correct = [x for x in answered if not x["replay_has_fabrication"]]
    if correct:
        out["replay_correct_answers_shown"] = _share([x["replay_shown_as_answer"] for x in correct])
        out["replay_correct_answers"] = len(correct)
        total = sum(x["replay_true_sentences"] for x in correct)
        out["replay_true_sentences_shown"] = round(sum(x["replay_true_shown"] for x in correct) / total, 4) if total else None
    if declined:
        out["replay_model_refusals_respected"] = _share([x["refused"] for x in declined])
    return out
