from __future__ import annotations

import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ingest.chunking import Chunker
from ingest.loaders import load_document, normalise_text
from rag.documents import Document
from rag.embeddings import FakeEmbedder
from tests.conftest import SEEDS

FAKE = FakeEmbedder(max_tokens=64)


def make_chunker(size: int = 48, overlap: int = 8, window: int = 64) -> Chunker:
    return Chunker(FAKE.count_tokens, window, size, overlap, embedder_name=FAKE.name)


def covered(text: str, spans: list[tuple[int, int]]) -> str:
    """Characters of ``text`` outside every span (whitespace ignored)."""
    mask = [False] * len(text)
    for start, end in spans:
        for i in range(start, end):
            mask[i] = True
    return "".join(ch for ch, m in zip(text, mask) if not m and not ch.isspace())


@pytest.mark.parametrize("path", sorted(SEEDS.iterdir()), ids=lambda p: p.name)
def test_seed_chunks_map_back_fit_window_and_lose_nothing(path) -> None:
    doc = load_document(path)
    chunks = make_chunker().split(doc)
    assert len(chunks) > 1
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert FAKE.count_tokens(chunk.text) <= 64
        assert chunk.doc_chunks == len(chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert covered(doc.text, [(c.start, c.end) for c in chunks]) == ""
    assert len({c.id for c in chunks}) == len(chunks)


def test_overlap_repeats_text_between_neighbours() -> None:
    doc = load_document(SEEDS / "career-profile.txt")
    def overlapping(overlap: int) -> int:
        chunks = make_chunker(size=48, overlap=overlap).split(doc)
        return sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)

    # Whole paragraphs that fit a chunk need no overlap; split ones get it.
    assert overlapping(16) >= 20
    assert overlapping(0) == 0


def test_window_is_a_hard_limit_even_for_unbreakable_text() -> None:
    text = "x" * 40 + " " + "-".join(["word"] * 200)  # punctuation-heavy: many fake tokens
    chunker = make_chunker(size=30, overlap=0, window=30)
    spans = chunker.spans(text)
    assert all(FAKE.count_tokens(text[s:e]) <= 30 for s, e in spans)
    assert covered(text, spans) == ""


def test_chunk_size_is_capped_at_the_window() -> None:
    assert make_chunker(size=500, overlap=50, window=64).size == 64


def test_ids_are_stable_and_depend_on_source() -> None:
    doc = load_document(SEEDS / "how-to-build-the-future-of-ai.txt")
    a = make_chunker().split(doc)
    b = make_chunker().split(doc)
    other = Document(source="elsewhere.txt", title=doc.title, text=doc.text, content_hash=doc.content_hash)
    c = make_chunker().split(other)
    assert [x.id for x in a] == [x.id for x in b]
    assert not {x.id for x in a} & {x.id for x in c}


def test_changing_chunk_settings_changes_document_hash() -> None:
    doc = load_document(SEEDS / "how-to-build-the-future-of-ai.txt")
    assert make_chunker(size=48).doc_hash(doc) != make_chunker(size=40).doc_hash(doc)


def test_pdf_chunks_know_their_pages(tmp_path) -> None:
    from tests.pdfgen import write_pdf

    lines = [f"Sentence number {i} of the first page talks about neural nets." for i in range(12)]
    more = [f"Line {i} of page two is about Tesla Autopilot." for i in range(12)]
    doc = load_document(write_pdf(tmp_path / "p.pdf", [lines, more]))
    chunks = make_chunker(size=40, overlap=0).split(doc)
    assert chunks[0].page == 1 and chunks[-1].page_end == 2
    for chunk in chunks:
        assert chunk.page == doc.page_at(chunk.start)
        if "Tesla" in chunk.text and "neural" not in chunk.text:
            assert chunk.page == 2


_texts = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
        st.sampled_from(["\n\n", "\n", ". ", "word ", "Karpathy", "x" * 30, "3.14", "!!"]),
    ),
    max_size=60,
).map(lambda parts: normalise_text("".join(parts)))


@hsettings(max_examples=200, deadline=None)
@given(_texts, st.integers(min_value=8, max_value=40), st.integers(min_value=0, max_value=10))
def test_property_offsets_map_back_and_nothing_is_lost(text: str, size: int, overlap: int) -> None:
    chunker = make_chunker(size=size, overlap=overlap, window=size)
    spans = chunker.spans(text)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert FAKE.count_tokens(piece) <= size
    assert covered(text, spans) == ""
    if re.search(r"\S", text) is None:
        assert spans == []
