"""Write an eval run to disk: results.jsonl, summary.json, report.md and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_report", "load_latest"]

# Both figures share one size: the web chat shows them side by side in a gallery,
# and a phone shows them one under the other; 150 dpi keeps the text sharp when
# the browser scales them down. ``bbox_inches="tight"`` grows the saved image
# to hold every title, label and tick, so nothing is cut at the edges.
_FIGSIZE = (6.4, 4.0)
_DPI = 150


def _empty(ax, message: str) -> None:  # ax: a matplotlib Axes
    """An explicit "nothing to show" instead of a misleading empty or made-up histogram."""
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="#666", wrap=True,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _plots(records: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    names = []
    f1 = [r["metrics"]["f1"] for r in records if "f1" in r["metrics"]]
    support = [s["score"] for r in records for s in r["result"]["sentences"] if s.get("note") != "quoted"]
    fig, axes = plt.subplots(1, 2, figsize=_FIGSIZE)
    panels = (
        (axes[0], f1, "#4a7", "Token F1\nper answerable question", "token F1", "questions",
         "no answerable question\nwith reference answers"),
        (axes[1], support, "#47a", "Verifier support\nper drafted sentence", "support probability", "sentences",
         "no drafted sentences\n(quoted answers are\nnot drafted)"),
    )
    for ax, values, color, title, xlabel, ylabel, none in panels:
        ax.set_title(title, fontsize=11)
        if not values:
            _empty(ax, none)
            continue
        ax.hist(values, bins=10, range=(0, 1), color=color, edgecolor="white")
        ax.set_xlim(0, 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts, not fractions
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    names.append("scores.png")

    hits = summary["retrieval"]
    ks = [k for k in (1, 3, 5, 10) if hits.get(f"hit@{k}") is not None]
    if ks:
        values = [hits[f"hit@{k}"] for k in ks]
        fig, ax = plt.subplots(figsize=_FIGSIZE)
        ax.plot(ks, values, marker="o", color="#47a")
        for k, v in zip(ks, values):
            ax.annotate(f"{100 * v:.0f} %", (k, v), textcoords="offset points", xytext=(0, -16), ha="center",
                        fontsize=9)
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylabel("questions with the evidence in the top k")
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))  # as the chat writes rates
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
        ax.set_title("Retrieval: evidence found in the top k passages", fontsize=11)
        fig.tight_layout()
        fig.savefig(out / "retrieval.png", dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
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
