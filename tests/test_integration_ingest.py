"""End-to-end ingest with the real bundled embedding model and a real Chroma server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from ingest import ingest
from rag.config import load_settings
from rag.embeddings import get_embedder
from rag.store import open_store
from tests.conftest import SEEDS
from tests.servers import free_port, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return load_settings(data_dir=tmp_path_factory.mktemp("real"))


def test_real_model_window_is_respected(real_settings) -> None:  # noqa: ANN001
    embedder = get_embedder(real_settings)
    assert embedder.name == "sentence-transformers:all-MiniLM-L6-v2"
    assert embedder.dimension == 384
    assert embedder.max_tokens == 254  # 256 minus [CLS] and [SEP]


@pytest.mark.parametrize(
    ("phrase", "article"),
    [
        ("the gap between demo and product is the binding constraint", "decade-between-demo-and-product.txt"),
        ("Tesla has a software problem and Waymo has a hardware problem", "no-priors-80-quotes.md"),
        ("Gradient descent can write code better than you", "fifty-quotes-on-software-and-leadership.txt"),
        ("designed the first deep learning course on computer vision at Stanford", "career-profile.txt"),
        ("data quality matters more than model size", "how-to-build-the-future-of-ai.txt"),
    ],
)
def test_ingest_seeds_and_find_the_right_article(real_settings, phrase: str, article: str) -> None:  # noqa: ANN001
    store_path = real_settings.store_path
    if not store_path.exists() or not any(store_path.iterdir()):
        report = ingest(None, real_settings, progress=False)
        assert report.added == 5 and not report.failed
    embedder = get_embedder(real_settings)
    store = open_store(real_settings, embedder)
    for chunk in store.get_chunks([cid for cid, _, _ in store.iter_records()]):
        assert embedder.count_tokens(chunk.text) <= embedder.max_tokens
    hits = store.query(embedder.embed_query(phrase), k=3)
    assert Path(hits[0][0].source).name == article
    assert hits[0][1] > 0.4


def test_ingest_into_a_chroma_server(tmp_path: Path) -> None:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    command = [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, tmp_path / "chroma.log", timeout=60):
        settings = load_settings(data_dir=tmp_path / "d", chroma_host="127.0.0.1", chroma_port=port, embedder="fake")
        report = ingest([SEEDS], settings, progress=False)
        assert report.added == 5
        again = ingest([SEEDS], settings, progress=False)
        assert again.unchanged == 5 and again.chunks_written == 0
        info = open_store(settings).info()
        assert info.documents == 5 and info.chunks == report.chunks_written
        assert "chroma server" in info.location
        assert not (tmp_path / "d" / "chroma").exists()  # nothing went to the embedded store
