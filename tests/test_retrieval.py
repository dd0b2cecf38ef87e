from __future__ import annotations

from pathlib import Path

import pytest

from ingest import ingest
from rag.config import Settings
from rag.documents import Chunk
from rag.embeddings import FakeEmbedder
from rag.lexical import LexicalIndex, lexical_index
from rag.retrieval import Candidate, Retriever, _collapse, fuse
from rag.store import open_store
from tests.conftest import SEEDS


def test_weighted_fusion_normalises_each_side() -> None:
    fused = fuse([("a", 0.9), ("b", 0.5)], [("b", 30.0), ("c", 10.0)], "weighted", 0.4)
    assert fused == pytest.approx({"a": 0.4, "b": 0.6, "c": 0.0})


def test_rrf_rewards_agreement() -> None:
    fused = fuse([("a", 0.9), ("b", 0.5)], [("b", 3.0), ("a", 1.0), ("c", 0.5)], "rrf", 0.5, 60)
    assert fused["a"] == pytest.approx(fused["b"])
    assert fused["c"] < fused["a"]


def chunk(cid: str, source: str, start: int, end: int, text: str) -> Chunk:
    return Chunk(cid, source, "t", 0, start, end, text, "h", 1)


def test_overlapping_and_identical_chunks_are_collapsed() -> None:
    a = Candidate(chunk("a", "x.txt", 0, 100, "alpha beta gamma delta"), fused_score=0.9)
    b = Candidate(chunk("b", "x.txt", 20, 120, "delta epsilon zeta eta"), fused_score=0.8)
    c = Candidate(chunk("c", "y.txt", 0, 50, "alpha beta gamma delta"), fused_score=0.7)
    d = Candidate(chunk("d", "y.txt", 60, 90, "theta iota kappa lambda"), fused_score=0.6)
    kept = _collapse([a, b, c, d], k=3)
    assert [x.chunk.id for x in kept] == ["a", "d"]
    assert b.duplicate_of == "a" and c.duplicate_of == "a"


def test_the_next_chunk_sharing_only_its_margin_is_a_passage_of_its_own() -> None:
    # Consecutive chunks share the chunk_overlap margin; the next one is mostly new text.
    a = Candidate(chunk("a", "x.txt", 0, 100, "alpha beta gamma delta"), fused_score=0.9)
    b = Candidate(chunk("b", "x.txt", 84, 184, "delta epsilon zeta eta"), fused_score=0.8)
    kept = _collapse([a, b], k=3)
    assert [x.chunk.id for x in kept] == ["a", "b"]
    assert b.duplicate_of is None


@pytest.mark.parametrize(("first", "second"), [
    ((0, 900), (760, 1000)),  # a short last chunk: its margin and a few new lines
    ((0, 140), (70, 210)),  # small chunks, whose margin is capped at half their size
])
def test_new_text_after_a_large_margin_stays(first: tuple[int, int], second: tuple[int, int]) -> None:
    a = Candidate(chunk("a", "x.txt", *first, "alpha beta gamma delta"), fused_score=0.9)
    b = Candidate(chunk("b", "x.txt", *second, "delta epsilon zeta eta"), fused_score=0.8)
    assert [x.chunk.id for x in _collapse([a, b], k=3)] == ["a", "b"]


@pytest.fixture
def indexed(settings: Settings) -> Settings:
    ingest([SEEDS], settings, progress=False)
    return settings


def test_every_stage_is_recorded_on_candidates(indexed: Settings) -> None:
    store = open_store(indexed)
    result = Retriever(indexed, store, FakeEmbedder()).retrieve("Karpathy Stanford Fei-Fei Li course CS231n", k=3)
    assert len(result.passages) == 3
    assert [c.rank for c in result.candidates] == list(range(1, len(result.candidates) + 1))
    top = result.passages[0]
    assert top.dense_rank is not None and top.lexical_rank is not None
    assert "CS231n" in top.chunk.text or "Fei-Fei" in top.chunk.text
    assert set(result.timings) == {"embed", "dense", "lexical", "fuse"}
    assert 0.5 < result.query_coverage <= 1.0


def test_query_coverage_counts_only_words_the_corpus_knows(indexed: Settings) -> None:
    """A word the corpus never uses is not "the rarest word"; known words missing from the passages count."""
    retriever = Retriever(indexed, open_store(indexed), FakeEmbedder())
    assert retriever.retrieve("Karpathy birthday horoscope zodiac").query_coverage == 1.0
    narrow = retriever.retrieve("Karpathy Stanford CS231n Waymo Tesla Autopilot Software 2.0 blog", k=1)
    assert 0.0 < narrow.query_coverage < 1.0


def test_lexical_index_is_persisted_and_follows_the_store(indexed: Settings, tmp_path: Path) -> None:
    store = open_store(indexed)
    index = lexical_index(store)
    assert index.size == store.count()
    folder = indexed.data_dir / "lexical" / f"local-{indexed.collection}"
    loaded = LexicalIndex.load(folder)
    assert loaded is not None and loaded.revision == store.revision and loaded.ids == index.ids
    # The title is indexed with each chunk: a word only in a title still finds its chunks.
    hits = loaded.search("priors", 5)
    assert hits and all("No Priors" in c.title or "Priors" in c.text for c in store.get_chunks([h[0] for h in hits]))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zebra.txt").write_text("Zebras have stripes that confuse flies.", encoding="utf-8")
    ingest([extra], indexed, progress=False)
    fresh = lexical_index(open_store(indexed))
    assert fresh.revision != index.revision and fresh.size == index.size + 1
    assert fresh.search("zebra stripes", 1)
