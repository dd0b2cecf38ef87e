"""The chat as a workspace, in headless Chromium: documents, saved conversations, Stop, the phone layout.

Each test drives the served page the way a visitor does and keeps a
screenshot in test-artifacts/ (desktop 1400 wide, phone 390 wide).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import ingest
from rag.config import load_settings
from tests.conftest import SEEDS
from tests.servers import FakeOpenAI, free_port, running
from tests.test_browser import ARTIFACTS, ask, browser_context  # noqa: F401 - the fixture, shared
import sys

pytestmark = pytest.mark.integration

NOTE = ("# Quokka festival notes\n\n"
        "The quokka festival of Vilnius is held every ninth of March on the river bank. "
        "Its organiser is the Lithuanian Marsupial Society, founded in 1987.\n")
QUESTION = "When is the quokka festival of Vilnius held?"


def serve(data_dir: Path, *extra: str, env: dict[str, str] | None = None):  # noqa: ANN201
    port = free_port()
    command = [sys.executable, "-m", "rag", "serve", "--data-dir", str(data_dir), "--port", str(port),
               "--embedder", "fake", *extra]
    return port, running(command, port, data_dir / "serve.log", timeout=180, env=env)


def seeded(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ingest([SEEDS], load_settings(data_dir=data, embedder="fake"), progress=False)
    return data


def open_page(context, port: int, width: int = 1400, height: int = 900):  # noqa: ANN001, ANN201
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.on("dialog", lambda d: d.accept())  # the delete confirmation
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function("() => /Answering from|No documents/.test(document.querySelector('#corpus-line').innerText)",
                           timeout=60_000)  # the load event has run
    return page


def wait_answered(page, text: str = "", timeout: int = 60_000) -> None:  # noqa: ANN001
    """Until the latest answer is final (the Ask button is usable again), and contains ``text``."""
    page.wait_for_function(
        """(text) => { const ask = document.querySelector('#ask');
           const chat = document.querySelector('#chat').innerText;
           return ask && !ask.disabled && !chat.includes('Searching the corpus') &&
                  !chat.includes('Writing and checking') && chat.includes(text); }""",
        arg=text, timeout=timeout)


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def choose(page, elem_id: str, option: str) -> None:  # noqa: ANN001
    """Pick ``option`` in a Gradio dropdown (a custom widget, not a <select>)."""
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=option).first.click()


def test_upload_ask_cite_then_delete(browser_context, tmp_path: Path) -> None:  # noqa: ANN001, F811
    note = tmp_path / "quokka-notes.md"
    note.write_text(NOTE, encoding="utf-8")
    port, server = serve(seeded(tmp_path), "--llm", "fake")
    with server:
        page = open_page(browser_context, port)
        assert "Answering from 5 documents" in page.inner_text("#corpus-line")
        page.get_by_role("tab", name="Documents").click()
        page.set_input_files("#upload-files input[type=file]", str(note))
        page.click("#upload")
        page.wait_for_function("() => document.querySelector('#upload-status').innerText.includes('added')",
                               timeout=60_000)
        assert "quokka-notes.md" in page.inner_text("#documents")
        assert "6 documents" in page.inner_text("#corpus-line")
        shot(page, "documents-desktop")

        page.get_by_role("tab", name="Chat").click()
        ask(page, QUESTION)
        wait_answered(page, "ninth of March")
        assert "quokka-notes.md" in page.inner_text("#sources")
        assert page.locator("#chat a[href^='#src-']").count() > 0  # the answer cites it

        page.get_by_role("tab", name="Documents").click()
        choose(page, "delete-choice", "Quokka festival notes (uploads/quokka-notes.md)")
        page.click("#delete-document")
        page.wait_for_function("() => document.querySelector('#upload-status').innerText.includes('Deleted')",
                               timeout=60_000)
        assert "quokka-notes.md" not in page.inner_text("#documents")

        page.get_by_role("tab", name="Chat").click()
        ask(page, QUESTION)
        page.wait_for_function("(q) => document.querySelector('#chat').innerText.split(q).length === 3",
                               arg=QUESTION, timeout=60_000)  # the second question is in the chat
        wait_answered(page)
        assert "quokka-notes.md" not in page.inner_text("#sources")
        assert "ninth of March" not in page.inner_text("#chat").split(QUESTION)[-1]
        page.close()


def test_a_conversation_survives_a_reload(browser_context, tmp_path: Path) -> None:  # noqa: ANN001, F811
    port, server = serve(seeded(tmp_path), "--llm", "fake")
    question = "Under whom did Karpathy work at Stanford University?"
    with server:
        page = open_page(browser_context, port)
        ask(page, question)
        wait_answered(page, "Fei-Fei Li")
        page.reload()
        page.wait_for_selector("#question textarea", timeout=60_000)
        assert "Fei-Fei Li" not in page.inner_text("#chat")
        entry = page.locator("#conversations label", has_text=question)
        entry.click()  # the sidebar is open beside the chat on a desktop
        page.wait_for_function("() => document.querySelector('#chat').innerText.includes('Fei-Fei Li')",
                               timeout=30_000)
        assert "Sources cited" in page.inner_text("#sources")
        shot(page, "conversations-desktop")
        page.close()


def test_stop_mid_answer_then_ask_again(browser_context, tmp_path: Path) -> None:  # noqa: ANN001, F811
    slow = FakeOpenAI(reply=("Karpathy worked at Stanford University under Fei-Fei Li, "
                             "which established his initial reputation. [1]"), delay=0.5)
    env = {**os.environ, "RAG_LLM_BASE_URL": slow.url, "RAG_LLM_API_KEY": "k", "RAG_LLM_MODEL": "m"}
    port, server = serve(seeded(tmp_path), "--llm", "openai", env=env)
    try:
        with server:
            page = open_page(browser_context, port)
            ask(page, "Under whom did Karpathy work at Stanford University?")
            page.wait_for_selector("#stop", state="visible", timeout=30_000)
            assert page.locator("#ask").is_disabled()  # one answer at a time
            page.wait_for_function("() => document.querySelector('#chat').innerText.includes('Writing')",
                                   timeout=30_000)
            page.click("#stop")
            page.wait_for_function("() => document.querySelector('#chat').innerText.includes('Stopped')",
                                   timeout=10_000)
            assert page.locator("#ask").is_enabled()
            shot(page, "stopped-desktop")
            ask(page, "Under whom did Karpathy work at Stanford University?")
            wait_answered(page, "Fei-Fei Li", timeout=90_000)
            page.close()
    finally:
        slow.close()


def test_phone_layout_shows_sources_under_the_answer(browser_context, tmp_path: Path) -> None:  # noqa: ANN001, F811
    port, server = serve(seeded(tmp_path), "--llm", "fake")
    with server:
        page = open_page(browser_context, port, 390, 844)
        ask(page, "Under whom did Karpathy work at Stanford University?")
        wait_answered(page, "Fei-Fei Li")
        page.wait_for_selector("#answer-sources details", timeout=10_000)
        answer = page.locator("#chat .bot, #chat [data-testid='bot']").last.bounding_box()
        sources = page.locator("#answer-sources").bounding_box()
        assert answer and sources
        assert sources["y"] - (answer["y"] + answer["height"]) < 844  # within one screen of the answer
        assert page.locator("#sources-panel").is_hidden()  # not a screen away at the bottom
        page.locator("#answer-sources summary").click()
        assert "Fei-Fei Li" in page.inner_text("#answer-sources")
        shot(page, "chat-phone")
        page.close()
