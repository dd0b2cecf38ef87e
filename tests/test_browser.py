"""The served page in headless Chromium (Debian's), driven by Playwright for Python."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from ingest import ingest
from rag.config import load_settings
from tests.conftest import SEEDS
from tests.servers import free_port, running

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EVIL = (
    "Evil notes about the Karpathy robot lab.\n\n"
    "The Karpathy robot lab test page says <script>alert('xss')</script> and "
    "<img src=x onerror=alert('img')> and [click](javascript:alert('js')) inside the robot lab."
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser_context():  # noqa: ANN201
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `apt-get install chromium` (make test does it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="rag-chromium-"), executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield context
        context.close()


def serve(data_dir: Path, *extra: str):  # noqa: ANN201
    port = free_port()
    command = [sys.executable, "-m", "rag", "serve", "--data-dir", str(data_dir), "--port", str(port), *extra]
    return port, running(command, port, data_dir / "serve.log", timeout=180)


def ask(page, question: str) -> None:  # noqa: ANN001
    page.fill("#question textarea", question)
    page.click("#ask")


def test_chat_cites_sources_and_keeps_scripts_inert(browser_context, tmp_path: Path) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "evil.txt").write_text(EVIL, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="fake")
    ingest([corpus], settings, progress=False)
    port, server = serve(tmp_path / "data", "--embedder", "fake", "--llm", "fake")
    with server:
        page = browser_context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#question textarea", timeout=60_000)

        ask(page, "Under whom did Karpathy work at Stanford University?")
        link = page.wait_for_selector("#chat a[href^='#src-']", timeout=60_000)
        n = link.get_attribute("href").removeprefix("#src-")
        link.click()
        card = page.locator(f"#sources #src-{n}")
        assert card.is_visible()
        assert "Fei-Fei Li" in card.locator("mark").inner_text()  # the cited span, highlighted

        ask(page, "What does the Karpathy robot lab test page say?")
        page.wait_for_function(
            "document.querySelector('#sources') && document.querySelector('#sources').innerText.includes('evil.txt')",
            timeout=60_000,
        )
        page.wait_for_timeout(1000)  # give any injected handler time to fire
        sources_text = page.inner_text("#sources")
        assert "<script>alert('xss')</script>" in sources_text  # shown as text...
        assert page.locator("#sources script, #chat script, #sources img, #chat img[src='x']").count() == 0
        assert dialogs == []  # ...and nothing ran

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

        page.get_by_role("tab", name="Evaluation").click()
        page.wait_for_selector("#eval-summary", state="visible", timeout=30_000)
        assert "No evaluation has been run yet" in page.inner_text("#eval-summary")
        assert page.locator("#eval-run").is_visible()
        page.close()


def test_the_embedded_default_answers_with_the_short_answer(browser_context, tmp_path: Path) -> None:  # noqa: ANN001
    port, server = serve(tmp_path / "data")  # the defaults: MiniLM + the Gemma reader, seeds ingested on start
    with server:
        for width, height, name in ((1400, 900, "desktop"), (390, 844, "phone")):
            page = browser_context.new_page()
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#question textarea", timeout=120_000)
            ask(page, "Which course did Karpathy design at Stanford?")
            page.wait_for_function(
                "() => document.querySelector('#sources').innerText.includes('Sources cited')", timeout=180_000
            )
            answer = page.locator("#chat").inner_text().split("Which course did Karpathy design at Stanford?")[-1]
            assert "CS231n" in answer
            assert page.locator("#chat strong", has_text="CS231n").count() > 0  # the short answer, in bold
            assert page.locator("#chat a[href^='#src-']").count() > 0
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"chat-embedded-{name}.png"), full_page=True)
            page.close()


# Records every text the chat ever shows, so a sentence that flashed by is caught too.
_WATCH = """() => { window.__seen = [];
  new MutationObserver(() => window.__seen.push(document.querySelector('#chat').innerText))
    .observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true}); }"""


def test_no_unchecked_text_appears_in_the_chat(browser_context, tmp_path: Path) -> None:  # noqa: ANN001
    question = "Under whom did Karpathy work at Stanford University?"
    replay = tmp_path / "replay.jsonl"
    replay.write_text(json.dumps({"question": question, "sentences": [
        {"text": "His work at Stanford University under Fei-Fei Li established his initial reputation.",
         "evidence": "under Fei-Fei Li"},
        {"text": "He was later supervised by Geoffrey Hinton in Toronto.", "evidence": "under Fei-Fei Li"},
    ]}) + "\n", encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="fake")
    ingest([SEEDS], settings, progress=False)
    port, server = serve(tmp_path / "data", "--embedder", "fake", "--llm", "replay", "--replay-file", str(replay))
    with server:
        page = browser_context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.evaluate(_WATCH)
        ask(page, question)
        page.wait_for_function(
            "() => document.querySelector('#sources').innerText.includes('Sources cited')", timeout=60_000
        )
        seen = page.evaluate("window.__seen")
        assert seen and "Fei-Fei Li" in page.inner_text("#chat")
        assert not any("Hinton" in text for text in seen)  # never on screen, not even for a moment
        page.close()
