"""Fit the answerability model on other corpora, split by article; report on held-out articles.

Reproducible: ``python -m evals.train_answerability`` rewrites
``rag/params/answerability.json``, writes ``evals/results/answerability.json``
and the trade-off plot ``evals/results/answerability_curve.png``.

Data (read from ``../shared/datasets``, never committed):

- SQuAD 2.0 half (16 articles, 6,078 questions, 3,168 adversarially
  unanswerable): the paragraphs are indexed in a collection of their own;
  articles 0–7 train, 8–15 are held out.
- SQuAD 1.1 dev with the question's own paragraph left out: for 16 articles,
  the even paragraphs are indexed; questions on them are answerable, questions
  on the odd (unindexed) paragraphs of the same articles are topic-adjacent
  unanswerables. Articles are split in two halves the same way.
- The Karpathy dev set and the held-out Karpathy questions, reported only (never
  fitted).

The features are the pipeline's own (:func:`rag.answerability.answerability_signals`),
computed by :meth:`rag.answer.Answerer.assess` with no language model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.answerability import FEATURES, PARAMS_FILE, assessed_passages
from rag.config import PROJECT_ROOT, Settings, load_settings

from .squad import (
    SquadQuestion, default_squad2_path, default_squad_path, load_squad, paragraph_removed, removed_split,
    write_paragraph_files,
)
from .train_verifier import fit_logistic

__all__ = ["assess_questions", "auc", "curve", "fit", "main", "quote_holds_answer"]

RESULTS = PROJECT_ROOT / "evals" / "results"
HELDOUT_SET = PROJECT_ROOT / "evals" / "datasets" / "heldout.jsonl"
EARLY_QUANTILE = 0.002


def _store(settings: Settings, name: str, paragraphs: list, progress: bool) -> Settings:
    from ingest import ingest

    bench = settings.model_copy(update={"data_dir": settings.data_dir / "bench" / name, "chroma_path": None,
                                        "collection": name, "answer_style": "extractive", "reader": "none",
                                        "min_dense_score": -1.0, "min_query_coverage": 0.0})
    corpus = bench.data_dir / "corpus"
    write_paragraph_files(paragraphs, corpus)
    ingest([corpus], bench, progress=progress)
    return bench


def assess_questions(
    settings: Settings, questions: list[SquadQuestion], corpus: str, split: Callable[[SquadQuestion], str],
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Answerability features of every question against the store in ``settings``."""
    from tqdm.auto import tqdm

    from rag.answer import Answerer

    answerer = Answerer(settings)
    # Every paragraph's windows stay embedded for the whole run (a few hundred MB at most).
    answerer.verifier._cache_size = 1 << 15
    rows = []
    for q in tqdm(questions, desc=corpus, disable=not progress, mininterval=5):
        a = answerer.assess(q.question)
        found = " ".join(a["passage_texts"]).lower()
        rows.append({"id": q.qid, "corpus": corpus, "article": q.article, "split": split(q),
                     "answerable": q.answerable, "question": q.question, "answers": list(q.answers),
                     "quote": a["quote"], "early": a["early"],
                     # Whether retrieval brought a reference answer: what a capable model would need.
                     "answer_retrieved": bool(q.answerable and any(x.lower() in found for x in q.answers if x)),
                     **a["signals"]})
    return rows


def squad2_rows(settings: Settings, path: Path, progress: bool) -> list[dict[str, Any]]:
    paragraphs, questions = load_squad(path)
    bench = _store(settings, "squad2", paragraphs, progress)
    return assess_questions(bench, questions, "squad2", lambda q: "train" if int(q.article) < 8 else "test", progress)


def squad1_removed_rows(settings: Settings, path: Path, progress: bool) -> list[dict[str, Any]]:
    indexed, asked = paragraph_removed(*load_squad(path))
    bench = _store(settings, "squad1-removed", indexed, progress)
    return assess_questions(bench, asked, "squad1-removed", removed_split, progress)


def karpathy_rows(settings: Settings, progress: bool) -> list[dict[str, Any]]:
    """The home corpus's questions: the dev set ("karpathy") and the held-out ones
    ("karpathy-heldout"), both reported, never fitted."""
    from ingest import ingest

    from .calibrate import DEV_SET

    bench = settings.model_copy(update={"data_dir": settings.data_dir / "bench" / "karpathy", "chroma_path": None,
                                        "answer_style": "extractive", "reader": "none",
                                        "min_dense_score": -1.0, "min_query_coverage": 0.0})
    ingest(None, bench, progress=False)
    rows = []
    for corpus, path in (("karpathy", DEV_SET), ("karpathy-heldout", HELDOUT_SET)):
        items = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        questions = [SquadQuestion(i["id"], i["question"], tuple(i.get("answers", [])), "karpathy-0",
                                   bool(i.get("answerable", True))) for i in items]
        rows += assess_questions(bench, questions, corpus, lambda q: "report", progress)
    return rows


def fit(rows: list[dict[str, Any]], l2: float = 1.0) -> dict[str, Any]:
    """Logistic fit on the training rows, the answerable-score quantiles and the early-refusal bars."""
    train = [r for r in rows if r["split"] == "train"]
    x = np.array([[r[f] for f in FEATURES] for r in train], dtype=float)
    y = np.array([r["answerable"] for r in train], dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    w, b = fit_logistic((x - mean) / scale, y, l2)
    p = 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))
    answerable_p = np.sort(p[y == 1])
    quantiles = [float(np.quantile(answerable_p, i / 100)) for i in range(100)]
    pos = [r for r in train if r["answerable"]]
    return {
        "weights": {f: round(float(v), 6) for f, v in zip(FEATURES, w)},
        "bias": round(b, 6),
        "mean": {f: round(float(v), 6) for f, v in zip(FEATURES, mean)},
        "scale": {f: round(float(v), 6) for f, v in zip(FEATURES, scale)},
        "quantiles": [round(q, 6) for q in quantiles],
        "meta": {
            "trained_on": "SQuAD 2.0 half, articles 0-7; SQuAD 1.1 paragraph-removed, first 8 of 16 articles",
            "questions": len(train),
            "script": "python -m evals.train_answerability",
            # The retrieval depth the signals were read at: production reads the same
            # depth whatever top_k gives the model (rag.answerability.assessed_passages).
            "passages": assessed_passages(),
            # Early refusal, before any model, only where evidence is clearly absent:
            # bars that refuse ~0.2 % of the answerable training questions each.
            # (At 1 % they refused 4.5 % of the Karpathy set's answerable questions,
            # whose conversational passages score lower cosines than Wikipedia's.)
            "early": {
                "top_dense": round(float(np.quantile([r["top_dense"] for r in pos], EARLY_QUANTILE)), 4),
                "coverage": round(float(np.quantile([r["coverage"] for r in pos], EARLY_QUANTILE)), 4),
            },
        },
    }


def _decide(params: dict[str, Any], rows: list[dict[str, Any]], threshold: float) -> list[bool]:
    """Refused or not, for each row: early bars first, then the learned threshold.

    ``r["early"]`` is the pipeline's own early refusal with the bars switched
    off, i.e. a precise slot no passage fills ("which month", "how many X").
    """
    from rag.answerability import AnswerabilityModel

    model = AnswerabilityModel(params["weights"], params["bias"], params["mean"], params["scale"])
    early = params["meta"]["early"]
    return [
        bool(r.get("early")) or r["top_dense"] < early["top_dense"] or r["coverage"] < early["coverage"]
        or model.probability(r) < threshold
        for r in rows
    ]


def _rates(rows: list[dict[str, Any]], refused: list[bool]) -> dict[str, Any]:
    neg = [x for r, x in zip(rows, refused) if not r["answerable"]]
    pos = [x for r, x in zip(rows, refused) if r["answerable"]]
    return {
        "questions": len(rows),
        "unanswerable": len(neg),
        "unanswerable_refused": round(sum(neg) / len(neg), 4) if neg else None,
        "answerable_wrongly_refused": round(sum(pos) / len(pos), 4) if pos else None,
    }


def auc(params: dict[str, Any], rows: list[dict[str, Any]]) -> float | None:
    """How well the learned score alone ranks answerable above unanswerable questions
    (0.5: no better than chance), whatever the operating point."""
    from rag.answerability import AnswerabilityModel

    model = AnswerabilityModel(params["weights"], params["bias"], params["mean"], params["scale"])
    pos = [model.probability(r) for r in rows if r["answerable"]]
    neg = [model.probability(r) for r in rows if not r["answerable"]]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 4)


def quote_holds_answer(rows: list[dict[str, Any]]) -> float | None:
    """Share of the answerable questions whose quote (the best window, before any
    answerability decision) contains a reference answer: how well the quote is chosen."""
    from .metrics import contains_answer  # the eval's own "contains a reference answer"

    asked = [r for r in rows if r["answerable"] and r.get("answers")]
    if not asked:
        return None
    return round(sum(contains_answer(r["quote"], r["answers"]) for r in asked) / len(asked), 4)


def curve(params: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(threshold, answerable wrongly refused, unanswerable refused) over the whole range."""
    out = []
    for t in np.linspace(0, 1, 101):
        r = _rates(rows, _decide(params, rows, float(t)))
        out.append((float(t), r["answerable_wrongly_refused"] or 0.0, r["unanswerable_refused"] or 0.0))
    return out


def plot(params: dict[str, Any], groups: dict[str, list[dict[str, Any]]], shipped: float, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name, rows in groups.items():
        pts = curve(params, rows)
        ax.plot([p[1] for p in pts], [p[2] for p in pts], label=name)
        at = _rates(rows, _decide(params, rows, shipped))
        ax.scatter([at["answerable_wrongly_refused"]], [at["unanswerable_refused"]], zorder=3)
    ax.axvline(0.15, color="#bbb", linestyle=":", linewidth=1)
    ax.axhline(0.75, color="#bbb", linestyle=":", linewidth=1)
    ax.set_xlabel("answerable questions wrongly refused")
    ax.set_ylabel("unanswerable questions refused")
    ax.set_title("Answerability trade-off on held-out articles\n(dots: the shipped operating point)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = out / "answerability_curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad2", type=Path, default=default_squad2_path())
    parser.add_argument("--squad", type=Path, default=default_squad_path())
    parser.add_argument("--features", type=Path, help="reuse features saved by an earlier run (JSONL)")
    parser.add_argument("--max-wrong-refusals", type=float, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    settings = load_settings()
    progress = sys.stderr.isatty()
    if args.features and args.features.is_file():
        rows = [json.loads(x) for x in args.features.read_text(encoding="utf-8").splitlines() if x.strip()]
    else:
        rows = squad2_rows(settings, args.squad2, progress) + squad1_removed_rows(settings, args.squad, progress)
        rows += karpathy_rows(settings, progress)
        if args.features:
            args.features.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    params = fit(rows)
    target = args.max_wrong_refusals if args.max_wrong_refusals is not None else settings.max_wrong_refusals
    shipped = params["quantiles"][int(round(target * 100))]
    report: dict[str, Any] = {"operating_point": {"max_wrong_refusals": target, "threshold": shipped},
                              "weights": params["weights"], "early": params["meta"]["early"]}
    groups: dict[str, list[dict[str, Any]]] = {}
    for corpus in ("squad2", "squad1-removed", "karpathy", "karpathy-heldout"):
        for split in ("train", "test", "report"):
            part = [r for r in rows if r["corpus"] == corpus and r["split"] == split]
            if part:
                report[f"{corpus}/{split}"] = {**_rates(part, _decide(params, part, shipped)),
                                               "auc": auc(params, part),
                                               "quote_holds_answer": quote_holds_answer(part)}
                if split != "train":
                    groups[f"{corpus} ({split})"] = part
    print(json.dumps(report, indent=2))
    if not args.no_write:
        PARAMS_FILE.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "answerability.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"plot: {plot(params, groups, shipped, RESULTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
