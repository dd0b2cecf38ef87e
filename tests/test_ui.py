"""The web chat's handlers, called directly (no browser): fast and exact."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ingest import ingest
from rag.answer import Answerer
from rag.config import Settings
from rag.llm import FakeLLM
from tests.conftest import SEEDS
from tests.test_answer import DeadLLM
from ui.app import ChatApp
from ui.layout import build_blocks
from ui.render import answer_markdown, sources_html

EVIL = (
    "Evil notes about the Karpathy robot lab.\n\n"
    "The Karpathy robot lab test page says <script>alert('xss')</script> and "
    "<img src=x onerror=alert('img')> and [click](javascript:alert('js')) inside the robot lab."
)
QUESTION = "Under whom did Karpathy work at Stanford University?"


@pytest.fixture
def ui_settings(settings: Settings, tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "evil.txt").write_text(EVIL, encoding="utf-8")  # literal text, not markup
    s = settings.model_copy(update={"llm": "fake", "min_dense_score": 0.1, "min_query_coverage": 0.5,
                                    "support_threshold": 0.5, "min_quote_relevance": 0.45, "top_k": 4})
    ingest([corpus], s, progress=False)
    return s


def chat(app: ChatApp, question: str, turns: list | None = None, history: list | None = None):  # noqa: ANN201
    steps = list(app.respond(question, history or [], turns or [], None, None))
    return steps, steps[-1]


def test_unchecked_draft_never_reaches_the_chat(ui_settings: Settings) -> None:
    fact = "His work at Stanford University under Fei-Fei Li established his initial reputation."
    draft = f"{fact} [1] He was then supervised by Geoffrey Hinton in Toronto [1]. Stanford paid him 90,000 dollars [1]."
    app = ChatApp(ui_settings, Answerer(ui_settings, llm=FakeLLM([draft])))
    steps, (history, _, inspector, _, _) = chat(app, QUESTION)
    for step in steps:
        shown = step[0][-1]["content"]
        assert "Hinton" not in shown and "90,000" not in shown
    assert "Fei-Fei Li" in history[-1]["content"]
    assert "Hinton" in inspector and "dropped" in inspector  # the draft stays inspectable


def test_answer_streams_then_shows_checked_answer_with_linked_citations(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    steps, (history, sources, inspector, turns, box) = chat(app, QUESTION)
    assert steps[0][0][-1]["content"].startswith("*Searching")
    # While the answer is produced the chat shows checked sentences and a status line, never the raw draft.
    assert any("Writing and checking" in s[0][-1]["content"] for s in steps[1:-1])
    assert any("Fei-Fei Li" in s[0][-1]["content"] for s in steps[1:-1])  # the checked sentence, before the end
    final = history[-1]["content"]
    assert re.search(r"\[\\\[(\d)\\\]\]\(#src-\1\)", final), final
    n = re.search(r"#src-(\d)", final).group(1)
    assert f"id='src-{n}'" in sources and "<mark>" in sources
    assert "Fei-Fei Li" in sources
    assert "<table class='inspector'>" in inspector and "dense" in inspector and "cited" in inspector
    assert len(turns) == 1 and box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]


def test_refusal_is_visibly_distinct(ui_settings: Settings) -> None:
    _, (history, sources, *_rest) = chat(ChatApp(ui_settings), "How do I bake sourdough bread?")
    content = history[-1]["content"]
    assert content.startswith("> **") and "find that in the corpus" in content and "Why:" in content
    assert "Closest passages" in sources


def test_script_in_documents_and_model_output_stays_inert(ui_settings: Settings) -> None:
    evil_reply = "The robot lab page says <script>alert('x')</script> <img src=x onerror=alert(1)> [1]."
    app = ChatApp(ui_settings, answerer=Answerer(ui_settings, llm=FakeLLM([evil_reply])))
    _, (history, sources, inspector, turns, _box) = chat(app, "What does the Karpathy robot lab test page say?")
    rendered = history[-1]["content"] + sources + inspector
    assert "evil.txt" in sources + inspector  # the document was retrieved and shown
    for dangerous in ("<script", "<img", "href='javascript", 'href="javascript'):
        assert dangerous not in rendered
    assert "](javascript:" not in history[-1]["content"]  # no Markdown link survives in the chat
    assert "&lt;script&gt;" in sources + inspector
    evil = next(c.chunk.id for c in turns[-1]["answer"].retrieval.candidates if c.chunk.source.endswith("evil.txt"))
    doc = app.open_document(evil)
    assert "&lt;script&gt;" in doc and "<script" not in doc and "<img" not in doc


def test_document_viewer_shows_only_ingested_documents(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (_h, _s, _i, turns, _b) = chat(app, QUESTION)
    label, chunk_id = app.document_choices(turns)[0]
    page = app.open_document(chunk_id)
    assert "<mark id='hl'>" in page and "Jump to the cited passage" in page
    chunk = app.answerer().store.get_chunks([chunk_id])[0]
    assert chunk.text[:40] in page.replace("&#x27;", "'").replace("&quot;", '"')
    for attempt in ("../../etc/passwd", "/etc/passwd", "nonexistent", ""):
        assert "/etc" not in app.open_document(attempt) or "no longer" in app.open_document(attempt)
        assert "root:" not in app.open_document(attempt)


def test_document_viewer_needs_only_the_store(ui_settings: Settings, tmp_path: Path) -> None:
    """A replica without the files (or after they changed) still shows what was indexed."""
    app = ChatApp(ui_settings)
    _, (_h, _s, _i, turns, _b) = chat(app, QUESTION)
    _label, chunk_id = app.document_choices(turns)[0]
    shutil.rmtree(tmp_path / "corpus")
    page = app.open_document(chunk_id)
    chunk = app.answerer().store.get_chunks([chunk_id])[0]
    marked = page.split("<mark id='hl'>", 1)[1].split("</mark>", 1)[0]
    assert marked.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&") == chunk.text
    assert len(page) > 3 * len(marked)  # the whole document, not just the passage


def test_feedback_is_appended_as_jsonl(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (history, _s, _i, turns, _b) = chat(app, QUESTION)
    index = turns[0]["message_index"]
    assert "saved" in app.vote(turns, index, True)
    assert "What was wrong?" in app.vote(turns, index, False)  # a thumbs down invites a comment
    assert "comment was saved" in app.vote(turns, index, False, comment="It cites the wrong page.")
    assert "answers only" in app.vote(turns, 0, True)  # the user's own message
    lines = [json.loads(x) for x in app.feedback_path.read_text(encoding="utf-8").splitlines()]
    assert [x["vote"] for x in lines] == ["up", "down", "comment"]
    assert lines[2]["comment"] == "It cites the wrong page." and "comment" not in lines[1]
    assert {"time", "question", "answer", "citations", "model"} <= set(lines[0])
    assert lines[0]["question"] == QUESTION


def test_selecting_an_earlier_answer_shows_its_sources(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (history, first_sources, _i, turns, _b) = chat(app, QUESTION)
    _, (history, second_sources, _i, turns, _b) = chat(app, "What is the capital of Australia?", turns, history)
    assert first_sources != second_sources
    assert app.select(turns, turns[0]["message_index"])[0] == first_sources
    assert app.select(turns, turns[1]["message_index"])[0] == second_sources


def test_follow_up_uses_the_conversation(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (history, _s, _i, turns, _b) = chat(app, "When did Karpathy join Tesla?")
    _, (history, _s, _i, turns, _b) = chat(app, "and when did he leave?", turns, history)
    assert "Karpathy" in turns[-1]["answer"].standalone_question


def test_errors_are_messages_and_the_app_keeps_working(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings, answerer=Answerer(ui_settings, llm=DeadLLM()))
    _, (history, sources, *_r) = chat(app, QUESTION)
    assert history[-1]["content"].startswith("**Error") and "cannot reach" in history[-1]["content"]
    assert "Retrieved passages" in sources
    before = list(history)
    _, (history, *_r) = chat(app, "   ", [], before)
    assert history == before  # an empty question adds no turn (the page shows a hint instead)
    empty = ChatApp(ui_settings.model_copy(update={"data_dir": ui_settings.data_dir / "none"}))
    _, (history, *_r) = chat(empty, QUESTION)
    assert history[-1]["content"].startswith("**Error:**") and "rag ingest" in history[-1]["content"]


def test_new_conversation_resets_everything() -> None:
    history, sources, inspector, turns, box = ChatApp.new_conversation()
    assert history == [] and turns == [] and box == "" and "Ask a question" in sources


def test_blocks_build_with_all_panels(ui_settings: Settings) -> None:
    blocks, css = build_blocks(ChatApp(ui_settings))
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"chat", "question", "ask", "sources", "inspector", "document", "doc-choice"} <= ids
    assert ".source mark" in css


def test_markdown_of_an_answer_escapes_model_html(ui_settings: Settings) -> None:
    answer = Answerer(ui_settings, llm=FakeLLM(["x"])).ask(QUESTION)
    answer.text = "A <b onmouseover=alert(1)>bold</b> claim [1]."
    md = answer_markdown(answer)
    assert "<b " not in md and "&lt;b" in md and "(#src-1)" in md
    assert "<mark>" not in sources_html(None)


def test_evaluation_tab_shows_the_latest_run(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    summary, plots, worst = app.eval_report()
    assert "No evaluation has been run yet" in summary and plots == [] and worst == ""
    calls: list[tuple[int, int]] = []
    summary, plots, worst = app.run_dev_set(lambda i, n: calls.append((i, n)))
    assert calls[-1][0] == calls[-1][1] >= 100  # progress reached the end of the dev set
    assert "faithfulness" in summary and "fake:extractive" in summary
    assert [Path(p).name for p in plots] == ["scores.png", "retrieval.png"]
    assert "<table" in worst and "<script" not in worst
    assert app.eval_report() == (summary, plots, worst)  # the saved run is what the tab shows


def test_login_needs_both_name_and_password(ui_settings: Settings) -> None:
    from rag.errors import ConfigError
    from ui.server import serve

    with pytest.raises(ConfigError, match="both"):
        serve(ui_settings.model_copy(update={"ui_username": "admin"}), say=lambda m: None)
    assert "secret" not in str(ui_settings.model_copy(update={"ui_password": "secret"}).redacted())


def test_corpus_footnote_markers_never_look_like_citations(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (history, sources, _, _, _) = chat(app, "What is Software 2.0 according to Karpathy?")
    # The fifty-quotes article ends its quotes with "[1]", "[19]": not ours, so not shown.
    assert not re.search(r"[.\"”]\[\d+\]", sources)
    links = re.findall(r"#src-(\d+)", history[-1]["content"])
    assert all(f"id='src-{n}'" in sources for n in links)  # every citation link has its card


def test_one_pipeline_serves_every_top_k_and_temperature(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    first = app.answerer()
    _, (_h, _s, _i, turns, _b) = chat(app, QUESTION)
    steps = list(app.respond(QUESTION, [], [], 2, 0.7))
    wide = list(app.respond(QUESTION, [], [], 6, 0.0))
    assert app.answerer() is first
    assert len(steps[-1][3][-1]["answer"].passages) <= 2
    assert len(wide[-1][3][-1]["answer"].passages) > 2


def test_conversation_state_keeps_snippets_not_the_whole_pool(ui_settings: Settings) -> None:
    import pickle

    app = ChatApp(ui_settings)
    _, (_h, _s, _i, turns, _b) = chat(app, QUESTION)
    kept = turns[-1]["answer"]
    assert kept.retrieval.vector is None
    shown = {p.chunk.id for p in kept.passages}
    assert all(len(c.chunk.text) <= 200 for c in kept.retrieval.candidates if c.chunk.id not in shown)
    assert len(pickle.dumps(turns)) < 25_000  # ~35 kB before slimming
    assert app.select(turns, turns[-1]["message_index"])[1].count("<tr>") > 3  # the inspector still renders


def test_dev_set_runs_one_at_a_time_and_not_for_anonymous_remote_visitors(ui_settings: Settings,
                                                                          monkeypatch) -> None:  # noqa: ANN001
    import threading

    import evals.api

    started, release = threading.Event(), threading.Event()

    def slow_run(settings, progress=False):  # noqa: ANN001, ANN202
        started.set()
        release.wait(10)

    monkeypatch.setattr(evals.api, "run_and_report", slow_run)
    app = ChatApp(ui_settings)
    first = threading.Thread(target=app.run_dev_set)
    first.start()
    assert started.wait(10)
    assert "already in progress" in app.run_dev_set()[0]
    release.set()
    first.join(10)
    remote = ChatApp(ui_settings.model_copy(update={"host": "0.0.0.0"}))
    assert "needs a login" in remote.run_dev_set()[0]


def test_conversations_are_saved_per_owner_and_reopen_as_shown(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    _, (history, sources, _i, turns, _b) = chat(app, QUESTION)
    cid = app.save_turn("browser:alice-browser-id-0001", None, turns)
    _, (history, _s, _i, turns, _b) = chat(app, "When did he leave Tesla?", turns, history)
    assert app.save_turn("browser:alice-browser-id-0001", cid, turns) == cid
    assert app.conversation_choices("browser:alice-browser-id-0001") == [(QUESTION, cid)]
    assert app.conversation_choices("browser:someone-else-000001") == []  # nobody else sees it
    again, again_sources, inspector, reopened, found = app.open_conversation("browser:alice-browser-id-0001", cid)
    assert found == cid and again == history  # the chat as it was shown, answers rendered the same
    assert [t["question"] for t in reopened] == [QUESTION, "When did he leave Tesla?"]
    assert app.select(reopened, reopened[0]["message_index"])[0] == sources  # its sources, as they were
    assert "<tr>" in inspector
    assert app.open_conversation("browser:someone-else-000001", cid)[4] is None
    exported = Path(app.export_conversation("browser:alice-browser-id-0001", cid)).read_text(encoding="utf-8")
    assert QUESTION in exported and "Fei-Fei Li" in exported
    assert "Fei-Fei Li" in Path(app.export_answer(reopened[:1])).read_text(encoding="utf-8")
    first = Path(app.export_answer(reopened, reopened[0]["message_index"])).read_text(encoding="utf-8")
    assert QUESTION in first and "When did he leave Tesla?" not in first  # the answer clicked, alone
    assert "Renamed" in app.rename_conversation("browser:alice-browser-id-0001", cid, "Stanford years")
    assert app.conversation_choices("browser:alice-browser-id-0001") == [("Stanford years", cid)]
    assert "deleted" in app.delete_conversation("browser:alice-browser-id-0001", cid)
    assert app.conversation_choices("browser:alice-browser-id-0001") == []


def test_regenerate_replaces_the_last_answer_and_its_saved_turn(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    owner = app.owner(None, "bob-browser-id-000000001")
    _, (history, _s, _i, turns, _b) = chat(app, QUESTION)
    cid = app.save_turn(owner, None, turns)
    steps = list(app.regenerate(history, turns, None, None))
    history2, _s, _i, turns2, _b = steps[-1]
    assert len(history2) == len(history) and len(turns2) == 1
    app.save_turn(owner, cid, turns2)
    assert len(app.conversations.get(owner, cid).turns) == 1
    # After Stop (or an error) the last question has no answer: Regenerate asks that one, as a new turn.
    stopped = [*history2, {"role": "user", "content": [{"type": "text", "text": "What is Software 2.0?"}]},
               {"role": "assistant", "content": "*Stopped. Ask again, or rephrase the question.*"}]
    history3, _s, _i, turns3, _b = list(app.regenerate(stopped, turns2, None, None))[-1]
    assert [t["question"] for t in turns3] == [QUESTION, "What is Software 2.0?"]
    assert len(history3) == 4 and "Stopped" not in str(history3)
    app.save_turn(owner, cid, turns3)
    assert [t.question for t in app.conversations.get(owner, cid).turns] == [QUESTION, "What is Software 2.0?"]


def test_a_turn_is_saved_at_its_place_in_the_page(ui_settings: Settings) -> None:
    app = ChatApp(ui_settings)
    owner = app.owner(None, "carol-browser-id-00000001")
    _, (history, _s, _i, turns, _b) = chat(app, QUESTION)
    cid = app.save_turn(owner, None, turns)
    _, (history, _s, _i, turns, _b) = chat(app, "What is Software 2.0?", turns, history)
    app.save_turn(owner, cid, turns)
    app.save_turn(owner, cid, turns)  # saved twice (a retried event): still two turns
    assert len(app.conversations.get(owner, cid).turns) == 2
    app.conversations.delete(owner, cid)  # deleted in another tab meanwhile
    fresh = app.save_turn(owner, cid, turns)
    assert fresh != cid and [t.question for t in app.conversations.get(owner, fresh).turns] == \
        [QUESTION, "What is Software 2.0?"]  # a new conversation with the whole page, not one turn


def test_stop_turns_an_unfinished_answer_into_a_note() -> None:
    pending = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "*Writing and checking the answer…*"}]
    assert "Stopped" in ChatApp.stopped(pending)[-1]["content"]
    done = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "An answer [1]"}]
    assert ChatApp.stopped(done) == done


def test_owner_is_the_login_else_a_well_formed_browser_id() -> None:
    assert ChatApp.owner("ann", "x" * 20) == "user:ann"
    assert ChatApp.owner(None, "abcdefghijklmnop1234") == "browser:abcdefghijklmnop1234"
    assert ChatApp.owner(None, "../../etc", "s1") == "session:s1"  # a forged id is not an owner
    assert ChatApp.new_browser_id(None) != ChatApp.new_browser_id(None)


def test_the_tiny_model_notice_follows_the_chosen_model(ui_settings: Settings) -> None:
    fake = ChatApp(ui_settings)
    assert fake.model_notice() == ""
    tiny = ChatApp(ui_settings.model_copy(update={"llm": "llamacpp"}))
    assert "tiny model" in tiny.model_notice()


def test_the_passage_slider_follows_the_chosen_model(ui_settings: Settings) -> None:
    """The embedded model's quotes read 5 passages and a drafting model 8, so switching the
    model in the picker moves the slider; a configured top_k holds for every model."""
    both = ui_settings.model_copy(update={"llm": "llamacpp", "llm_base_url": "http://127.0.0.1:9/v1", "top_k": None})
    app = ChatApp(both)
    assert [name for _, name in app.model_choices()] == ["rag", "openai"]
    assert (app.passages(), app.passages("openai")) == (5, 8)
    assert app.passages("no-such-model") == 5  # an unknown name keeps the default's depth
    fixed = ChatApp(both.model_copy(update={"top_k": 3}))
    assert (fixed.passages(), fixed.passages("openai")) == (3, 3)


def test_the_page_says_what_it_answers_from_and_suggests_questions_from_it(ui_settings: Settings,
                                                                           tmp_path: Path) -> None:
    import time

    from ingest.library import save_uploads
    from ui.documents_tab import DocumentsPanel, corpus_summary_html, example_questions

    panel = DocumentsPanel(ui_settings)
    docs = panel.documents()
    line = corpus_summary_html(docs)
    assert f"{len(docs)} documents, {sum(d.chunks for d in docs)} passages" in line
    assert "Evil notes" not in example_questions(docs)[0]
    assert all(d.title.split()[0] in line for d in docs if d.title)  # the titles, behind the fold
    assert "<script>" not in line  # titles are escaped like everything else
    assert "Which course did Karpathy design at Stanford?" not in example_questions(
        [d for d in docs if not d.source.startswith("seeds/")])  # no Karpathy questions without Karpathy
    note = tmp_path / "manual.md"
    note.write_text("# Espresso machine manual\n\nDescale the boiler every month.\n", encoding="utf-8")
    time.sleep(1.1)  # ingest times have a one-second resolution
    save_uploads([(note.name, note)], ui_settings)
    assert example_questions(panel.documents())[0] == "What is “Espresso machine manual” about?"
    assert example_questions([]) == [] and "No documents" in corpus_summary_html([])


def test_changing_the_corpus_needs_a_login_when_served_remotely(ui_settings: Settings, tmp_path: Path) -> None:
    from ui.documents_tab import DocumentsPanel

    remote = DocumentsPanel(ui_settings.model_copy(update={"host": "0.0.0.0"}))
    note = tmp_path / "n.txt"
    note.write_text("Some text about boilers.", encoding="utf-8")
    before = len(remote.documents())
    assert "needs a login" in remote.upload([str(note)])
    assert "needs a login" in remote.delete(remote.documents()[0].source)
    assert len(remote.documents()) == before
    assert "added" in remote.upload([str(note)], username="ann")  # a logged-in user may
