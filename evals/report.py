"""Write an eval run to disk: results.jsonl, summary.json, report.md and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_report", "load_latest"]

def _plots(records: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = []
    f1 = [r["metrics"]["f1"] for r in records if "f1" in r["metrics"]]
    support = [s["score"] for r in records for s in r["result"]["sentences"] if s.get("note") != "quoted"] or [0.0]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].hist(f1, bins=10, range=(0, 1), color="#4a7")
    axes[0].set_title("token F1 per answerable question")
    axes[1].hist(support, bins=10, range=(0, 1), color="#47a")
    axes[1].set_title("verifier probability per drafted sentence")
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=90)
    plt.close(fig)
    names.append("scores.png")

    hits = summary["retrieval"]
    ks = [k for k in (1, 3, 5, 10) if hits.get(f"hit@{k}") is not None]
    if ks:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot(ks, [hits[f"hit@{k}"] for k in ks], marker="o")
        ax.set_xlabel("k")
        ax.set_ylabel("hit rate")
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ks)
        ax.set_title("retrieval: evidence in top k")
        fig.tight_layout()
        fig.savefig(out / "retrieval.png", dpi=90)
        plt.close(fig)
        names.append("retrieval.png")
    return names


def _badness(record: dict[str, Any]) -> tuple:
    m = record["metrics"]
    wrong_refusal = record["answerable"] and m["refused"]
    missed_refusal = not record["answerable"] and not m["refused"]
    return (not (wrong_refusal or missed_refusal), m.get("f1", 1.0), m.get("contains_answer", 1.0))


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_report(records: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> Path:
    """Write the run to ``out``; returns the path of report.md."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    plots = _plots(records, summary, out)

    s = summary
    lines = [
        "# Evaluation report",
        "",
        f"{s['questions']} questions ({s['answerable']} answerable, {s['unanswerable']} unanswerable) · "
        f"model `{s.get('model', '?')}`",
        "",
        "| metric | value |",
        "|---|---|",
        f"| unanswerable refused | {s['unanswerable_refused']} |",
        f"| answerable wrongly refused | {s['answerable_refused']} |",
        f"| exact match / token F1 | {s['exact_match']} / {s['f1']} |",
        f"| answer contains a reference | {s['contains_answer']} |",
        f"| modes: answer / quote / refusal / error | {s['modes']['answer']} / {s['modes']['quote']} / "
        f"{s['modes']['refusal']} / {s['modes']['error']} |",
        f"| quotes found verbatim in their cited passage (string match) | {s['quotes_verbatim']} |",
        f"| short answers found verbatim in their quote | {s['short_answers_verbatim']} |",
        *([f"| replay: correct answers shown as answers / their true sentences shown | "
           f"{s['replay_correct_answers_shown']} / {s['replay_true_sentences_shown']} |"]
          if "replay_correct_answers_shown" in s else []),
        *([f"| replay: fabricated answers whose invented sentence was shown | {s['replay_fabricated_answers_shown']} |"]
          if "replay_fabricated_answers_shown" in s else []),
        *([f"| replay: the model's own refusals respected | {s['replay_model_refusals_respected']} |"]
          if "replay_model_refusals_respected" in s else []),
        f"| sentences the verifier passed (its own verdict, not faithfulness) | {s['checker_pass_rate']} |",
        f"| citations to missing passages removed from drafts | {s['removed_citations']} |",
        f"| retrieval hit@1 / @3 / @5 / @10, MRR | {s['retrieval']['hit@1']} / {s['retrieval']['hit@3']} / "
        f"{s['retrieval']['hit@5']} / {s['retrieval']['hit@10']}, {s['retrieval']['mrr']} |",
        f"| latency p50: retrieval / first checked sentence / total (s) | {s['latency_s']['retrieval_p50']} / "
        f"{s['latency_s']['first_sentence_p50']} / {s['latency_s']['total_p50']} |",
        f"| tokens generated | {s['tokens_generated']} |",
        *([f"| faithfulness by an independent LLM judge / undecided | "
           f"{s['faithfulness_llm_judge']} / {s['llm_judge_undecided']} |"]
          if "faithfulness_llm_judge" in s else []),
        "",
        *[f"![{p}]({p})" for p in plots],
        "",
        "## Every question, worst first",
        "",
        "Wrong refusals and missed refusals come first, then answers by increasing F1.",
        "",
        "| id | question | expected | answer | F1 |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(records, key=_badness):
        expected = "; ".join(r["answers"]) if r["answerable"] else "(refusal)"
        f1 = r["metrics"].get("f1")
        lines.append(
            f"| {r['id']} | {_cell(r['question'], 90)} | {_cell(expected, 60)} | "
            f"{_cell(r['result']['answer'])} | {'' if f1 is None else f'{f1:.2f}'} |"
        )
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_latest(folder: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The summary and records of the run saved in ``folder``, if any."""
    summary_path, results_path = folder / "summary.json", folder / "results.jsonl"
    if not summary_path.is_file():
        return None, []
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    records = []
    if results_path.is_file():
        records = [json.loads(x) for x in results_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return summary, records
