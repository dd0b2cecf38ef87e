"""`rag calibrate`: fit the refusal operating point to your own corpus and labelled questions.

The answerability model (:mod:`rag.answerability`) ships with an operating
point chosen on other corpora. On a new corpus, score distributions shift; a
user with a few dozen labelled questions (JSONL: ``question``, ``answerable``)
can recompute it: the threshold that wrongly refuses at most
``max_wrong_refusals`` of *their* answerable questions. It is written to the
config file as ``answerability_threshold``, which the settings then load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import PROJECT_ROOT, Settings
from rag.errors import ConfigError

__all__ = ["Calibration", "DEV_SET", "calibrate", "write_threshold"]

DEV_SET = PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl"


@dataclass
class Calibration:
    threshold: float
    questions: int
    answerable: int
    unanswerable_refused: float | None
    answerable_refused: float | None
    rows: list[dict[str, Any]]


def calibrate(settings: Settings, dataset: Path, max_wrong_refusals: float | None = None) -> Calibration:
    """The threshold meeting the target on ``dataset``, and the rates it gives there."""
    from rag.answer import Answerer
    from rag.answerability import default_model

    if default_model() is None:
        raise ConfigError("no answerability model is installed (rag/params/answerability.json is missing)")
    if not dataset.is_file():
        raise ConfigError(f"dataset {dataset} not found; pass --dataset FILE.jsonl")
    target = settings.max_wrong_refusals if max_wrong_refusals is None else max_wrong_refusals
    items = [json.loads(x) for x in dataset.read_text(encoding="utf-8").splitlines() if x.strip()]
    answerer = Answerer(settings.model_copy(update={"answerability_threshold": None}))
    rows = []
    for item in items:
        a = answerer.assess(str(item["question"]))
        rows.append({"question": item["question"], "answerable": bool(item.get("answerable", True)),
                     "early": a["early"], "probability": a["probability"]})
    pos = [r["probability"] for r in rows if r["answerable"] and not r["early"]]
    if len(pos) < 5 or not any(not r["answerable"] for r in rows):
        raise ConfigError("calibration needs at least 5 answerable and 1 unanswerable question in the dataset")
    # Early refusals count against the target too: the learned bar gets what is left.
    early_wrong = sum(1 for r in rows if r["answerable"] and r["early"])
    n_pos = sum(r["answerable"] for r in rows)
    budget = max(target * n_pos - early_wrong, 0) / max(len(pos), 1)
    threshold = float(np.quantile(sorted(pos), min(budget, 1.0))) if budget > 0 else float(min(pos)) - 1e-6
    refused = [bool(r["early"]) or r["probability"] < threshold for r in rows]
    neg = [x for r, x in zip(rows, refused) if not r["answerable"]]
    wrong = [x for r, x in zip(rows, refused) if r["answerable"]]
    return Calibration(
        threshold=round(max(threshold, 0.0), 6), questions=len(rows), answerable=n_pos,
        unanswerable_refused=round(sum(neg) / len(neg), 4) if neg else None,
        answerable_refused=round(sum(wrong) / len(wrong), 4) if wrong else None, rows=rows,
    )


def write_threshold(config: Path, threshold: float) -> None:
    """Set ``answerability_threshold`` in a TOML config file, keeping everything else as it is."""
    line = f"answerability_threshold = {threshold}"
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    pattern = re.compile(r"(?m)^answerability_threshold\s*=.*$")
    if pattern.search(text):
        text = pattern.sub(line, text)
    else:
        # Top-level keys must come before any [table] header.
        header = re.search(r"(?m)^\[", text)
        comment = "# written by `rag calibrate`\n"
        text = (text[: header.start()] + comment + line + "\n\n" + text[header.start():]) if header \
            else (text + ("\n" if text and not text.endswith("\n") else "") + comment + line + "\n")
    config.write_text(text, encoding="utf-8")
