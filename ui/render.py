"""HTML and Markdown for the web chat, built from answers, always escaped.

Corpus text and model output are untrusted: a document may contain
``<script>`` or ``<img onerror=...>``, and a model may repeat it. Everything
that comes from either is passed through :func:`html.escape` here, before
Gradio's own sanitiser sees it, so nothing from them can run in the browser.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.citations import REFUSAL
from rag.extract import display_text

__all__ = [
    "PENDING",
    "RENDER_CSS",
    "answer_markdown",
    "checking_markdown",
    "document_html",
    "escape",
    "eval_summary_html",
    "eval_worst_html",
    "inspector_html",
    "passages_html",
    "plain_reason",
    "sources_details_html",
    "sources_html",
]

_MARKER = re.compile(r"\[(\d{1,3})\]")

#: CSS for the markup built here; the app appends it to its own stylesheet.
RENDER_CSS = """
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
.table-wrap>table{border-collapse:collapse;min-width:36em}
.inspector td,.inspector th{text-align:left}
.inspector-summary{margin:.3em 0}
.inspector-summary .raw{color:#666;font-size:.85em}
details.more-candidates,details.answer-sources{margin:.4em 0}
details.more-candidates>summary,details.answer-sources>summary{cursor:pointer;font-weight:600;padding:.3em 0}
details.answer-sources .source{padding:.35em .5em;margin:.3em 0;font-size:.9em}
.table-wrap>table.eval-summary{min-width:0}
.eval-summary td:last-child{font-variant-numeric:tabular-nums}
.eval-worst .closest{color:#777}
#eval-plots img{object-fit:contain !important}
@media (max-width:640px){
  .inspector td,.inspector th{font-size:.78em;padding:2px 4px}
  .table-wrap>table{min-width:30em}
  .source .loc{display:block}
}
@media (min-width:641px){.mobile-only{display:none}}
"""


def escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _escape_markdown(text: str) -> str:
    # Markdown characters that could build links, images or markup first, then
    # HTML. "<" and ">" are left to HTML escaping alone: a backslash before the
    # "&" of "&lt;" would make Markdown print "&lt;" literally instead of "<".
    return escape(re.sub(r"([\\`*_{}\[\]()#!|~])", r"\\\1", str(text)))


def _link_citations(text: str) -> str:
    escaped = _escape_markdown(text)
    # Markers were escaped to \[n\]; turn each into a link to its source card.
    return re.sub(r"\\\[(\d{1,3})\\\]", lambda m: f"[\\[{m.group(1)}\\]](#src-{m.group(1)})", escaped)


# The status lines of an answer in progress: (searching, drafting). Stop recognises an
# unfinished answer by them.
PENDING = ("*Searching the corpus…*", "*Writing and checking the answer…*")


def checking_markdown(shown: list[str], drafting: bool) -> str:
    """While an answer is produced: the sentences that passed the check so far, and a status line."""
    status = PENDING[1] if drafting else PENDING[0]
    return "\n\n".join([*(_link_citations(text) for text in shown), status])


# --- refusal reasons, in a user's words ------------------------------------------------
# Each reason the pipeline writes (rag/policy.py early_refusal, rag/answer.py's
# extractive and generative paths), matched by a phrase it contains, so small
# rewordings and reasons saved by older versions (with their numbers) still map.
# Order matters: the combined verifier reason contains the answerability one.
_REASONS: list[tuple[str, tuple[str, ...], str]] = [
    ("empty", ("nothing is indexed",),
     "No documents have been added yet, so there is nothing to search."),
    ("unrelated", ("no passage is about", "no passage is close"),
     "None of the documents seems to talk about this."),
    ("missing_terms", ("do not mention the main terms", "miss most of the question's key terms"),
     "The documents don't mention the main words of your question."),
    ("unsupported", ("no sentence of the draft is supported",),
     "The model's answer could not be backed up by the documents, and none of them answers this question."),
    ("not_answered", ("do not seem to answer", "no passage sentence answers"),
     "The documents mention related things, but none of them answers this question."),
    ("declined", ("model found no answer",),
     "The model found no answer in the documents."),
]
_GENERIC_REASON = "The documents don't seem to answer this question."


def _reason_kind(reason: str | None) -> str | None:
    low = " ".join(str(reason or "").lower().replace("’", "'").split())
    return next((kind for kind, phrases, _ in _REASONS if any(p in low for p in phrases)), None)


def plain_reason(reason: str | None) -> str:
    """Why the corpus had no answer, as a sentence a user understands.

    The raw reason (with thresholds and scores) stays in the inspector; an
    unknown one gets a generic sentence rather than leaking internal numbers.
    """
    kind = _reason_kind(reason)
    return next((text for k, _, text in _REASONS if k == kind), _GENERIC_REASON)


def _related_floor() -> float:
    """The dense similarity the pipeline itself needs to call a passage "about" a question."""
    from rag.answerability import default_model

    model = default_model()
    return float((model.meta.get("early") or {}).get("top_dense", 0.24)) if model is not None else 0.24


def _excerpt(text: str, limit: int = 200) -> str:
    """About ``limit`` characters of a passage (plain, not escaped), cut at a word, without footnote markers."""
    flat = display_text(text)
    lead = "…" if flat[:1].islower() else ""  # chunks overlap, so one may start mid-sentence
    if len(flat) <= limit:
        return lead + flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return lead + cut.rstrip(" ,;:-–—") + "…"


def _related_offer(answer: Answer) -> str:
    """For a refusal: the top passage, when it is close enough to be worth a look ('' otherwise)."""
    if not answer.passages or _reason_kind(answer.refusal_reason) in ("empty", "unrelated"):
        return ""
    top = answer.passages[0]
    if top.dense_score is not None and top.dense_score < _related_floor():
        return ""
    excerpt = _excerpt(top.chunk.text)
    if not excerpt:
        return ""
    title = top.chunk.title or Path(top.chunk.source).name
    return f"This passage may be related: “{_escape_markdown(excerpt)}” — *{_escape_markdown(title)}*"


def answer_markdown(answer: Answer) -> str:
    """The checked answer as it appears in the chat."""
    # Plain text labels, not emoji: a browser without an emoji font shows boxes.
    # "listed under Sources", not "in the Sources panel": on a phone it is not beside the chat.
    if answer.mode == "error":
        return f"**Error — the model could not answer:** {_escape_markdown(answer.error or 'unknown error')}\n\n" \
               "The retrieved passages are listed under Sources."
    if answer.refused:
        parts = [
            f"> **{_escape_markdown(REFUSAL)}**\n>\n> *Why: {_escape_markdown(plain_reason(answer.refusal_reason))}*",
            _related_offer(answer),
            "The closest passages are listed under Sources." if answer.passages else "",
        ]
        return "\n\n".join(p for p in parts if p)
    text = _link_citations(answer.text)
    if answer.short_answer and answer.text.startswith(answer.short_answer + " — "):
        rest = answer.text[len(answer.short_answer) + 3 :]
        text = f"**{_escape_markdown(answer.short_answer)}** — {_link_citations(rest)}"
    notes = [f"*Note: {_escape_markdown(w)}*" for w in answer.warnings]
    return "\n\n".join([text, *notes])


_FOOTNOTE = re.compile(r"(?<=[\w.,;:!?\"”’)])(?:\[\d{1,3}\])+")


def _clean(text: str) -> str:
    """Escaped text without the corpus's own footnote markers: "[10]" must not look like a citation."""
    return escape(_FOOTNOTE.sub("", text))


def _highlight(text: str, start: int | None, end: int | None, offset: int) -> str:
    """``text`` escaped, with ``[start, end)`` (document offsets) wrapped in <mark>."""
    if start is None or end is None:
        return _clean(text)
    a, b = max(0, start - offset), min(len(text), end - offset)
    if a >= b:
        return _clean(text)
    return f"{_clean(text[:a])}<mark>{_clean(text[a:b])}</mark>{_clean(text[b:])}"


def _location(source: str, page: int | None, start: int, end: int) -> str:
    where = f"{Path(source).name} · chars {start}–{end}"
    return f"{where} · page {page}" if page else where


def sources_html(answer: Answer | None) -> str:
    """Cards for the cited passages (or the closest ones, for a refusal or an error)."""
    if answer is None:
        return "<div class='sources-empty'>Ask a question: the passages behind the answer appear here.</div>"
    if answer.citations:
        heading = "Sources cited in the answer"
        cards = [_citation_card(c, _highlight(c.text, c.evidence_start, c.evidence_end, c.start))
                 for c in answer.citations]
    else:
        heading = "Closest passages" if answer.refused else "Retrieved passages"
        cards = [_passage_card(n, p.chunk, _clean(p.chunk.text)) for n, p in enumerate(answer.passages, start=1)]
    return f"<div class='sources'><h4>{escape(heading)}</h4>{''.join(cards)}</div>"


_COMPACT_PASSAGES = 3  # closest passages in the compact block: enough to judge, short on a phone


def sources_details_html(answer: Answer | None, *, mobile_only: bool = False) -> str:
    """The sources as a collapsed block to place right under an answer (for phones).

    The cards repeat the main panel's, so their ids differ ("m-src-n", with
    ``data-n``): the chat's "#src-n" links keep pointing at the main panel's
    cards, and a page holding both has no duplicate ids. ``mobile_only`` adds
    a class that :data:`RENDER_CSS` hides on wide screens. '' when there is
    nothing to list.
    """
    if answer is None:
        return ""
    if answer.citations:
        label = "Sources"
        cards = [_citation_card(c, f"<mark>{_clean(c.evidence)}</mark>" if c.evidence else escape(_excerpt(c.text)),
                                anchor="m-src")
                 for c in answer.citations]
    else:
        label = "Closest passages" if answer.refused else "Retrieved passages"
        cards = [_passage_card(n, p.chunk, escape(_excerpt(p.chunk.text)), anchor="m-src")
                 for n, p in enumerate(answer.passages[:_COMPACT_PASSAGES], start=1)]
    if not cards:
        return ""
    cls = "answer-sources mobile-only" if mobile_only else "answer-sources"
    return f"<details class='{cls}'><summary>{escape(label)} ({len(cards)})</summary>{''.join(cards)}</details>"


def passages_html(retrieval: Any) -> str:
    """The retrieved passages, shown as soon as retrieval finishes (before the answer)."""
    if retrieval is None or not retrieval.passages:
        return sources_html(None)
    cards = [_passage_card(n, p.chunk, _clean(p.chunk.text)) for n, p in enumerate(retrieval.passages, start=1)]
    return f"<div class='sources'><h4>Retrieved passages</h4>{''.join(cards)}</div>"


def _citation_card(c: Any, body: str, anchor: str = "src") -> str:
    return _card(c.n, c.title, c.source, c.page, c.start, c.end, c.chunk_id, body, cited=True, anchor=anchor)


def _passage_card(n: int, chunk: Any, body: str, anchor: str = "src") -> str:
    return _card(n, chunk.title, chunk.source, chunk.page, chunk.start, chunk.end, chunk.id, body, cited=False,
                 anchor=anchor)


def _card(n: int, title: str, source: str, page: int | None, start: int, end: int,
          chunk_id: str, body: str, cited: bool, anchor: str = "src") -> str:
    cls = "source cited" if cited else "source"
    return (
        f"<div class='{cls}' id='{anchor}-{n}' data-n='{n}' data-chunk='{escape(chunk_id)}'>"
        f"<div class='source-head'><b>[{n}]</b> {escape(title)} "
        f"<span class='loc'>{escape(_location(source, page, start, end))}</span></div>"
        f"<div class='source-text'>{body}</div></div>"
    )


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(str(value))


def _table(header: list[str], rows: list[str]) -> str:
    """A table that scrolls sideways inside its wrapper on a narrow screen instead of being cut off."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<div class='table-wrap'><table class='inspector'><tr>{head}</tr>{''.join(rows)}</table></div>"


def _numbers(values: dict[str, Any]) -> str:
    """``{"probability": 0.41, "signals": {...}}`` as "probability 0.410 · top_dense 0.475 · …"."""
    parts = []
    for key, value in values.items():
        if isinstance(value, dict):
            parts.append(_numbers(value))
        else:
            parts.append(f"{escape(key)} {_fmt(value)}")
    return " · ".join(p for p in parts if p)


_INSPECTOR_HEADER = ["rank", "passage", "dense (rank)", "BM25 (rank)", "fused", "use", "text"]


def inspector_html(answer: Answer | None) -> str:
    """Every retrieval candidate with its dense, lexical and fused scores and ranks.

    The candidates the answer used (given to the model, cited) come first; the
    rest of the pool (often fifty rows) is folded away so it does not push the
    answer's own evidence off the screen.
    """
    if answer is None or answer.retrieval is None:
        return "<div>No retrieval yet.</div>"
    given = {p.chunk.id: n for n, p in enumerate(answer.passages, start=1)}
    cited = {c.chunk_id for c in answer.citations}
    used, rest = [], []
    for cand in answer.retrieval.candidates:
        ch = cand.chunk
        status = "cited" if ch.id in cited else (f"passage [{given[ch.id]}]" if ch.id in given else "")
        if cand.duplicate_of:
            status = "collapsed (overlaps a better one)"
        row = (
            "<tr>"
            f"<td>{cand.rank}</td><td>{escape(ch.title)}<br><small>{escape(Path(ch.source).name)} "
            f"{ch.start}–{ch.end}</small></td>"
            f"<td>{_fmt(cand.dense_score)} ({_fmt(cand.dense_rank)})</td>"
            f"<td>{_fmt(cand.lexical_score, 2)} ({_fmt(cand.lexical_rank)})</td>"
            f"<td>{_fmt(cand.fused_score)}</td><td>{escape(status)}</td>"
            f"<td><small>{escape(ch.text[:160])}…</small></td>"
            "</tr>"
        )
        if ch.id in given or ch.id in cited:
            used.append((given.get(ch.id, len(given) + 1), row))
        else:
            rest.append(row)
    used_rows = [row for _, row in sorted(used, key=lambda x: x[0])]  # in passage order, [1] first
    total = len(used_rows) + len(rest)

    r = answer.retrieval
    lines = [
        f"Question used for retrieval: <i>{escape(answer.standalone_question)}</i>",
        f"best dense similarity {r.top_dense:.3f} · query-term coverage {r.query_coverage:.2f}",
        f"timings: {escape(', '.join(f'{k} {1000 * v:.0f} ms' for k, v in answer.timings.items()))}",
    ]
    if answer.refused:
        # The pipeline's own words, with its numbers: the chat shows the plain version.
        lines.append(f"refusal reason: <span class='raw'>{escape(answer.refusal_reason or '-')}</span>")
    if answer.answerability:
        lines.append(f"answerability: <span class='raw'>{_numbers(answer.answerability)}</span>")
    summary = f"<p class='inspector-summary'>{'<br>'.join(lines)}</p>"

    if used_rows:
        candidates = f"<p>Candidates the answer used ({len(used_rows)} of {total}):</p>" + \
            _table(_INSPECTOR_HEADER, used_rows)
    else:
        candidates = "<p>No candidate was given to the model or cited.</p>"
    if rest:
        candidates += (
            f"<details class='more-candidates'><summary>Show all {total} candidates "
            f"({len(rest)} more)</summary>{_table(_INSPECTOR_HEADER, rest)}</details>"
        )
    return summary + _draft_html(answer) + candidates


def _draft_html(answer: Answer) -> str:
    """The model's raw draft and the verdict on each of its sentences: for inspection, never the answer."""
    if not answer.draft and not answer.sentences:
        return f"<p>Strategy: {escape(answer.strategy or '-')} (no model draft).</p>"
    rows = [
        f"<tr><td>{'shown' if s.supported else 'dropped'}</td><td>{_fmt(s.score)}</td>"
        f"<td>{escape(s.text)} {escape(''.join(f'[{n}]' for n in s.citations))}</td>"
        f"<td>{escape(s.reason or s.note)}</td></tr>"
        for s in answer.sentences
    ]
    return (
        f"<p>Strategy: {escape(answer.strategy or '-')}. Model draft (unchecked): "
        f"<span class='draft'>{escape(answer.draft or '-')}</span></p>"
        + _table(["verdict", "support", "sentence", "why"], rows)
    )


def document_html(title: str, text: str, start: int, end: int, page: int | None = None) -> str:
    """A whole document, the span ``[start, end)`` highlighted, with a link that jumps to it."""
    a, b = max(0, start), min(len(text), end)
    where = f" (page {page})" if page else ""
    return (
        f"<div class='document'><h4>{escape(title)}</h4>"
        f"<p><a href='#hl'>Jump to the cited passage{escape(where)}</a></p>"
        f"<div class='doc-text' style='white-space:pre-wrap;max-height:32em;overflow:auto'>"
        f"{escape(text[:a])}<mark id='hl'>{escape(text[a:b])}</mark>{escape(text[b:])}</div></div>"
    )


# --- the evaluation tab ----------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or isinstance(value, bool) or not isinstance(value, (int, float))


def _rate(value: Any) -> str:
    """A share in [0, 1] (what evals/runner.py's summarise writes) as "31 %"."""
    return "–" if _missing(value) else f"{100 * value:.0f} %"


def _count(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.0f}"


def _score(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.2f}"


def _seconds(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.2f} s"


# (label, summary key, format): every key as evals/runner.py summarise defines it.
# Shares of questions, sentences or quotes are rates; F1 is a mean score, not a share.
_SUMMARY_ROWS = [
    ("unanswerable refused", "unanswerable_refused", _rate),
    ("answerable wrongly refused", "answerable_refused", _rate),
    ("answer contains a reference", "contains_answer", _rate),
    ("token F1", "f1", _score),
    ("quotes found verbatim in their cited passage", "quotes_verbatim", _rate),
    ("scripted fabricated answers shown (replay)", "replay_fabricated_answers_shown", _rate),
    ("scripted correct answers shown (replay)", "replay_correct_answers_shown", _rate),
    ("faithfulness by an independent LLM judge", "faithfulness_llm_judge", _rate),
    ("sentences the verifier passed (its own verdict, not faithfulness)", "checker_pass_rate", _rate),
    ("citations to missing passages removed from drafts", "removed_citations", _count),
]


def eval_summary_html(summary: dict[str, Any] | None) -> str:
    """The headline figures of the latest eval run."""
    if not summary:
        return "<p>No evaluation has been run yet: press <b>Run the dev set</b>, or run <code>rag eval</code>.</p>"
    questions = _count(summary.get("questions"))
    if not _missing(summary.get("answerable")) and not _missing(summary.get("unanswerable")):
        questions += f" ({_count(summary['answerable'])} answerable, {_count(summary['unanswerable'])} unanswerable)"
    rows = [("questions", questions)]
    rows += [(label, fmt(summary.get(key))) for label, key, fmt in _SUMMARY_ROWS]
    retrieval = summary.get("retrieval") or {}
    rows.append(("retrieval hit@1 / @5 / @10", " / ".join(_rate(retrieval.get(f"hit@{k}")) for k in (1, 5, 10))))
    rows.append(("retrieval MRR", _score(retrieval.get("mrr"))))
    latency = summary.get("latency_s") or {}
    rows.append(("p50 latency: first token / first checked sentence / total",
                 " / ".join(_seconds(latency.get(k)) for k in ("first_token_p50", "first_sentence_p50", "total_p50"))))
    body = "".join(f"<tr><td>{escape(label)}</td><td>{escape(value)}</td></tr>" for label, value in rows)
    return (f"<p>Model <code>{escape(summary.get('model'))}</code> on <code>{escape(summary.get('dataset'))}</code></p>"
            f"<div class='table-wrap'><table class='inspector eval-summary'>{body}</table></div>")


def _record_sources(result: dict[str, Any], limit: int = 3) -> tuple[list[str], bool]:
    """File names of a record's cited passages; for a refusal (no citations), its closest passages.

    Returns (names, closest). ``result`` is ``Answer.to_dict()``: citations and
    passages each carry their ``source``.
    """
    cited = [c.get("source") for c in result.get("citations") or []]
    closest = not any(cited)
    sources = cited if not closest else [p.get("source") for p in result.get("passages") or []][:limit]
    names: list[str] = []
    for s in sources:
        if s and Path(s).name not in names:
            names.append(Path(s).name)
    return names, closest


def _outcome(record: dict[str, Any]) -> str:
    m = record.get("metrics") or {}
    if record.get("answerable") and m.get("refused"):
        return "wrong refusal"
    if not record.get("answerable") and not m.get("refused"):
        return "missed refusal"
    if m.get("refused"):
        return "refused (right)"
    return f"F1 {_score(m.get('f1'))}" if "f1" in m else (m.get("mode") or "")


def eval_worst_html(records: list[dict[str, Any]], limit: int = 12) -> str:
    """The questions the system did worst on, with their answers and sources."""
    def badness(r: dict[str, Any]) -> tuple:
        m = r["metrics"]
        wrong = (r["answerable"] and m["refused"]) or (not r["answerable"] and not m["refused"])
        return (not wrong, m.get("f1", 1.0))

    rows = []
    for r in sorted(records, key=badness)[:limit]:
        result = r.get("result") or {}
        expected = "; ".join(r.get("answers") or []) if r["answerable"] else "(should refuse)"
        answer = escape(result.get("answer", ""))
        if result.get("refused"):
            answer += f"<br><small>{escape(plain_reason(result.get('refusal_reason')))}</small>"
        names, closest = _record_sources(result)
        sources = escape(", ".join(names)) or "–"
        if closest and names:
            # A refusal cites nothing: what it had to go on were these passages.
            sources = f"<span class='closest'>closest: {sources}</span>"
        rows.append(
            f"<tr><td>{escape(r['id'])}</td><td>{escape(r['question'])}</td><td>{escape(expected)}</td>"
            f"<td>{escape(_outcome(r))}</td><td>{answer}</td><td>{sources}</td></tr>"
        )
    if not rows:
        return ""
    return f"<div class='eval-worst'>{_table(['id', 'question', 'expected', 'outcome', 'answer', 'sources'], rows)}</div>"
