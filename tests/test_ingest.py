from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import ingest
from rag.config import Settings
from rag.embeddings import FakeEmbedder
from rag.errors import EmbedderMismatchError, IngestError, StoreError
from rag.store import open_store
from tests.pdfgen import write_pdf


def snapshot(settings: Settings) -> dict[str, tuple[str, str]]:
    """id -> (source, text) of every chunk in the store."""
    store = open_store(settings)
    return {cid: (meta["source"], text) for cid, text, meta in store.iter_records(include_documents=True)}


def quiet(settings: Settings, paths=None, **kw):  # noqa: ANN001, ANN201
    warnings: list[str] = []
    report = ingest(paths, settings, progress=False, warn=warnings.append, **kw)
    return report, warnings


def test_first_ingest_indexes_every_file(settings: Settings, corpus: Path) -> None:
    report, warnings = quiet(settings, [corpus])
    assert (report.added, report.updated, report.removed, report.unchanged) == (5, 0, 0, 0)
    assert warnings == [] and report.failed == []
    snap = snapshot(settings)
    assert len(snap) == report.chunks_written > 5
    assert {Path(src).name for src, _ in snap.values()} == {p.name for p in corpus.iterdir()}
    info = open_store(settings).info()
    assert info.documents == 5 and info.chunks == len(snap)
    assert info.embedder == "fake:hash-64" and info.dimension == 64
    assert info.last_ingest and "5 added" in info.last_summary


def test_default_path_is_the_seeds_folder(settings: Settings) -> None:
    report, _ = quiet(settings)
    assert report.added == 5


def test_second_run_skips_unchanged_files(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    before = snapshot(settings)
    report, _ = quiet(settings, [corpus])
    assert (report.added, report.updated, report.unchanged, report.chunks_written) == (0, 0, 5, 0)
    assert snapshot(settings) == before


def test_modified_file_replaces_its_chunks(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    target = corpus / "how-to-build-the-future-of-ai.txt"
    target.write_text("A completely new text about zebras and their stripes.\n", encoding="utf-8")
    report, _ = quiet(settings, [corpus])
    assert (report.updated, report.unchanged) == (1, 4)
    texts = [text for src, text in snapshot(settings).values() if src == f"corpus/{target.name}"]
    assert texts == ["A completely new text about zebras and their stripes."]


def test_deleted_file_is_removed_but_other_folders_stay(settings: Settings, corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.md").write_text("# Note\n\nOther folder text.", encoding="utf-8")
    quiet(settings, [corpus])
    quiet(settings, [other])
    (corpus / "career-profile.txt").unlink()
    report, _ = quiet(settings, [corpus])
    assert report.removed == 1
    sources = {Path(src).name for src, _ in snapshot(settings).values()}
    assert "career-profile.txt" not in sources
    assert "note.md" in sources  # ingesting one folder never prunes another
    assert len(sources) == 5


def test_changed_chunk_size_rechunks_everything(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    report, _ = quiet(settings.model_copy(update={"chunk_size": 32}), [corpus])
    assert report.updated == 5


def test_bad_files_are_skipped_with_a_warning_and_the_rest_ingested(settings: Settings, corpus: Path) -> None:
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "legacy.txt").write_bytes("naïve café text".encode("cp1252"))
    (corpus / "undecodable.txt").write_bytes(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 40)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    (corpus / "dangling.txt").symlink_to(corpus / "no-such-target.txt")
    (corpus / "picture.png").write_bytes(b"\x89PNG")
    write_pdf(corpus / "paper.pdf", [["The paper says Karpathy likes CS231n."]])
    report, warnings = quiet(settings, [corpus])
    failed = {Path(path).name for path, _ in report.failed}
    assert failed == {"binary.txt", "empty.md", "undecodable.txt", "broken.pdf", "dangling.txt"}
    assert len(warnings) == 5 and all(Path(p).name in " ".join(warnings) for p, _ in report.failed)
    assert report.added == 7  # five seeds + legacy.txt + paper.pdf
    assert [Path(p).name for p in report.ignored] == ["picture.png"]
    pdf_chunks = [m for _, _, m in open_store(settings).iter_records() if m["source"].endswith("paper.pdf")]
    assert pdf_chunks and pdf_chunks[0]["page"] == 1


def test_file_that_became_unreadable_loses_its_old_chunks(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    (corpus / "career-profile.txt").write_bytes(b"")
    report, warnings = quiet(settings, [corpus])
    assert report.removed == 1 and len(warnings) == 1
    assert all(not src.endswith("career-profile.txt") for src, _ in snapshot(settings).values())


def test_missing_path_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        quiet(settings, [tmp_path / "nope"])


def test_embedder_mismatch_says_to_rebuild(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        open_store(settings, FakeEmbedder(dimension=32))
    with pytest.raises(EmbedderMismatchError):
        ingest([corpus], settings, progress=False, embedder=FakeEmbedder(dimension=32))
    report = ingest([corpus], settings, progress=False, rebuild=True, embedder=FakeEmbedder(dimension=32))
    assert report.added == 5
    assert open_store(settings).info().dimension == 32


def test_vectors_of_another_dimension_are_refused(settings: Settings, corpus: Path) -> None:
    import numpy as np

    quiet(settings, [corpus])
    store = open_store(settings)
    chunk = store.get_chunks([next(store.iter_records())[0]])[0]
    with pytest.raises(EmbedderMismatchError, match="64-dimensional"):
        store.write([chunk], np.ones((1, 32), dtype=np.float32))
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        store.query(np.ones(32, dtype=np.float32), k=3)


def test_reading_an_empty_store_says_to_ingest(settings: Settings) -> None:
    with pytest.raises(StoreError, match="rag ingest"):
        open_store(settings)


class Boom(Exception):
    pass


@pytest.mark.parametrize(("method", "crash_after"), [("write", 0), ("write", 1), ("write", 2), ("delete", 0)])
def test_interrupted_ingest_is_repaired_by_a_rerun(
    settings: Settings, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, crash_after: int
) -> None:
    """Crash in the middle of writing new and changed files, or between writing
    new chunks and deleting stale ones; a re-run must leave exactly the chunks
    a clean ingest produces."""
    from rag.store import ChunkStore

    small = settings.model_copy(update={"embed_batch_size": 2})  # groups of 16 chunks: many crash points
    quiet(small, [corpus])
    for path in sorted(corpus.iterdir())[:2]:
        path.write_text(path.read_text(encoding="utf-8") + "\n\nAn appended paragraph about robots.", encoding="utf-8")
    (corpus / "brand-new.txt").write_text("A new file. " * 200, encoding="utf-8")

    real = getattr(ChunkStore, method)
    calls = {"n": 0}

    def crashing(self, items, *rest):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] > crash_after:
            half = len(items) // 2  # part of this batch reaches the store, then the process "dies"
            real(self, items[:half], *(r[:half] for r in rest))
            raise Boom
        return real(self, items, *rest)

    monkeypatch.setattr(ChunkStore, method, crashing)
    with pytest.raises(Boom):
        quiet(small, [corpus])
    monkeypatch.setattr(ChunkStore, method, real)
    quiet(small, [corpus])

    clean = small.model_copy(update={"data_dir": tmp_path / "clean"})
    quiet(clean, [corpus])
    assert snapshot(small) == snapshot(clean)


def test_symlink_loop_does_not_hang(settings: Settings, corpus: Path) -> None:
    os.symlink(corpus, corpus / "loop")
    report, _ = quiet(settings, [corpus])
    assert report.added == 5


def test_documents_are_keyed_relative_to_their_folder_and_rebuilt_from_chunks(settings: Settings, corpus: Path,
                                                                              tmp_path: Path) -> None:
    """The same corpus at another path maps to the same keys; the viewer needs only the store."""
    import shutil

    from ingest.loaders import load_document
    from rag.documents import assemble

    quiet(settings, [corpus])
    before = snapshot(settings)
    assert {src for src, _ in before.values()} == {f"corpus/{p.name}" for p in corpus.iterdir()}
    moved = tmp_path / "elsewhere" / "corpus"
    shutil.copytree(corpus, moved)
    # Another folder of the same name is not silently taken for the same corpus...
    with pytest.raises(IngestError, match="already holds documents from"):
        quiet(settings, [moved])
    assert snapshot(settings) == before
    # ...but it is when the user says so.
    report, _ = quiet(settings, [moved], label="corpus")
    assert report.unchanged == 5 and report.added == 0 and snapshot(settings) == before
    # A single file inside the recorded folder gets the key its folder's ingest gave it.
    report, _ = quiet(settings, [moved / "career-profile.txt"])
    assert report.unchanged == 1 and snapshot(settings) == before
    store = open_store(settings)
    for file in sorted(corpus.iterdir()):
        chunks = store.document_chunks(f"corpus/{file.name}")
        text, where = assemble(chunks)
        for chunk in chunks:
            a, b = where[chunk.id]
            assert text[a:b] == chunk.text
        original = load_document(file).text
        assert " ".join(text.split()) == " ".join(original.split())


def test_rebuild_switches_to_a_complete_new_collection(settings: Settings, corpus: Path) -> None:
    quiet(settings, [corpus])
    reader = open_store(settings)
    old = reader.physical
    before = reader.count()
    report, _ = quiet(settings, [corpus], rebuild=True)
    assert report.added == 5
    # The reader opened before the rebuild follows the switch: its old collection is gone.
    assert reader.count() == before
    assert reader.physical == open_store(settings).physical != old
    folders = [p.name for p in (settings.data_dir / "lexical").iterdir()]
    assert folders == [f"local-{reader.physical}"]
    # The replaced collection's bookkeeping went with it.
    keys = reader._state.read()
    assert not any(k.startswith(f"{old}/") for k in keys) and keys["active"] == reader.physical


def test_a_reader_follows_a_rebuild_whatever_error_the_dropped_collection_gives(settings: Settings,
                                                                               corpus: Path) -> None:
    from chromadb.errors import ChromaError

    quiet(settings, [corpus])
    reader = open_store(settings)
    before = reader.count()
    quiet(settings, [corpus], rebuild=True)

    class Dropping:  # the old collection while the server is still dropping it
        def count(self) -> int:
            raise ChromaError("Missing field: [Missing metadata segment]")

    reader._collection = Dropping()
    assert reader.count() == before and reader.physical == open_store(settings).physical
