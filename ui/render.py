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

__all__ = [
    "answer_markdown", "checking_markdown", "passages_html", "sources_html", "inspector_html", "document_html", "escape",
    "eval_summary_html", "eval_worst_html",
]

_MARKER = re.compile(r"\[(\d{1,3})\]")


def escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _escape_markdown(text: str) -> str:
    # Markdown characters that could build links, images or markup first, then
    # HTML (in that order, so the entities HTML escaping writes stay intact).
    return escape(re.sub(r"([\\`*_{}\[\]()#!|~<>])", r"\\\1", str(text)))


def _link_citations(text: str) -> str:
    escaped = _escape_markdown(text)
    # Markers were escaped to \[n\]; turn each into a link to its source card.
    return re.sub(r"\\\[(\d{1,3})\\\]", lambda m: f"[\\[{m.group(1)}\\]](#src-{m.group(1)})", escaped)


def checking_markdown(shown: list[str], drafting: bool) -> str:
    """While an answer is produced: the sentences that passed the check so far, and a status line."""
    status = "*Writing and checking the answer…*" if drafting else "*Searching the corpus…*"
    return "\n\n".join([*(_link_citations(text) for text in shown), status])


def answer_markdown(answer: Answer) -> str:
    """The checked answer as it appears in the chat."""
    # Plain text labels, not emoji: a browser without an emoji font shows boxes.
    if answer.mode == "error":
        return f"**Error — the model could not answer:** {_escape_markdown(answer.error or 'unknown error')}\n\n" \
               "The retrieved passages are in the Sources panel."
    if answer.refused:
        reason = f"\n>\n> *Why: {_escape_markdown(answer.refusal_reason)}*" if answer.refusal_reason else ""
        return f"> **{_escape_markdown(REFUSAL)}**{reason}\n\nThe closest passages are in the Sources panel."
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
    cards = []
    if answer.citations:
        heading = "Sources cited in the answer"
        for c in answer.citations:
            body = _highlight(c.text, c.evidence_start, c.evidence_end, c.start)
            cards.append(_card(c.n, c.title, c.source, c.page, c.start, c.end, c.chunk_id, body, cited=True))
    else:
        heading = "Closest passages" if answer.refused else "Retrieved passages"
        for n, p in enumerate(answer.passages, start=1):
            ch = p.chunk
            cards.append(_card(n, ch.title, ch.source, ch.page, ch.start, ch.end, ch.id, _clean(ch.text), cited=False))
    return f"<div class='sources'><h4>{escape(heading)}</h4>{''.join(cards)}</div>"


def passages_html(retrieval: Any) -> str:
    """The retrieved passages, shown as soon as retrieval finishes (before the answer)."""
    if retrieval is None or not retrieval.passages:
        return sources_html(None)
    cards = [
        _card(n, p.chunk.title, p.chunk.source, p.chunk.page, p.chunk.start, p.chunk.end, p.chunk.id,
              _clean(p.chunk.text), cited=False)
        for n, p in enumerate(retrieval.passages, start=1)
    ]
    return f"<div class='sources'><h4>Retrieved passages</h4>{''.join(cards)}</div>"


def _card(n: int, title: str, source: str, page: int | None, start: int, end: int,
          chunk_id: str, body: str, cited: bool) -> str:
    cls = "source cited" if cited else "source"
    return (
        f"<div class='{cls}' id='src-{n}' data-chunk='{escape(chunk_id)}'>"
        f"<div class='source-head'><b>[{n}]</b> {escape(title)} "
        f"<span class='loc'>{escape(_location(source, page, start, end))}</span></div>"
        f"<div class='source-text'>{body}</div></div>"
    )


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(str(value))


def inspector_html(answer: Answer | None) -> str:
    """Every retrieval candidate with its dense, lexical and fused scores and ranks."""
    if answer is None or answer.retrieval is None:
        return "<div>No retrieval yet.</div>"
    given = {p.chunk.id: n for n, p in enumerate(answer.passages, start=1)}
    cited = {c.chunk_id for c in answer.citations}
    rows = []
    for cand in answer.retrieval.candidates:
        ch = cand.chunk
        status = "cited" if ch.id in cited else (f"passage [{given[ch.id]}]" if ch.id in given else "")
        if cand.duplicate_of:
            status = "collapsed (overlaps a better one)"
        rows.append(
            "<tr>"
            f"<td>{cand.rank}</td><td>{escape(ch.title)}<br><small>{escape(Path(ch.source).name)} "
            f"{ch.start}–{ch.end}</small></td>"
            f"<td>{_fmt(cand.dense_score)} ({_fmt(cand.dense_rank)})</td>"
            f"<td>{_fmt(cand.lexical_score, 2)} ({_fmt(cand.lexical_rank)})</td>"
            f"<td>{_fmt(cand.fused_score)}</td><td>{escape(status)}</td>"
            f"<td><small>{escape(ch.text[:160])}…</small></td>"
            "</tr>"
        )
    r = answer.retrieval
    summary = (
        f"<p>Question used for retrieval: <i>{escape(answer.standalone_question)}</i> · "
        f"best dense similarity {r.top_dense:.3f} · query-term coverage {r.query_coverage:.2f} · "
        f"timings: {escape(', '.join(f'{k} {1000 * v:.0f} ms' for k, v in answer.timings.items()))}</p>"
    )
    return (
        summary + _draft_html(answer) + "<table class='inspector'><tr><th>rank</th><th>passage</th><th>dense (rank)</th>"
        "<th>BM25 (rank)</th><th>fused</th><th>use</th><th>text</th></tr>" + "".join(rows) + "</table>"
    )


def _draft_html(answer: Answer) -> str:
    """The model's raw draft and the verdict on each of its sentences: for inspection, never the answer."""
    if not answer.draft and not answer.sentences:
        return f"<p>Strategy: {escape(answer.strategy or '-')} (no model draft).</p>"
    rows = "".join(
        f"<tr><td>{'shown' if s.supported else 'dropped'}</td><td>{_fmt(s.score)}</td>"
        f"<td>{escape(s.text)} {escape(''.join(f'[{n}]' for n in s.citations))}</td>"
        f"<td>{escape(s.reason or s.note)}</td></tr>"
        for s in answer.sentences
    )
    return (
        f"<p>Strategy: {escape(answer.strategy or '-')}. Model draft (unchecked): "
        f"<span class='draft'>{escape(answer.draft or '-')}</span></p>"
        "<table class='inspector'><tr><th>verdict</th><th>support</th><th>sentence</th><th>why</th></tr>"
        f"{rows}</table>"
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


_SUMMARY_ROWS = [
    ("questions", "questions"),
    ("unanswerable refused", "unanswerable_refused"),
    ("answerable wrongly refused", "answerable_refused"),
    ("answer contains a reference", "contains_answer"),
    ("token F1", "f1"),
    ("quotes found verbatim in their cited passage", "quotes_verbatim"),
    ("scripted fabricated answers shown (replay)", "replay_fabricated_answers_shown"),
    ("scripted correct answers shown (replay)", "replay_correct_answers_shown"),
    ("faithfulness by an independent LLM judge", "faithfulness_llm_judge"),
    ("sentences the verifier passed (its own verdict, not faithfulness)", "checker_pass_rate"),
    ("citations to missing passages removed from drafts", "removed_citations"),
]


def eval_summary_html(summary: dict[str, Any] | None) -> str:
    """The headline figures of the latest eval run."""
    if not summary:
        return "<p>No evaluation has been run yet: press <b>Run the dev set</b>, or run <code>rag eval</code>.</p>"
    rows = [(label, summary.get(key)) for label, key in _SUMMARY_ROWS]
    retrieval = summary.get("retrieval") or {}
    rows.append(("retrieval hit@1 / @5 / @10", " / ".join(str(retrieval.get(f"hit@{k}")) for k in (1, 5, 10))))
    latency = summary.get("latency_s") or {}
    rows.append(("p50 latency: first token / total (s)",
                 f"{latency.get('first_token_p50')} / {latency.get('total_p50')}"))
    body = "".join(f"<tr><td>{escape(label)}</td><td>{escape(value)}</td></tr>" for label, value in rows)
    return (f"<p>Model <code>{escape(summary.get('model'))}</code> on <code>{escape(summary.get('dataset'))}</code></p>"
            f"<table class='inspector'>{body}</table>")


def eval_worst_html(records: list[dict[str, Any]], limit: int = 12) -> str:
    """The questions the system did worst on, with their answers and sources."""
    def badness(r: dict[str, Any]) -> tuple:
        m = r["metrics"]
        wrong = (r["answerable"] and m["refused"]) or (not r["answerable"] and not m["refused"])
        return (not wrong, m.get("f1", 1.0))

    rows = []
    for r in sorted(records, key=badness)[:limit]:
        expected = "; ".join(r.get("answers") or []) if r["answerable"] else "(should refuse)"
        sources = ", ".join(sorted({Path(c["source"]).name for c in r["result"].get("citations", [])}))
        rows.append(
            f"<tr><td>{escape(r['id'])}</td><td>{escape(r['question'])}</td><td>{escape(expected)}</td>"
            f"<td>{escape(r['result']['answer'])}</td><td>{escape(sources)}</td></tr>"
        )
    if not rows:
        return ""
    return ("<table class='inspector'><tr><th>id</th><th>question</th><th>expected</th><th>answer</th>"
            "<th>sources</th></tr>" + "".join(rows) + "</table>")
