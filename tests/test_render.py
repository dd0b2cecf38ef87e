"""The chat's HTML and Markdown builders on hand-made answers: no store, no model, fast."""

from __future__ import annotations

import inspect
import re

import pytest

from evals.runner import EvalItem, _score, summarise
from rag.answer import Answer, Answerer, Citation, SentenceVerdict
from rag.citations import REFUSAL
from rag.documents import Chunk
from rag.policy import AnswerPolicy
from rag.retrieval import Candidate, Retrieval
from ui.render import (
    RENDER_CSS,
    answer_markdown,
    eval_summary_html,
    eval_worst_html,
    inspector_html,
    plain_reason,
    sources_details_html,
    sources_html,
)

EVIL = "<script>alert('x')</script>"
LONG = (
    "Karpathy taught the deep learning class at Stanford for several years.[10] "
    f"The course notes say {EVIL} and much more about convolutional networks, "
    "their training, their failure modes and the practical recipes that made them work in the lab, "
    "which students copied for years afterwards."
)

# Every reason the pipeline writes today, and two an older version saved (with numbers).
KNOWN = {
    "nothing is indexed yet": "No documents",
    "no passage is about this question": "None of the documents seems to talk about this.",
    "the passages do not mention the main terms of the question": "main words of your question",
    "the passages do not seem to answer this question": "mention related things, but none of them answers",
    "no sentence of the draft is supported by the passages, and the passages do not seem to answer this question":
        "could not be backed up",
    "the model found no answer in the passages": "The model found no answer in the documents.",
    "no passage is close to the question (best similarity 0.19)": "None of the documents seems to talk about this.",
    "the passages miss most of the question's key terms (coverage 0.05)": "main words of your question",
}


def chunk(n: int, text: str = "", source: str = "seeds/career-profile.txt", title: str = "Career profile") -> Chunk:
    text = text or f"Passage number {n} about something else entirely, with filler words."
    return Chunk(id=f"c{n}", source=source, title=title, index=n, start=100 * n, end=100 * n + len(text),
                 text=text, doc_hash="h", doc_chunks=10)


def candidate(n: int, text: str = "", dense: float | None = 0.6, **kw: str) -> Candidate:
    return Candidate(chunk(n, text, **kw), dense_score=dense, dense_rank=n, lexical_score=2.0, lexical_rank=n,
                     fused_score=1 / n, rank=n)


def make_answer(*, refused: bool, reason: str | None = None, passages: list[Candidate] | None = None,
                pool: list[Candidate] | None = None, cited: list[int] = ()) -> Answer:
    passages = passages if passages is not None else [candidate(1, LONG), candidate(2)]
    pool = pool if pool is not None else passages
    citations = [
        Citation(n=n, chunk_id=passages[n - 1].chunk.id, source=passages[n - 1].chunk.source,
                 title=passages[n - 1].chunk.title, text=passages[n - 1].chunk.text,
                 start=passages[n - 1].chunk.start, end=passages[n - 1].chunk.end, page=None,
                 evidence=passages[n - 1].chunk.text[:40], evidence_start=passages[n - 1].chunk.start,
                 evidence_end=passages[n - 1].chunk.start + 40)
        for n in cited
    ]
    retrieval = Retrieval(query="Which class did Karpathy teach?", passages=passages, candidates=pool,
                          query_coverage=0.42)
    short = None if refused else "CS231n"
    return Answer(
        question="Which class did Karpathy teach?", standalone_question="Which class did Karpathy teach?",
        text=REFUSAL if refused else f"CS231n — “{passages[0].chunk.text[:40]}” [1]", refused=refused,
        mode="refusal" if refused else "quote",
        sentences=[] if refused else [SentenceVerdict(passages[0].chunk.text[:40], [1], True, 0.7, note="quoted")],
        citations=citations, passages=passages, retrieval=retrieval, refusal_reason=reason, short_answer=short,
        strategy="extractive", timings={"retrieval": 0.02, "total": 0.4},
        answerability={"probability": 0.1234, "signals": {"top_dense": 0.61, "coverage": 0.42}},
    )


# --- refusal reasons ---------------------------------------------------------------------
@pytest.mark.parametrize(("reason", "expected"), KNOWN.items())
def test_plain_reason_maps_every_known_reason(reason: str, expected: str) -> None:
    plain = plain_reason(reason)
    assert expected in plain
    assert not re.search(r"\d", plain)
    assert plain != plain_reason("something new and unknown")


def test_plain_reason_covers_the_reasons_the_pipeline_writes() -> None:
    """A reason added to the pipeline without a plain sentence fails here, not in front of a user."""
    source = "\n".join(inspect.getsource(f) for f in (AnswerPolicy.early_refusal, Answerer._extractive,
                                                       Answerer._generative))
    written = re.findall(r'(?:return|reason =|_refusal\(base, \w+,)\s*"([^"]+)"', source)
    assert len(written) >= 5, written
    generic = plain_reason(None)
    for reason in written:
        assert plain_reason(reason) != generic, reason


@pytest.mark.parametrize("jargon", ["coverage 0.05", "top_dense 0.19 < 0.2551 (p=0.03)", "", None])
def test_unknown_reasons_get_a_generic_sentence_without_numbers(jargon: str | None) -> None:
    plain = plain_reason(jargon)
    assert plain and not re.search(r"\d", plain)


# --- the refusal in the chat -----------------------------------------------------------------
def test_refusal_shows_the_plain_reason_and_offers_the_close_passage_escaped() -> None:
    from markdown_it import MarkdownIt

    md = answer_markdown(make_answer(refused=True, reason="the passages do not seem to answer this question"))
    assert md.startswith("> **") and "find that in the corpus" in md
    assert "Why: The documents mention related things, but none of them answers this question." in md
    assert "This passage may be related: “" in md and "— *Career profile*" in md
    assert "The closest passages are listed under Sources." in md and "Sources panel" not in md
    assert "do not seem" not in md  # the raw reason stays in the inspector
    excerpt = md.split("“", 1)[1].split("”", 1)[0]
    assert excerpt.endswith("…") and len(excerpt) < 260
    assert "[10]" not in excerpt and "\\[10\\]" not in excerpt  # the corpus's footnote, not a citation
    assert "<script" not in md
    # Rendered as Markdown, the tag is visible text, not markup, and not a double-escaped "&lt;".
    rendered = MarkdownIt("commonmark").render(md)
    assert "<script" not in rendered and "&lt;script&gt;" in rendered and "&amp;lt;" not in rendered


@pytest.mark.parametrize("reason", ["no passage is about this question", "nothing is indexed yet"])
def test_no_passage_is_offered_when_none_is_close(reason: str) -> None:
    md = answer_markdown(make_answer(refused=True, reason=reason))
    assert "may be related" not in md and plain_reason(reason) in md


def test_a_passage_far_from_the_question_is_not_offered() -> None:
    far = [candidate(1, LONG, dense=0.05), candidate(2, dense=0.04)]
    md = answer_markdown(make_answer(refused=True, reason="the model found no answer in the passages", passages=far))
    assert "may be related" not in md and "The model found no answer in the documents." in md


# --- the inspector ---------------------------------------------------------------------------
def test_inspector_lists_used_candidates_first_and_folds_the_rest() -> None:
    pool = [candidate(n, f"Candidate text {n} {EVIL}") for n in range(1, 9)]
    passages = [pool[4], pool[2]]  # given to the model: ranks 5 and 3, in that order
    html = inspector_html(make_answer(refused=False, passages=passages, pool=pool, cited=[1]))
    head, folded = html.split("<details", 1)
    assert "Show all 8 candidates" in folded
    for used in ("Candidate text 5", "Candidate text 3"):
        assert used in head and used not in folded
    for other in (1, 2, 4, 6, 7, 8):
        assert f"Candidate text {other} " in folded and f"Candidate text {other} " not in head
    assert head.index("Candidate text 5") < head.index("Candidate text 3")  # passage [1] first
    assert "cited" in head and "passage [2]" in head
    # Every table scrolls sideways on a phone instead of being cut off.
    assert html.count("<table") == html.count("<div class='table-wrap'><table") > 0
    assert "<script" not in html and "&lt;script&gt;" in html


def test_inspector_shows_the_raw_refusal_reason_and_answerability_numbers() -> None:
    reason = "the passages miss most of the question's key terms (coverage 0.05)"
    html = inspector_html(make_answer(refused=True, reason=reason))
    assert "coverage 0.05" in html.replace("&#x27;", "'")
    assert "probability 0.123" in html and "top_dense 0.610" in html


def test_css_makes_tables_scroll_and_is_exported() -> None:
    assert ".table-wrap{overflow-x:auto" in RENDER_CSS and "@media (max-width:640px)" in RENDER_CSS


# --- the compact sources block ----------------------------------------------------------------
def test_compact_sources_do_not_collide_with_the_main_panel_ids() -> None:
    for answer in (make_answer(refused=False, cited=[1]), make_answer(refused=True, reason="x")):
        main = set(re.findall(r"id='([^']+)'", sources_html(answer)))
        compact_html = sources_details_html(answer)
        compact = set(re.findall(r"id='([^']+)'", compact_html))
        assert main and compact and not main & compact
        assert compact_html.startswith("<details class='answer-sources'><summary>")
        assert "<script" not in compact_html
    cited = sources_details_html(make_answer(refused=False, cited=[1]))
    assert "<summary>Sources (1)</summary>" in cited and "id='m-src-1'" in cited and "data-n='1'" in cited
    assert "Closest passages (2)" in sources_details_html(make_answer(refused=True, reason="x"))
    assert sources_details_html(None) == ""
    assert "mobile-only" in sources_details_html(make_answer(refused=False, cited=[1]), mobile_only=True)


# --- the evaluation tab -------------------------------------------------------------------------
def records() -> list[dict]:
    """Two records as evals/runner.py run_eval writes them: the answer's to_dict() and its metrics."""
    refusal = make_answer(refused=True, reason="the passages do not seem to answer this question",
                          passages=[candidate(1, LONG, source="seeds/stanford.md"), candidate(2, source="seeds/b.txt")])
    quote = make_answer(refused=False, cited=[1],
                        passages=[candidate(1, LONG, source="seeds/career-profile.txt"), candidate(2)])
    out = []
    for n, (answer, expected) in enumerate(((refusal, "CS231n"), (quote, "CS231n"))):
        item = EvalItem(id=f"q-{n}", question=answer.question, answers=[expected])
        out.append({"id": item.id, "question": item.question, "answerable": item.answerable, "answers": item.answers,
                    "evidence": item.evidence, "result": answer.to_dict(), "metrics": _score(item, answer, [])})
    return out


def test_eval_summary_shows_percentages_scores_seconds_and_dashes() -> None:
    summary = summarise(records())
    summary.update(unanswerable_refused=0.3068, f1=0.13651, removed_citations=3, dataset="dev.jsonl")
    summary["latency_s"]["total_p50"] = 1.6544
    html = eval_summary_html(summary)

    def row(label: str) -> str:
        return html.split(label, 1)[1].split("</tr>", 1)[0]

    assert "31 %" in row("unanswerable refused")
    assert "0.14" in row("token F1")
    assert ">3<" in row("citations to missing passages")
    assert "1.65 s" in row("p50 latency")
    assert "–" in row("faithfulness")  # the offline run has no LLM judge
    assert "50 %" in row("answerable wrongly refused")
    assert "None" not in html and "0.3068" not in html
    assert html.count("<table") == html.count("<div class='table-wrap'><table")


def test_eval_summary_shows_a_dash_for_none() -> None:
    html = eval_summary_html({"questions": 4, "unanswerable_refused": None, "model": "m", "dataset": "d"})
    assert "–" in html.split("unanswerable refused", 1)[1].split("</tr>", 1)[0] and "None" not in html


def test_worst_questions_list_cited_and_closest_sources() -> None:
    html = eval_worst_html(records())
    rows = html.split("<tr>")[2:]
    refusal_row = next(r for r in rows if "q-0" in r)
    quote_row = next(r for r in rows if "q-1" in r)
    assert "wrong refusal" in refusal_row and "closest: stanford.md, b.txt" in refusal_row
    assert "mention related things" in refusal_row  # the reason in a user's words
    assert "career-profile.txt" in quote_row and "closest" not in quote_row
    assert rows.index(refusal_row) < rows.index(quote_row)  # wrong refusals first
    assert "<script" not in html and html.startswith("<div class='eval-worst'><div class='table-wrap'>")
