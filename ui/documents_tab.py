"""The Documents tab and the corpus line of the chat: what is indexed, uploads, deletes, re-index.

The rules for uploads (sanitised names, size cap, bad files rejected, a failed
upload leaving the store as it was) live in :mod:`ingest.library`; this module
only turns its results into what the page shows. Changing the corpus is
refused to anonymous visitors when the chat is served beyond this machine,
like a dev-set run: the whole app is behind the login when one is set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from ingest.library import DocumentInfo, delete_document, list_documents, reindex, save_uploads, supported_suffixes
from rag.answer import Answerer
from rag.config import Settings
from rag.embeddings import get_embedder
from rag.errors import RagError
from rag.store import open_store

from .render import escape

__all__ = ["DocumentsPanel", "corpus_summary_html", "documents_table_html", "example_questions"]

# Curated questions for the bundled articles, shown only when those articles are loaded.
_SEED_EXAMPLES = [
    "Which course did Karpathy design at Stanford?",
    "What did Karpathy say about Tesla and Waymo?",
    "What is Software 2.0?",
    "Why does a demo take a decade to become a product?",
]
_NO_ANSWER_EXAMPLE = "What is the capital of Australia?"  # shows a refusal: the corpus has no such fact


def example_questions(docs: Sequence[DocumentInfo], limit: int = 5) -> list[str]:
    """Suggestions drawn from the corpus actually loaded.

    The bundled articles have hand-written questions; any other document gets
    one about its own title, so a visitor who uploaded a manual is not offered
    questions about Karpathy.
    """
    seeds = any(d.source.startswith("seeds/") for d in docs)
    questions = list(_SEED_EXAMPLES) if seeds else []
    others = sorted((d for d in docs if not d.source.startswith("seeds/")),
                    key=lambda d: d.ingested or "", reverse=True)
    # The newest documents first: what a visitor just uploaded is what they want to try.
    about = [f"What is “{' '.join(d.title.split())[:80] or Path(d.source).stem}” about?" for d in others]
    questions = [*about, *questions]
    questions = questions[: limit - 1] if docs else []
    return [*questions, _NO_ANSWER_EXAMPLE] if docs else []


def corpus_summary_html(docs: Sequence[DocumentInfo]) -> str:
    """"Answering from 5 documents, 66 passages", with the titles behind a fold."""
    if not docs:
        return ("<div class='corpus-line'>No documents are indexed yet: add some in the "
                "<b>Documents</b> tab, or run <code>rag ingest</code>.</div>")
    passages = sum(d.chunks for d in docs)
    items = "".join(f"<li>{escape(d.title or d.file_name)} <small>({escape(d.file_name)})</small></li>"
                    for d in docs)
    noun = "document" if len(docs) == 1 else "documents"
    return (f"<details class='corpus-line'><summary>Answering from <b>{len(docs)} {noun}, "
            f"{passages} passages</b> (show titles)</summary><ul>{items}</ul></details>")


def _size(n: int | None) -> str:
    if n is None:
        return "–"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return escape(iso)


def documents_table_html(docs: Sequence[DocumentInfo]) -> str:
    if not docs:
        return "<p>No documents are indexed yet.</p>"
    rows = "".join(
        f"<tr><td>{escape(d.title)}</td><td>{escape(d.file_name)}<br><small>{escape(d.source)}</small></td>"
        f"<td>{d.chunks}</td><td>{_size(d.size_bytes)}</td><td>{_when(d.ingested)}</td></tr>"
        for d in docs
    )
    return ("<div class='table-wrap'><table class='inspector documents'><tr><th>title</th><th>file</th>"
            f"<th>passages</th><th>size</th><th>ingested</th></tr>{rows}</table></div>")


class DocumentsPanel:
    """What the Documents tab does, callable without a browser."""

    def __init__(self, settings: Settings, answerer: Callable[[], Answerer] | None = None) -> None:
        self.settings = settings
        self._answerer = answerer  # the chat's pipeline: list its open store, not a new client per page load

    @property
    def _embedder(self):  # noqa: ANN202
        # get_embedder loads a model once per process: this is the chat's own instance.
        return get_embedder(self.settings)

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document; empty when nothing is indexed yet (not an error)."""
        try:
            store = self._answerer().store if self._answerer else open_store(self.settings, self._embedder)
            return list_documents(store)
        except RagError:
            return []

    def may_change(self, username: str | None) -> str | None:
        """Why this visitor may not change the corpus, or None when they may."""
        s = self.settings
        if username or s.ui_username or s.local_only:
            return None
        return ("Changing the corpus needs a login when the chat is served beyond this machine: "
                "set RAG_UI_USERNAME and RAG_UI_PASSWORD.")

    def upload(self, files: Sequence[str | Path] | None, username: str | None = None,
               progress: Callable[[float, str], None] | None = None) -> str:
        """Index uploaded files (paths of the browser's temporary copies); a Markdown summary."""
        refused = self.may_change(username)
        if refused:
            return refused
        if not files:
            return f"Choose or drop files first ({', '.join(supported_suffixes())})."
        named = [(Path(f).name, Path(f)) for f in files]
        try:
            result = save_uploads(named, self.settings, progress=progress, embedder=self._embedder)
        except RagError as exc:
            return f"**The upload failed and the corpus was left as it was:** {escape(str(exc))}"
        return _markdown_lines(result.summary())

    def delete(self, source: str | None, username: str | None = None) -> str:
        refused = self.may_change(username)
        if refused:
            return refused
        if not source:
            return "Choose a document to delete first."
        try:
            removed = delete_document(source, self.settings, embedder=self._embedder)
        except RagError as exc:
            return f"**Could not delete it:** {escape(str(exc))}"
        return f"Deleted {escape(source)} ({removed} passages)."

    def reindex(self, username: str | None = None) -> str:
        refused = self.may_change(username)
        if refused:
            return refused
        try:
            report = reindex(self.settings, embedder=self._embedder)
        except RagError as exc:
            return f"**Re-indexing failed:** {escape(str(exc))}"
        return _markdown_lines(report.summary())


def _markdown_lines(text: str) -> str:
    # Summaries are plain text with file names in them: escape, then keep the line breaks.
    return "<br>".join(escape(line) for line in str(text).splitlines() if line.strip())
