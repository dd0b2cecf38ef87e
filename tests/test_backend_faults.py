"""Backend faults through a real local HTTP server: every one becomes a one-line RagError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest import ingest
from rag.answer import Answerer
from rag.config import load_settings
from rag.embeddings import OpenAIEmbedder
from rag.errors import BackendError
from rag.llm import OpenAILLM
from tests.conftest import SEEDS
from tests.servers import FakeOpenAI


@pytest.fixture
def server():  # noqa: ANN201
    fake = FakeOpenAI()
    yield fake
    fake.close()


def test_the_openai_embedder_batches_to_the_setting_and_retries_rate_limits(server: FakeOpenAI) -> None:
    server.rate_limit = 2
    embedder = OpenAIEmbedder("e", base_url=server.url, batch_size=7, backoff=0.01)
    vectors = embedder.embed_batch([f"text number {i}" for i in range(20)])
    assert vectors.shape == (20, 16)
    # Two 429s on the first batch, then batches of at most 7.
    assert server.batches == [7, 7, 7, 7, 6]


def test_an_embedder_that_keeps_rate_limiting_gives_a_one_line_error(server: FakeOpenAI) -> None:
    server.rate_limit = 100
    embedder = OpenAIEmbedder("e", base_url=server.url, retries=2, backoff=0.01)
    with pytest.raises(BackendError, match="kept rate-limiting after 2 retries"):
        embedder.embed_batch(["a"])
    assert server.batches == [1, 1, 1]


def test_ingest_with_the_openai_embedder_survives_a_rate_limit(server: FakeOpenAI, tmp_path: Path) -> None:
    server.rate_limit = 1
    settings = load_settings(data_dir=tmp_path / "d", embedder="openai", embed_base_url=server.url,
                             embed_model="e", embed_batch_size=16)
    report = ingest([SEEDS], settings, progress=False)
    assert report.added == 5 and not report.failed
    assert max(server.batches) <= 16


def test_a_stream_dropped_mid_answer_is_a_backend_error(server: FakeOpenAI) -> None:
    server.reply = "Karpathy designed CS231n at Stanford. [1] He taught it for years. [1]"
    server.drop_after = 3
    llm = OpenAILLM("m", base_url=server.url, timeout=10)
    pieces: list[str] = []
    with pytest.raises(BackendError, match="broke off the answer"):
        for piece in llm.stream([{"role": "user", "content": "hi"}]):
            pieces.append(piece)
    assert pieces  # the first chunks arrived before the drop


def test_a_dropped_stream_ends_the_answer_with_a_message(server: FakeOpenAI, tmp_path: Path) -> None:
    server.reply = "Karpathy designed CS231n at Stanford. [1] He taught it for years. [1]"
    server.drop_after = 3
    settings = load_settings(data_dir=tmp_path / "d", embedder="fake", llm="openai", llm_model="m",
                             llm_base_url=server.url, answer_style="generative")
    ingest([SEEDS], settings, progress=False)
    answer = Answerer(settings).ask("Which course did Karpathy design at Stanford?")
    assert answer.mode == "error" and "broke off the answer" in (answer.error or "")
    env = {"RAG_DATA_DIR": str(tmp_path / "d"), "RAG_EMBEDDER": "fake", "RAG_LLM": "openai",
           "RAG_LLM_MODEL": "m", "RAG_LLM_BASE_URL": server.url, "RAG_ANSWER_STYLE": "generative"}
    import os

    run = subprocess.run([sys.executable, "-m", "rag", "ask", "Which course did Karpathy design at Stanford?"],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr + run.stdout
    assert "broke off the answer" in run.stderr + run.stdout
