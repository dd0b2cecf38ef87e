"""The Gradio chat: a thin edge over :class:`rag.answer.Answerer`.

All behaviour lives in :class:`ChatApp`'s plain methods, which tests call
directly; :func:`build_blocks` only lays out components and wires events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import gradio as gr

from rag.answer import Answer, Answerer, QuestionError
from rag.config import Settings
from rag.errors import RagError

from .render import (
    answer_markdown,
    checking_markdown,
    document_html,
    passages_html,
    escape,
    eval_summary_html,
    eval_worst_html,
    inspector_html,
    sources_html,
)

__all__ = ["ChatApp", "build_blocks", "EXAMPLES"]

EXAMPLES = [
    "Which course did Karpathy design at Stanford?",
    "What did Karpathy say about Tesla and Waymo?",
    "What is Software 2.0?",
    "Why does a demo take a decade to become a product?",
    "What is the capital of Australia?",
]

Message = dict[str, Any]

_CSS = """
.source{border:1px solid #ddd;border-radius:6px;padding:.5em;margin:.4em 0}
.source.cited{border-color:#4a7}
.source .loc{color:#777;font-size:.85em}
.source mark{background:#ffe08a}
.inspector td,.inspector th{padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top;font-size:.85em}
.draft{color:#888}
"""


def slim(answer: Answer) -> Answer:
    """What a conversation keeps of an answer: the passages whole, other candidates as snippets.

    Every turn lives in the browser session's state for as long as the tab is
    open; the full candidate pool (tens of passages) and the query vector
    would make each turn tens of kilobytes for nothing the page shows.
    """
    from dataclasses import replace

    retrieval = answer.retrieval
    if retrieval is None:
        return answer
    shown = {p.chunk.id for p in answer.passages}
    candidates = [
        c if c.chunk.id in shown else replace(c, chunk=replace(c.chunk, text=c.chunk.text[:_SNIPPET]))
        for c in retrieval.candidates[:_KEPT_CANDIDATES]
    ]
    return replace(answer, retrieval=replace(retrieval, candidates=candidates, vector=None))


_SNIPPET = 200  # characters of a non-passage candidate the inspector shows (it cuts at 160)
_KEPT_CANDIDATES = 30


class ChatApp:
    """Conversation handling, feedback and settings for the web chat."""

    def __init__(self, settings: Settings, answerer: Answerer | None = None) -> None:
        self.settings = settings
        # One pipeline for every visitor: top-k and temperature travel with each question.
        self._answerer = answerer
        self._lock = threading.Lock()
        self._eval_lock = threading.Lock()  # one dev-set run at a time
        self.feedback_path = settings.data_dir / "feedback.jsonl"

    def answerer(self) -> Answerer:
        """The pipeline every conversation shares."""
        with self._lock:
            if self._answerer is None:
                self._answerer = Answerer(self.settings)
            return self._answerer

    def model_description(self) -> str:
        s = self.settings
        where = f" at {s.llm_base_url}" if s.llm_base_url else ""
        model = s.llm_model or ("bundled SmolLM2-135M-Instruct" if s.llm == "llamacpp" else "default")
        return f"**Model:** `{escape(s.llm)}` · {escape(model)}{escape(where)} · **Embedder:** `{escape(s.embedder)}`"

    # --- chat ---------------------------------------------------------------------
    def respond(
        self,
        message: str,
        history: list[Message],
        turns: list[dict[str, Any]],
        top_k: int | None = None,
        temperature: float | None = None,
    ) -> Iterator[tuple[list[Message], str, str, list[dict[str, Any]], str]]:
        """Stream the answer: yields (chat, sources, inspector, turns, textbox)."""
        history = list(history or [])
        turns = list(turns or [])
        question = str(message or "")
        history.append({"role": "user", "content": question.strip() or "(empty)"})
        history.append({"role": "assistant", "content": "*Searching the corpus…*"})
        yield list(history), sources_html(None), inspector_html(None), turns, ""
        k = int(top_k or self.settings.top_k)
        t = float(self.settings.temperature if temperature is None else temperature)
        previous = [turn["question"] for turn in turns]
        answer: Answer | None = None
        shown: list[str] = []
        draft = ""
        try:
            for event in self.answerer().stream(question, previous, top_k=k, temperature=t):
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
        except RagError as exc:  # empty store, bad settings, unreachable store
            history[-1] = {"role": "assistant", "content": f"**Error:** {escape(str(exc))}"}
            yield history, sources_html(None), inspector_html(None), turns, ""
            return
        assert answer is not None
        history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
        turns.append({"question": answer.question, "answer": slim(answer), "message_index": len(history) - 1})
        yield history, sources_html(answer), inspector_html(answer), turns, ""

    def select(self, turns: list[dict[str, Any]], index: int | None) -> tuple[str, str]:
        """Sources and inspector for the answer at chat position ``index``."""
        for turn in turns or []:
            if turn["message_index"] in (index, (index or 0) + 1):
                return sources_html(turn["answer"]), inspector_html(turn["answer"])
        latest = turns[-1]["answer"] if turns else None
        return sources_html(latest), inspector_html(latest)

    def vote(self, turns: list[dict[str, Any]], index: int | None, liked: bool) -> str:
        """Append a thumbs up/down for one answer to DATA_DIR/feedback.jsonl."""
        turn = next((t for t in turns or [] if t["message_index"] == index), None)
        if turn is None:
            return "Feedback is for answers only."
        answer: Answer = turn["answer"]
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "vote": "up" if liked else "down",
            "question": answer.question,
            "answer": answer.text,
            "refused": answer.refused,
            "mode": answer.mode,
            "citations": [{"n": c.n, "source": c.source, "chunk_id": c.chunk_id} for c in answer.citations],
            "model": answer.model,
        }
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.feedback_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"Thanks — feedback saved ({record['vote']})."

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

    # --- evaluation ------------------------------------------------------------------
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
        if s.ui_username is None and s.host not in ("127.0.0.1", "localhost", "::1"):
            # A run occupies the model for minutes: not for anonymous visitors.
            return ("<p>Running the dev set needs a login when the chat is served beyond this machine: "
                    "set RAG_UI_USERNAME and RAG_UI_PASSWORD.</p>", [], "")
        if not self._eval_lock.acquire(blocking=False):
            return "<p>A dev-set run is already in progress; its report appears here when it ends.</p>", [], ""
        try:
            run_and_report(s, progress=progress or False)
        except RagError as exc:
            return f"<p><b>Error:</b> {escape(str(exc))}</p>", [], ""
        finally:
            self._eval_lock.release()
        return self.eval_report()

    @staticmethod
    def new_conversation() -> tuple[list[Message], str, str, list[dict[str, Any]], str]:
        return [], sources_html(None), inspector_html(None), [], ""


def build_blocks(app: ChatApp):  # noqa: ANN201 - gr.Blocks
    """Lay out the page and wire its events to ``app``."""
    with gr.Blocks(title="Corpus Q&A") as blocks:
        gr.Markdown("## Ask the corpus\nAnswers cite the passages they come from; "
                    "when the corpus has no answer, it says so.")
        with gr.Tab("Chat"):
            _chat_tab(app)
        with gr.Tab("Evaluation"):
            report = _eval_tab(app)
        blocks.load(app.eval_report, None, report)  # a CLI `rag eval` shows up on reload
    return blocks, _CSS


def _eval_tab(app: ChatApp) -> list:
    gr.Markdown("How faithful are the answers? The latest `rag eval` run over the dev set "
                "(`evals/datasets/dev.jsonl`), scored offline.")
    summary_html, plots, worst_html = app.eval_report()
    summary = gr.HTML(summary_html, elem_id="eval-summary")
    gallery = gr.Gallery(plots, label="Plots", columns=2, height=300, elem_id="eval-plots")
    gr.Markdown("**Worst questions** — wrong refusals and missed refusals first, then lowest F1")
    worst = gr.HTML(worst_html, elem_id="eval-worst")
    run = gr.Button("Run the dev set", elem_id="eval-run")

    def run_dev_set(progress: gr.Progress = gr.Progress()):  # noqa: ANN202, B008 - Gradio's progress idiom
        return app.run_dev_set(lambda i, n: progress((i, n), desc="questions"))

    run.click(run_dev_set, None, [summary, gallery, worst], concurrency_limit=1)
    return [summary, gallery, worst]


def _chat_tab(app: ChatApp) -> None:
    turns = gr.State([])
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Chat", height=480, sanitize_html=True, elem_id="chat",
                              feedback_options=["Like", "Dislike"])
            box = gr.Textbox(placeholder="Ask about the corpus…", show_label=False, elem_id="question")
            with gr.Row():
                send = gr.Button("Ask", variant="primary", elem_id="ask")
                clear = gr.Button("New conversation")
            gr.Examples(EXAMPLES, inputs=box, label="Try")
            status = gr.Markdown("")
        with gr.Column(scale=2):
            sources = gr.HTML(sources_html(None), elem_id="sources")
    with gr.Accordion("Document viewer", open=False):
        doc_choice = gr.Dropdown(choices=[], label="Open the document of source", elem_id="doc-choice")
        document = gr.HTML("<div>Choose a source to read it in its document.</div>", elem_id="document")
    with gr.Accordion("Retrieval inspector", open=False):
        inspector = gr.HTML(inspector_html(None), elem_id="inspector")
    with gr.Accordion("Settings", open=False):
        gr.Markdown(app.model_description())
        top_k = gr.Slider(1, 10, value=app.settings.top_k, step=1, label="Passages (top-k)")
        temperature = gr.Slider(0.0, 1.5, value=app.settings.temperature, step=0.1, label="Temperature")

    outputs = [chat, sources, inspector, turns, box, doc_choice]

    def respond(message: str, history: list, state: list, k: int, temp: float):  # noqa: ANN202
        for out in app.respond(message, history, state, k, temp):
            yield (*out, gr.update(choices=app.document_choices(out[3]), value=None))

    def clear_all():  # noqa: ANN202
        return (*app.new_conversation(), gr.update(choices=[], value=None))

    for trigger in (box.submit, send.click):
        trigger(respond, [box, chat, turns, top_k, temperature], outputs)
    clear.click(clear_all, None, outputs)
    doc_choice.change(app.open_document, [doc_choice], [document])

    def on_select(state: list, evt: gr.SelectData) -> tuple[str, str]:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return app.select(state, index)

    def on_like(state: list, evt: gr.LikeData) -> str:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return app.vote(state, index, bool(evt.liked))

    chat.select(on_select, [turns], [sources, inspector])
    chat.like(on_like, [turns], [status])
