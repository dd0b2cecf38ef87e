"""The web chat's behaviour: a thin edge over :mod:`rag` with no Gradio layout in it.

All behaviour lives in :class:`ChatApp`'s plain methods, which tests call
directly; :mod:`ui.layout` only lays out components and wires events.

One :class:`~rag.pipelines.Pipelines` serves every visitor (and the HTTP API
when both run in one process): the model, top-k and temperature a visitor
picks travel with each question instead of building a pipeline per visitor.
Conversations are saved server-side per owner — the login user, or a random
id the browser keeps — so a reload or "New conversation" loses nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import Answer, Answerer, QuestionError
from rag.config import Settings
from rag.conversations import ConversationStore, conversation_markdown, turn_markdown
from rag.errors import RagError
from rag.pipelines import DEFAULT_PIPELINE, Pipelines
from rag.policy import passages_for

from .render import (
    PENDING,
    answer_markdown,
    checking_markdown,
    document_html,
    escape,
    eval_summary_html,
    eval_worst_html,
    inspector_html,
    passages_html,
    sources_html,
)

__all__ = ["ChatApp", "message_text", "saved_dict", "slim"]

Message = dict[str, Any]
ChatStep = tuple[list[Message], Any, Any, list[dict[str, Any]], str]

STOPPED = "*Stopped. Ask again, or rephrase the question.*"
EMPTY_HINT = "Type a question first — for example, one of the suggestions below."
TINY_NOTICE = ("The bundled tiny model is answering: answers are mostly quotes from the documents. "
               "Connect a stronger model in Settings (an OpenAI-compatible server or key).")
_SNIPPET = 200  # characters of a non-passage candidate the inspector shows (it cuts at 160)
_KEPT_CANDIDATES = 30


def slim(answer: Answer) -> Answer:
    """What a conversation keeps of an answer: the passages whole, other candidates as snippets.

    Every turn lives in the browser session's state for as long as the tab is
    open; the full candidate pool (tens of passages) and the query vector
    would make each turn tens of kilobytes for nothing the page shows.
    """
    retrieval = answer.retrieval
    if retrieval is None:
        return answer
    shown = {p.chunk.id for p in answer.passages}
    candidates = [
        c if c.chunk.id in shown else replace(c, chunk=replace(c.chunk, text=c.chunk.text[:_SNIPPET]))
        for c in retrieval.candidates[:_KEPT_CANDIDATES]
    ]
    return replace(answer, retrieval=replace(retrieval, candidates=candidates, vector=None))


def saved_dict(answer: Answer) -> dict[str, Any]:
    """The JSON a saved turn keeps: ``to_dict`` plus the candidates' snippets for the inspector."""
    data = answer.to_dict()
    if answer.retrieval is not None and data.get("retrieval"):
        for row, cand in zip(data["retrieval"]["candidates"], answer.retrieval.candidates):
            row["snippet"] = cand.chunk.text[:_SNIPPET]
    return data


class ChatApp:
    """Conversations, feedback, model choice and evaluation for the web chat."""

    def __init__(self, settings: Settings, answerer: Answerer | None = None, *,
                 pipelines: Pipelines | None = None) -> None:
        self.settings = settings
        self.pipelines = pipelines or Pipelines(settings, answerer=answerer)
        self.conversations = ConversationStore(settings.data_dir / "conversations.sqlite3")
        self._lock = threading.Lock()
        self._eval_lock = threading.Lock()  # one dev-set run at a time
        self._eval_cancel = threading.Event()
        self.feedback_path = settings.data_dir / "feedback.jsonl"

    def answerer(self, pipeline: str | None = None) -> Answerer:
        """The pipeline every conversation shares (``pipeline``: a name from Settings' model list)."""
        return self.pipelines.get(pipeline)

    # --- models -------------------------------------------------------------------------
    def model_choices(self) -> list[tuple[str, str]]:
        return [(info.label, info.name) for info in self.pipelines.infos()]

    def model_description(self, pipeline: str | None = None) -> str:
        s = self.settings
        try:
            info = self.pipelines.info(pipeline or DEFAULT_PIPELINE)
        except RagError as exc:
            return f"**Model:** {escape(str(exc))}"
        return f"**Model:** `{escape(info.llm)}` · {escape(info.model)} · **Embedder:** `{escape(s.embedder)}`"

    def passages(self, pipeline: str | None = None) -> int:
        """The passage slider's value for a model: the depth that model's pipeline reads
        (8 for one that drafts, 5 for the embedded model's quotes, or the configured top_k)."""
        try:
            return self.pipelines.info(pipeline or DEFAULT_PIPELINE).passages
        except RagError:
            return passages_for(self.settings)

    def model_notice(self, pipeline: str | None = None) -> str:
        """One line when the bundled tiny model answers, so nobody mistakes it for the product's ceiling."""
        try:
            tiny = self.pipelines.info(pipeline or DEFAULT_PIPELINE).tiny
        except RagError:
            return ""
        return f"<div class='model-notice'>{escape(TINY_NOTICE)}</div>" if tiny else ""

    # --- chat ---------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        history: list[Message],
        turns: list[dict[str, Any]],
        top_k: int | None = None,
        temperature: float | None = None,
        pipeline: str | None = None,
    ) -> Iterator[ChatStep]:
        """Stream the answer: yields (chat, sources, inspector, turns, textbox).

        Only checked sentences reach the chat; the raw draft stays for the
        inspector. Sources appear as soon as retrieval ends, not after the answer.
        """
        history = list(history or [])
        turns = list(turns or [])
        question = str(message or "")
        if not question.strip():
            # No turn for nothing: the page shows a hint next to the box instead.
            yield history, gr.skip(), gr.skip(), turns, ""
            return
        history.append({"role": "user", "content": question.strip()})
        history.append({"role": "assistant", "content": PENDING[0]})
        yield list(history), gr.skip(), gr.skip(), turns, ""
        # Unset, the pipeline picks its own depth (rag.policy.passages_for); building the
        # pipeline here, outside the try below, would turn a missing index into a crash.
        k = int(top_k) if top_k else None
        t = float(self.settings.temperature if temperature is None else temperature)
        previous = [turn["question"] for turn in turns]
        answer: Answer | None = None
        shown: list[str] = []
        draft = ""
        try:
            for event in self.answerer(pipeline).stream(question, previous, top_k=k, temperature=t):
                if event.kind == "retrieval":
                    history[-1] = {"role": "assistant", "content": checking_markdown([], bool(draft))}
                    yield list(history), passages_html(event.retrieval), inspector_html(None), turns, ""
                elif event.kind == "token":
                    # The raw draft never reaches the chat: only checked sentences do.
                    if not draft:
                        history[-1] = {"role": "assistant", "content": checking_markdown(shown, True)}
                        yield list(history), gr.skip(), gr.skip(), turns, ""
                    draft += event.text
                elif event.kind == "sentence":
                    shown.append(event.text)
                    history[-1] = {"role": "assistant", "content": checking_markdown(shown, True)}
                    yield list(history), gr.skip(), gr.skip(), turns, ""
                elif event.kind == "final":
                    answer = event.answer
        except QuestionError as exc:
            history[-1] = {"role": "assistant", "content": f"*{escape(str(exc))}*"}
            yield history, sources_html(None), inspector_html(None), turns, ""
            return
        except RagError as exc:  # empty store, bad settings, unreachable store or model
            history[-1] = {"role": "assistant", "content": f"**Error:** {escape(str(exc))}"}
            yield history, sources_html(None), inspector_html(None), turns, ""
            return
        assert answer is not None
        history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
        turns.append({"question": answer.question, "answer": slim(answer), "message_index": len(history) - 1})
        yield history, sources_html(answer), inspector_html(answer), turns, ""

    def regenerate(self, history: list[Message], turns: list[dict[str, Any]], top_k: int | None = None,
                   temperature: float | None = None, pipeline: str | None = None) -> Iterator[ChatStep]:
        """Ask the last question again (after a model or setting change, or for a fresh draft).

        The last question is the last one the visitor asked, answered or not: after Stop or
        an error it has no turn yet, and it is that one that is asked again, as a new turn.
        """
        history, turns = list(history or []), list(turns or [])
        answered = turns[-1]["message_index"] + 1 if turns else 0
        pending = [i for i in range(answered, len(history)) if history[i].get("role") == "user"]
        if pending:
            question = message_text(history[pending[-1]].get("content"))
            yield from self.respond(question, history[: pending[-1]], turns, top_k, temperature, pipeline)
            return
        if not turns:
            yield history, gr.skip(), gr.skip(), turns, ""
            return
        last = turns.pop()
        yield from self.respond(last["question"], history[: last["message_index"] - 1], turns, top_k,
                                temperature, pipeline)

    @staticmethod
    def stopped(history: list[Message]) -> list[Message]:
        """The chat after Stop: an unfinished answer becomes a note, never half an answer."""
        history = list(history or [])
        if history and history[-1].get("role") == "assistant" and any(
                p in str(history[-1].get("content", "")) for p in PENDING):
            history[-1] = {"role": "assistant", "content": STOPPED}
        return history

    def select(self, turns: list[dict[str, Any]], index: int | None) -> tuple[str, str]:
        """Sources and inspector for the answer at chat position ``index``."""
        turn = self._turn_at(turns, index, either=True)
        latest = turns[-1]["answer"] if turns else None
        answer = turn["answer"] if turn else latest
        return sources_html(answer), inspector_html(answer)

    @staticmethod
    def _turn_at(turns: list[dict[str, Any]], index: int | None, either: bool = False) -> dict[str, Any] | None:
        for turn in turns or []:
            if turn["message_index"] == index or (either and turn["message_index"] == (index or 0) + 1):
                return turn
        return None

    # --- saved conversations -------------------------------------------------------------
    @staticmethod
    def owner(username: str | None, browser_id: str | None, session: str | None = None) -> str:
        """Whose conversations these are: the login user, else this browser, else this tab."""
        if username:
            return f"user:{username}"
        if browser_id and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", browser_id):
            return f"browser:{browser_id}"
        return f"session:{session or 'anonymous'}"

    def browser_secret(self) -> str:
        """The key Gradio encodes the browser's id with, made once per data dir: a fresh one
        per start would make every browser's id unreadable after a restart. It is not a
        secret (the page receives it); the id itself, 144 random bits, is the credential."""
        path = self.settings.data_dir / "ui-secret"
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(24)
            try:
                with path.open("x", encoding="utf-8") as out:  # "x": two servers starting at once agree
                    out.write(secret)
                path.chmod(0o600)
            except FileExistsError:
                return path.read_text(encoding="utf-8").strip()
            return secret

    @staticmethod
    def new_browser_id(current: str | None) -> str:
        if current and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", current):
            return current
        return secrets.token_urlsafe(18)

    def save_turn(self, owner: str, conversation_id: str | None, turns: list[dict[str, Any]]) -> str | None:
        """Store the latest turn at its position in the page; returns the conversation id (a new
        one for a first question, or when the conversation was deleted meanwhile in another tab).

        Saving by position, not "append" or "replace the last", keeps the saved conversation
        equal to the page whatever happened in between (a regenerated answer, a stopped one).
        """
        if not turns:
            return conversation_id
        turn = turns[-1]
        data = saved_dict(turn["answer"])
        if conversation_id:
            try:
                self.conversations.put_turn(owner, conversation_id, len(turns) - 1, turn["question"], data)
                return conversation_id
            except LookupError:
                pass
        conversation_id = self.conversations.create(owner).id
        for index, earlier in enumerate(turns):  # the whole page, so a reopened one is complete
            self.conversations.put_turn(owner, conversation_id, index, earlier["question"],
                                        data if earlier is turn else saved_dict(earlier["answer"]))
        return conversation_id

    def conversation_choices(self, owner: str) -> list[tuple[str, str]]:
        return [(c.title or "(untitled)", c.id) for c in self.conversations.list(owner)]

    def open_conversation(self, owner: str, conversation_id: str | None) -> tuple[list[Message], str, str,
                                                                                 list[dict[str, Any]], str | None]:
        """(chat, sources, inspector, turns, id) of a saved conversation, as it was shown."""
        conversation = self.conversations.get(owner, conversation_id) if conversation_id else None
        if conversation is None:
            history, sources, inspector, turns, _ = self.new_conversation()
            return history, sources, inspector, turns, None
        history: list[Message] = []
        turns: list[dict[str, Any]] = []
        for saved in conversation.turns:
            answer = Answer.from_dict(saved.answer)
            history.append({"role": "user", "content": saved.question})
            history.append({"role": "assistant", "content": answer_markdown(answer)})
            turns.append({"question": saved.question, "answer": answer, "message_index": len(history) - 1})
        latest = turns[-1]["answer"] if turns else None
        return history, sources_html(latest), inspector_html(latest), turns, conversation.id

    def rename_conversation(self, owner: str, conversation_id: str | None, title: str) -> str:
        if not conversation_id:
            return "Ask a question first: a conversation is saved with its first answer."
        if not str(title or "").strip():
            return "Type the new name first."
        ok = self.conversations.rename(owner, conversation_id, str(title).strip())
        return "Renamed." if ok else "That conversation no longer exists."

    def delete_conversation(self, owner: str, conversation_id: str | None) -> str:
        if not conversation_id:
            return "Nothing to delete: this conversation has not been saved yet."
        ok = self.conversations.delete(owner, conversation_id)
        return "Conversation deleted." if ok else "That conversation no longer exists."

    def export_conversation(self, owner: str, conversation_id: str | None) -> str | None:
        """Path of a Markdown file with the whole conversation, its answers and sources."""
        conversation = self.conversations.get(owner, conversation_id) if conversation_id else None
        if conversation is None:
            return None
        name = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-")[:40] or "conversation"
        return _write_export(f"{name}.md", conversation_markdown(conversation))

    def export_answer(self, turns: list[dict[str, Any]], index: int | None = None) -> str | None:
        """Path of a Markdown file with one answer (the latest, or the one at ``index``) and its sources."""
        turn = (self._turn_at(turns, index, either=True) if index is not None else None) or (
            turns[-1] if turns else None)
        if turn is None:
            return None
        return _write_export("answer.md", turn_markdown({"question": turn["question"],
                                                         "answer": saved_dict(turn["answer"])}))

    # --- feedback ------------------------------------------------------------------------
    def vote(self, turns: list[dict[str, Any]], index: int | None, liked: bool, comment: str = "") -> str:
        """Append a thumbs up/down (and an optional comment) for one answer to DATA_DIR/feedback.jsonl."""
        turn = self._turn_at(turns, index)
        if turn is None:
            return "Feedback is for answers only."
        answer: Answer = turn["answer"]
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # A comment is its own record after the thumbs down it explains: votes are not counted twice.
            "vote": "comment" if comment.strip() else ("up" if liked else "down"),
            "question": answer.question,
            "answer": answer.text,
            "refused": answer.refused,
            "mode": answer.mode,
            "citations": [{"n": c.n, "source": c.source, "chunk_id": c.chunk_id} for c in answer.citations],
            "model": answer.model,
        }
        if comment.strip():
            record["comment"] = comment.strip()[:2000]
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.feedback_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if comment.strip():
            return "Thanks — your comment was saved with the thumbs down."
        return "Thanks — feedback saved." if liked else "Thanks — feedback saved. What was wrong? (optional)"

    # --- documents ----------------------------------------------------------------------
    @staticmethod
    def document_choices(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """(label, chunk id) for each source of the latest answer, for the viewer."""
        if not turns:
            return []
        answer: Answer = turns[-1]["answer"]
        if answer.citations:
            return [(f"[{c.n}] {c.title}", c.chunk_id) for c in answer.citations]
        return [(f"[{n}] {p.chunk.title}", p.chunk.id) for n, p in enumerate(answer.passages, start=1)]

    def open_document(self, chunk_id: str | None) -> str:
        """The whole document a chunk comes from, with the chunk highlighted.

        The browser sends only a chunk id, and the document is rebuilt from the
        store's own chunks: no local file is read, so a replica without the
        files (or a file changed since) still shows what was indexed.
        """
        from rag.documents import assemble

        if not chunk_id:
            return "<div>Choose a source to read it in its document.</div>"
        try:
            store = self.answerer().store
            chunks = store.get_chunks([str(chunk_id)])
            if not chunks:
                return "<div>That passage is no longer in the store.</div>"
            chunk = chunks[0]
            text, where = assemble(store.document_chunks(chunk.source))
        except RagError as exc:
            return f"<div><b>Error:</b> {escape(str(exc))}</div>"
        start, end = where.get(chunk.id, (0, 0))
        return document_html(chunk.title or chunk.source, text, start, end, chunk.page)

    # --- evaluation ----------------------------------------------------------------------
    def eval_report(self) -> tuple[str, list[str], str]:
        """(summary html, plot image paths, worst-questions html) of the latest eval run."""
        from evals.api import latest_dir
        from evals.report import load_latest

        folder = latest_dir(self.settings)
        summary, records = load_latest(folder)
        plots = [str(folder / name) for name in ("scores.png", "retrieval.png") if (folder / name).is_file()]
        return eval_summary_html(summary), plots, eval_worst_html(records)

    def run_dev_set(self, progress: Callable[[int, int], None] | None = None) -> tuple[str, list[str], str]:
        """Run the dev set through the configured pipeline and show the new report."""
        from evals.api import run_and_report

        s = self.settings
        if s.ui_username is None and not s.local_only:
            # A run occupies the model for minutes: not for anonymous visitors.
            return ("<p>Running the dev set needs a login when the chat is served beyond this machine: "
                    "set RAG_UI_USERNAME and RAG_UI_PASSWORD.</p>", [], "")
        if not self._eval_lock.acquire(blocking=False):
            return "<p>A dev-set run is already in progress; its report appears here when it ends.</p>", [], ""
        self._eval_cancel.clear()

        def step(i: int, n: int) -> None:
            if self._eval_cancel.is_set():  # raised inside the run: it stops between questions
                raise _Cancelled
            if progress is not None:
                progress(i, n)

        try:
            run_and_report(s, progress=step)
        except _Cancelled:
            summary, plots, worst = self.eval_report()
            return "<p><b>The run was cancelled.</b> The latest complete run is shown.</p>" + summary, plots, worst
        except RagError as exc:
            return f"<p><b>Error:</b> {escape(str(exc))}</p>", [], ""
        finally:
            self._eval_lock.release()
        return self.eval_report()

    def cancel_dev_set(self) -> None:
        self._eval_cancel.set()

    @staticmethod
    def new_conversation() -> tuple[list[Message], str, str, list[dict[str, Any]], str]:
        return [], sources_html(None), inspector_html(None), [], ""


class _Cancelled(Exception):
    """Raised from the progress callback to stop a dev-set run between questions."""


def message_text(content: Any) -> str:
    """The text of a chat message as the page sends it back (a string, or Gradio's list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return " ".join(message_text(part) for part in content).strip()
    return ""


_EXPORTS = Path(tempfile.gettempdir()) / "rag-exports"
_EXPORT_TTL = 3600.0  # seconds an exported file stays for its download


def _write_export(name: str, text: str) -> str:
    # A fresh folder per export (two visitors exporting at once must not overwrite each
    # other's file), under one parent in the temp dir, which Gradio may serve; folders older
    # than an hour go, so exports do not pile up for the life of the server.
    _EXPORTS.mkdir(exist_ok=True)
    now = time.time()
    for old in _EXPORTS.iterdir():
        try:
            if now - old.stat().st_mtime > _EXPORT_TTL:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=_EXPORTS))
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)
