"""The page: components laid out and wired to :class:`~ui.app.ChatApp` and :class:`~ui.documents_tab.DocumentsPanel`.

Nothing here decides anything; each handler unpacks Gradio's arguments, calls
a plain method and packs the result. Whose conversations a visitor sees is
resolved on every call from the login (``request.username``) or the random
id the browser keeps in local storage, never from anything the page sends
as a parameter.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import gradio as gr

from .app import EMPTY_HINT, ChatApp
from .documents_tab import DocumentsPanel, corpus_summary_html, documents_table_html, example_questions
from .render import RENDER_CSS, inspector_html, sources_details_html, sources_html

__all__ = ["build_blocks", "CSS"]

log = logging.getLogger(__name__)

CSS = """
.source{border:1px solid #ddd;border-radius:6px;padding:.5em;margin:.4em 0}
.source.cited{border-color:#4a7}
.source .loc{color:#777;font-size:.85em}
.source mark{background:#ffe08a}
.inspector td,.inspector th{padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top;font-size:.85em}
.draft{color:#888}
.model-notice{background:#fff6d6;border:1px solid #f0d98a;border-radius:6px;padding:.35em .6em;font-size:.9em}
.corpus-line{font-size:.9em;color:#555}
.hint{color:#a15c00;font-size:.9em;min-height:0}
#feedback-status{font-size:.9em;min-height:0}
#answer-sources{display:none}
@media (max-width: 640px){
  #answer-sources{display:block}
  #sources-panel{display:none}
  #chat{height:52vh !important}
  #ask,#stop,#regenerate,#export-answer{font-size:.85em;padding-left:.3em;padding-right:.3em}
}
#examples button{white-space:normal;text-align:left}
"""


def build_blocks(app: ChatApp, panel: DocumentsPanel | None = None):  # noqa: ANN201 - (gr.Blocks, css)
    """Lay out the page and wire its events to ``app`` (and ``panel`` for the Documents tab)."""
    panel = panel or DocumentsPanel(app.settings, answerer=app.answerer)
    # Uploaded and exported files leave Gradio's cache after a day (checked every hour).
    with gr.Blocks(title="Corpus Q&A", delete_cache=(3600, 86400)) as blocks:
        # A stable secret: the id stays readable across server restarts, so conversations do too.
        browser_id = gr.BrowserState("", storage_key="rag-browser-id", secret=app.browser_secret())
        # Handlers read the id from a session state, not from the BrowserState: a BrowserState
        # input would become a required parameter of the chat's API (gradio_client, load tests).
        session_id = gr.State("")
        session_id.change(lambda b: b, session_id, browser_id, queue=False)  # a new id is kept
        conversation_id = gr.State(None)
        with gr.Sidebar(label="Conversations", open=True, elem_id="sidebar"):
            side = _sidebar()
        gr.Markdown("## Ask the corpus\nAnswers cite the passages they come from; "
                    "when the corpus has no answer, it says so.")
        notice = gr.HTML(app.model_notice(), elem_id="model-notice")
        corpus_line = gr.HTML("", elem_id="corpus-line")
        with gr.Tab("Chat", id="chat-tab"):
            chat = _chat_tab(app, session_id, conversation_id, side, notice)
        with gr.Tab("Documents", id="documents-tab"):
            docs = _documents_tab(app, panel, corpus_line, chat["examples"])
        with gr.Tab("Evaluation", id="eval-tab"):
            report = _eval_tab(app)

        def on_load(bid: str | None, request: gr.Request):  # noqa: ANN202
            bid = app.new_browser_id(bid)
            owner = _owner(app, bid, request)
            summary, plots, worst = app.eval_report()
            documents = panel.documents()
            return (bid, gr.update(choices=app.conversation_choices(owner), value=None),
                    corpus_summary_html(documents), gr.update(samples=[[q] for q in example_questions(documents)]),
                    documents_table_html(documents), gr.update(choices=_doc_choices(documents), value=None),
                    summary, gr.update(value=plots, visible=bool(plots)), worst)

        # Open beside the chat on a desktop; folded on a phone, where it would cover the chat.
        blocks.load(None, None, None, js=_FOLD_SIDEBAR_ON_PHONES)
        # A CLI `rag ingest` or `rag eval` shows up on reload.
        blocks.load(on_load, [browser_id], [session_id, side["list"], corpus_line, chat["examples"],
                                            docs["table"], docs["choice"], *report])
    return blocks, CSS + RENDER_CSS


_FOLD_SIDEBAR_ON_PHONES = """() => { if (window.innerWidth <= 640) {
  const toggle = document.querySelector('#sidebar button[aria-label="Toggle Sidebar"]')
    || document.querySelector('button[aria-label="Toggle Sidebar"]');
  const sidebar = document.querySelector('#sidebar');
  if (toggle && sidebar && sidebar.classList.contains('open')) toggle.click(); } }"""


def _owner(app: ChatApp, bid: str | None, request: gr.Request) -> str:
    return app.owner(getattr(request, "username", None), bid, getattr(request, "session_hash", None))


def _doc_choices(documents: list) -> list[tuple[str, str]]:
    return [(f"{d.title or d.file_name} ({d.source})", d.source) for d in documents]


def _sidebar() -> dict[str, Any]:
    new = gr.Button("New conversation", variant="primary", elem_id="new-conversation")
    listing = gr.Radio(choices=[], label="Past conversations", elem_id="conversations")
    title = gr.Textbox(label="Rename to", max_lines=1, elem_id="rename-text")
    with gr.Row():
        rename = gr.Button("Rename", size="sm", elem_id="rename")
        delete = gr.Button("Delete conversation", size="sm", variant="stop", elem_id="delete-conversation")
    export = gr.Button("Export conversation (Markdown)", size="sm", elem_id="export-conversation")
    file = gr.File(label="Download", visible=False, elem_id="export-file")
    status = gr.Markdown("", elem_id="conversation-status")
    return {"new": new, "list": listing, "title": title, "rename": rename, "delete": delete,
            "export": export, "file": file, "status": status}


def _chat_tab(app: ChatApp, browser_id, conversation_id, side: dict[str, Any], notice) -> dict[str, Any]:  # noqa: ANN001, C901
    turns = gr.State([])
    feedback_index = gr.State(None)
    selected = gr.State(None)  # the answer clicked last: "Export answer" exports that one
    with gr.Row():
        with gr.Column(scale=3):
            # No "share" button: it posts to Hugging Face, and the corpus stays on this machine.
            chat = gr.Chatbot(label="Chat", height=480, sanitize_html=True, elem_id="chat",
                              feedback_options=["Like", "Dislike"], buttons=["copy", "copy_all"])
            answer_sources = gr.HTML("", elem_id="answer-sources")  # phones: the sources right under the answer
            feedback = gr.Markdown("", elem_id="feedback-status")
            with gr.Row(visible=False, elem_id="comment-row") as comment_row:
                comment = gr.Textbox(placeholder="What was wrong? (optional)", show_label=False, scale=4,
                                     max_lines=3, elem_id="comment")
                send_comment = gr.Button("Send", size="sm", scale=1, elem_id="send-comment")
            box = gr.Textbox(placeholder="Ask about the corpus…", show_label=False, elem_id="question")
            hint = gr.Markdown("", elem_id="hint", elem_classes=["hint"])
            with gr.Row(equal_height=True):  # one row on a phone too: small minimum widths
                send = gr.Button("Ask", variant="primary", elem_id="ask", min_width=70, scale=2)
                stop = gr.Button("Stop", variant="stop", visible=False, elem_id="stop", min_width=70, scale=2)
                regen = gr.Button("Regenerate", elem_id="regenerate", min_width=70, scale=1, size="md")
                export_answer = gr.Button("Export answer", elem_id="export-answer", min_width=70, scale=1, size="md")
            answer_file = gr.File(label="Answer as Markdown", visible=False, elem_id="answer-file")
            examples = gr.Dataset(components=[box], samples=[], label="Try", elem_id="examples", layout="gallery")
        with gr.Column(scale=2, elem_id="sources-panel"):
            sources = gr.HTML(sources_html(None), elem_id="sources")
    with gr.Accordion("Document viewer", open=False):
        doc_choice = gr.Dropdown(choices=[], label="Open the document of source", elem_id="doc-choice")
        document = gr.HTML("<div>Choose a source to read it in its document.</div>", elem_id="document")
    with gr.Accordion("Retrieval inspector", open=False):
        inspector = gr.HTML(inspector_html(None), elem_id="inspector")
    with gr.Accordion("Settings", open=False, elem_id="settings"):
        choices = app.model_choices()
        model = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Model",
                            elem_id="model")
        described = gr.Markdown(app.model_description())
        top_k = gr.Slider(1, 10, value=app.passages(), step=1, label="Passages (top-k)")
        temperature = gr.Slider(0.0, 1.5, value=app.settings.temperature, step=0.1, label="Temperature")

    outputs = [chat, sources, inspector, turns, box, doc_choice, answer_sources, conversation_id, side["list"],
               hint, feedback, comment_row, browser_id]

    # While an answer is produced Ask, Regenerate and the question box are disabled and Stop is
    # shown. The run itself switches them, in its first and last updates: a `.then` chain is
    # cut short by Stop, and its last link would then fire in the middle of the next answer.
    busy = (gr.update(interactive=False), gr.update(visible=True), gr.update(interactive=False))
    idle = (gr.update(interactive=True), gr.update(visible=False), gr.update(interactive=True))
    controls = [send, stop, regen]
    run_outputs = [*outputs, *controls]

    running: set[str] = set()  # sessions with an answer in flight: one at a time per tab
    lock = threading.Lock()

    def stream(make, cid: str | None, bid: str | None, request: gr.Request, prior: list):  # noqa: ANN001, ANN202
        # A question asked before the page's load event finished has no browser id yet: make
        # one here and hand it back, or the first conversation would belong to nobody.
        bid = app.new_browser_id(bid)
        owner = _owner(app, bid, request)
        session = getattr(request, "session_hash", None) or ""
        with lock:
            if session and session in running:  # a double click, or a suggestion clicked mid-answer
                yield (*[gr.skip()] * 9, "An answer is being produced: wait for it, or press Stop.",
                       *[gr.skip()] * 6)
                return
            running.add(session)
        hidden = gr.update(visible=False)
        last = None
        try:
            for out in make():
                last = out
                yield (*out[:4], gr.update(value="", interactive=False), *[gr.skip()] * 4, "", "", hidden,
                       gr.skip(), *busy)
            if last is None:
                yield (*[gr.skip()] * 13, *idle)
                return
            state = last[3]
            extra = (*[gr.skip()] * 4, "", "", hidden, gr.skip())
            if state and (not prior or state[-1] is not prior[-1]):  # a new answer: save it
                cid = app.save_turn(owner, cid, state)
                answer = state[-1]["answer"]
                extra = (gr.update(choices=app.document_choices(state), value=None), sources_details_html(answer),
                         cid, gr.update(choices=app.conversation_choices(owner), value=cid), "", "", hidden, bid)
            yield (*last[:4], gr.update(value="", interactive=True), *extra, *idle)
        except Exception:  # never leave the page with Ask disabled: say so, give the controls back
            log.exception("the chat failed to answer")
            note = [*(last[0] if last else []), {"role": "assistant",
                                                 "content": "**Error:** something went wrong; please try again."}]
            yield (note, *[gr.skip()] * 3, gr.update(interactive=True), *[gr.skip()] * 8, *idle)
        finally:
            with lock:
                running.discard(session)

    def run(message: str, history: list, k: float, temp: float, name: str | None, state: list, cid: str | None,
            bid: str | None, request: gr.Request):  # noqa: ANN202
        if not str(message or "").strip():
            yield (*[gr.skip()] * 9, EMPTY_HINT, *[gr.skip()] * 6)
            return
        yield from stream(lambda: app.respond(message, history, state, int(k), temp, name), cid, bid, request,
                          list(state or []))

    def run_example(sample: list, history: list, k: float, temp: float, name: str | None, state: list,
                    cid: str | None, bid: str | None, request: gr.Request):  # noqa: ANN202
        yield from run(sample[0] if sample else "", history, k, temp, name, state, cid, bid, request)

    def rerun(history: list, k: float, temp: float, name: str | None, state: list, cid: str | None,
              bid: str | None, request: gr.Request):  # noqa: ANN202
        if not state and not any(m.get("role") == "user" for m in history or []):
            yield (*[gr.skip()] * 9, "Nothing to regenerate yet: ask a question first.", *[gr.skip()] * 6)
            return
        yield from stream(lambda: app.regenerate(history, state, int(k), temp, name), cid, bid, request,
                          list(state or []))

    # The API's order (gradio_client, the soak and load tests): question, history, top-k,
    # temperature, model; the per-session states come last and are not part of it.
    rest = [chat, top_k, temperature, model, turns, conversation_id, browser_id]
    # trigger_mode "multiple": with Gradio's default ("once") an event cancelled by Stop stays
    # pending in the page, and every later click on Ask would be ignored.
    opts = {"show_progress": "hidden", "trigger_mode": "multiple"}
    runs = [
        box.submit(run, [box, *rest], run_outputs, api_visibility="private", **opts),
        send.click(run, [box, *rest], run_outputs, api_name="respond", **opts),
        examples.click(run_example, [examples, *rest], run_outputs, api_visibility="private", **opts),
        regen.click(rerun, rest, run_outputs, api_name="regenerate", **opts),
    ]

    def release(request: gr.Request) -> None:
        # A cancelled run may never reach its `finally` (Gradio stops pulling from it rather
        # than closing it), so whatever cancels it also frees the tab for the next question.
        with lock:
            running.discard(getattr(request, "session_hash", None) or "")

    def on_stop(history: list, request: gr.Request):  # noqa: ANN202
        release(request)
        return (app.stopped(history), gr.update(interactive=True), *idle)

    stop.click(on_stop, [chat], [chat, box, *controls], cancels=runs, queue=False)

    # --- conversations ---
    def new_conversation():  # noqa: ANN202
        history, src, insp, state, text = app.new_conversation()
        return (history, src, insp, state, text, gr.update(choices=[], value=None), "", None,
                gr.update(value=None), "", "", gr.update(visible=False), gr.skip())

    def new_while_idle(request: gr.Request):  # noqa: ANN202
        release(request)
        return (*new_conversation(), *idle)

    side["new"].click(new_while_idle, None, [*outputs, *controls], queue=False, cancels=runs)
    chat.clear(new_while_idle, None, [*outputs, *controls], queue=False, cancels=runs)  # the chat's own bin icon: the same, saved first

    def open_saved(cid: str | None, bid: str | None, request: gr.Request):  # noqa: ANN202
        if not cid:
            return (*[gr.skip()] * 13,)
        history, src, insp, state, found = app.open_conversation(_owner(app, bid, request), cid)
        answer = state[-1]["answer"] if state else None
        return (history, src, insp, state, "", gr.update(choices=app.document_choices(state), value=None),
                sources_details_html(answer) if answer else "", found, gr.skip(), "", "", gr.update(visible=False),
                gr.skip())

    def open_while_idle(cid: str | None, bid: str | None, request: gr.Request):  # noqa: ANN202
        release(request)
        return (*open_saved(cid, bid, request), *idle)

    side["list"].input(open_while_idle, [side["list"], browser_id], [*outputs, *controls], cancels=runs)

    def rename(cid: str | None, title: str, bid: str | None, request: gr.Request):  # noqa: ANN202
        owner = _owner(app, bid, request)
        message = app.rename_conversation(owner, cid, title)
        return gr.update(choices=app.conversation_choices(owner), value=cid), message, ""

    side["rename"].click(rename, [conversation_id, side["title"], browser_id],
                         [side["list"], side["status"], side["title"]])

    def delete(cid: str | None, bid: str | None, request: gr.Request):  # noqa: ANN202
        owner = _owner(app, bid, request)
        message = app.delete_conversation(owner, cid)
        fresh = new_conversation()
        return (*fresh[:8], gr.update(choices=app.conversation_choices(owner), value=None), *fresh[9:], message)

    side["delete"].click(delete, [conversation_id, browser_id], [*outputs, side["status"]])

    def export(cid: str | None, bid: str | None, request: gr.Request):  # noqa: ANN202
        path = app.export_conversation(_owner(app, bid, request), cid)
        if path is None:
            return gr.update(visible=False), "Nothing to export yet: ask a question first."
        return gr.update(value=path, visible=True), ""

    side["export"].click(export, [conversation_id, browser_id], [side["file"], side["status"]])

    def export_one(state: list, chosen: tuple | None):  # noqa: ANN202
        # The clicked answer, unless a newer one came since: then the latest, as shown last.
        index = chosen[0] if chosen and chosen[1] == len(state or []) else None
        path = app.export_answer(state, index)
        return gr.update(value=path, visible=path is not None)

    export_answer.click(export_one, [turns, selected], [answer_file])

    # --- sources, feedback, settings ---
    doc_choice.change(app.open_document, [doc_choice], [document])

    def on_select(state: list, evt: gr.SelectData):  # noqa: ANN202
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return (*app.select(state, index), (index, len(state or [])))

    def on_like(state: list, evt: gr.LikeData):  # noqa: ANN202
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        message = app.vote(state, index, bool(evt.liked))
        asks_comment = not evt.liked and message.startswith("Thanks")
        return message, gr.update(visible=asks_comment), index, ""

    def on_comment(state: list, index: int | None, text: str):  # noqa: ANN202
        if not str(text or "").strip():
            return "Type a comment first, or leave it: the thumbs down is already saved.", gr.skip(), gr.skip()
        return app.vote(state, index, False, comment=text), gr.update(visible=False), ""

    chat.select(on_select, [turns], [sources, inspector, selected])
    chat.like(on_like, [turns], [feedback, comment_row, feedback_index, comment])
    send_comment.click(on_comment, [turns, feedback_index, comment], [feedback, comment_row, comment])
    comment.submit(on_comment, [turns, feedback_index, comment], [feedback, comment_row, comment])

    def on_model(name: str | None):  # noqa: ANN202
        # The slider follows the model: a drafting model reads more passages than the quotes.
        return app.model_notice(name), app.model_description(name), gr.update(value=app.passages(name))

    model.change(on_model, [model], [notice, described, top_k])
    return {"examples": examples, "chat": chat}


def _documents_tab(app: ChatApp, panel: DocumentsPanel, corpus_line, examples) -> dict[str, Any]:  # noqa: ANN001
    from ingest.library import supported_suffixes

    gr.Markdown("The documents the chat answers from. Add files (" + ", ".join(supported_suffixes())
                + f"; up to {app.settings.max_file_mb:g} MB each), remove them, or re-index everything.")
    files = gr.File(file_count="multiple", file_types=list(supported_suffixes()), label="Drop files here or click",
                    elem_id="upload-files")
    with gr.Row():
        add = gr.Button("Add to the corpus", variant="primary", elem_id="upload")
        refresh = gr.Button("Re-index all", elem_id="reindex")
    status = gr.HTML("", elem_id="upload-status")
    table = gr.HTML("", elem_id="documents")
    with gr.Row():
        choice = gr.Dropdown(choices=[], label="Document", elem_id="delete-choice", scale=3)
        delete = gr.Button("Delete document", variant="stop", elem_id="delete-document", scale=1)

    def refreshed(message: str):  # noqa: ANN202
        documents = panel.documents()
        return (message, documents_table_html(documents), gr.update(choices=_doc_choices(documents), value=None),
                corpus_summary_html(documents), gr.update(samples=[[q] for q in example_questions(documents)]))

    outputs = [status, table, choice, corpus_line, examples]

    def upload(paths: list[str] | None, request: gr.Request, progress: gr.Progress = gr.Progress()):  # noqa: ANN202, B008
        message = panel.upload(paths, getattr(request, "username", None),
                               progress=lambda f, desc: progress(f, desc=desc))
        return (*refreshed(message), None)

    add.click(upload, [files], [*outputs, files], show_progress_on=[status], concurrency_limit=1,
              concurrency_id="corpus")

    def remove(source: str | None, request: gr.Request):  # noqa: ANN202
        return refreshed(panel.delete(source, getattr(request, "username", None)))

    # The browser asks before anything is deleted; a cancelled confirm sends no document.
    delete.click(remove, [choice], outputs, concurrency_limit=1, concurrency_id="corpus",
                 js="(s) => (s && confirm('Remove ' + s + ' from the corpus?')) ? s : null")

    def again(request: gr.Request):  # noqa: ANN202
        return refreshed(panel.reindex(getattr(request, "username", None)))

    refresh.click(again, None, outputs, show_progress_on=[status], concurrency_limit=1, concurrency_id="corpus")
    return {"table": table, "choice": choice}


def _eval_tab(app: ChatApp) -> list:
    gr.Markdown("How faithful are the answers? The latest `rag eval` run over the dev set "
                "(`evals/datasets/dev.jsonl`), scored offline.")
    summary = gr.HTML("", elem_id="eval-summary")
    gallery = gr.Gallery([], label="Plots", columns=2, height="auto", object_fit="contain", visible=False,
                         elem_id="eval-plots")
    gr.Markdown("**Worst questions** — wrong refusals and missed refusals first, then lowest F1")
    worst = gr.HTML("", elem_id="eval-worst")
    with gr.Row():
        run = gr.Button("Run the dev set", elem_id="eval-run")
        cancel = gr.Button("Cancel the run", variant="stop", visible=False, elem_id="eval-cancel")

    def run_dev_set(progress: gr.Progress = gr.Progress()):  # noqa: ANN202, B008 - Gradio's progress idiom
        summary_html, plots, worst_html = app.run_dev_set(lambda i, n: progress((i, n), desc="questions"))
        return summary_html, gr.update(value=plots, visible=bool(plots)), worst_html, gr.update(visible=False)

    started = run.click(lambda: gr.update(visible=True), None, cancel, queue=False)
    # One progress bar, on the summary: not one per output, and never over the button.
    running = started.then(run_dev_set, None, [summary, gallery, worst, cancel], concurrency_limit=1,
                           show_progress_on=[summary])

    def on_cancel():  # noqa: ANN202
        app.cancel_dev_set()
        summary_html = app.eval_report()[0]
        return gr.update(visible=False), "<p><b>Cancelled:</b> the run stops after the current question; " \
            "the latest complete run is shown.</p>" + summary_html

    cancel.click(on_cancel, None, [cancel, summary], cancels=[running], queue=False)
    return [summary, gallery, worst]
