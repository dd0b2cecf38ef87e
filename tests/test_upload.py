"""The Documents tab's library: listing, uploads (and their bad inputs), delete, re-index."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest, load_document
from ingest.library import (
    UPLOAD_LABEL,
    delete_document,
    list_documents,
    reindex,
    sanitise_name,
    save_uploads,
    supported_suffixes,
    upload_dir,
)
from rag.config import Settings, load_settings
from rag.embeddings import FakeEmbedder
from rag.errors import BackendError, IngestError
from rag.lexical import lexical_index
from rag.retrieval import Retriever
from rag.store import open_store
from tests.conftest import SEEDS

NOTES = b"# Quokka field notes\n\nThe quokka is a small marsupial living on Rottnest Island.\n"
PLAIN = "Wombats dig burrows.\n\nWombat droppings are cube shaped, which stops them rolling away.\n"


def long_text(word: str, sentences: int = 300) -> bytes:
    """Enough text for dozens of chunks under the test settings."""
    return " ".join(f"Sentence {i} is about the {word} and its habits." for i in range(sentences)).encode()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def staging_left(settings: Settings) -> list[Path]:
    return [p for p in upload_dir(settings).iterdir() if p.name.startswith(".")] if upload_dir(settings).exists() else []


def ids_by_source(settings: Settings) -> dict[str, set[str]]:
    return {s: set(state.ids) for s, state in open_store(settings).doc_states().items()}


# --- listing ------------------------------------------------------------------
def test_list_documents_after_ingesting_the_seeds(settings: Settings) -> None:
    ingest(None, settings, progress=False)
    store = open_store(settings)
    docs = list_documents(store)
    assert {d.source for d in docs} == {f"seeds/{p.name}" for p in SEEDS.iterdir()}
    assert [d.title.casefold() for d in docs] == sorted(d.title.casefold() for d in docs)
    assert sum(d.chunks for d in docs) == store.count()
    for d in docs:
        assert d.title and d.file_name == Path(d.source).name and d.chunks > 1 and d.deletable
        text = load_document(SEEDS / d.file_name).text
        assert 0.95 * len(text) < d.chars <= len(text)  # the chunks cover the text, overlaps counted once
        assert d.size_bytes == (SEEDS / d.file_name).stat().st_size
        when = datetime.fromisoformat(d.ingested)
        assert when.tzinfo is not None and abs((datetime.now(timezone.utc) - when).total_seconds()) < 120


def test_ingest_time_is_not_hashed_so_unchanged_files_stay_unchanged(settings: Settings) -> None:
    ingest(None, settings, progress=False)
    before = {d.source: d.ingested for d in list_documents(open_store(settings))}
    report = ingest(None, settings, progress=False)
    assert (report.unchanged, report.chunks_written) == (5, 0)
    assert {d.source: d.ingested for d in list_documents(open_store(settings))} == before


def test_older_stores_without_the_new_metadata_list_none(settings: Settings) -> None:
    from rag.documents import Chunk

    store = open_store(settings, create=True)
    old = Chunk("c1", "old/a.txt", "Old doc", 0, 0, 10, "0123456789", "h", 2)
    old2 = Chunk("c2", "old/a.txt", "Old doc", 1, 5, 15, "5678901234", "h", 2)
    store.write([old, old2], np.ones((2, 4), dtype=np.float32))
    (info,) = list_documents(store)
    assert (info.chunks, info.chars, info.size_bytes, info.ingested) == (2, 15, None, None)


# --- uploads ------------------------------------------------------------------
def test_upload_md_and_txt_are_listed_under_uploads(settings: Settings, tmp_path: Path) -> None:
    temp = tmp_path / "browser-temp-1234"  # a web server's temporary file: its name is not the upload's
    temp.write_text(PLAIN, encoding="utf-8")
    steps: list[tuple[float, str]] = []
    result = save_uploads([("notes.md", NOTES), ("wombats.txt", temp)], settings,
                          progress=lambda f, d: steps.append((f, d)))
    assert result.saved == ["notes.md", "wombats.txt"] and result.rejected == []
    assert result.report is not None and result.report.added == 2
    assert "2 added" in result.summary()
    docs = {d.source: d for d in list_documents(open_store(settings))}
    assert set(docs) == {"uploads/notes.md", "uploads/wombats.txt"}
    assert docs["uploads/notes.md"].title == "Quokka field notes"
    assert docs["uploads/notes.md"].size_bytes == len(NOTES)
    assert (upload_dir(settings) / "notes.md").read_bytes() == NOTES
    assert temp.exists()  # the caller's temporary file is the caller's
    assert open_store(settings).roots()[UPLOAD_LABEL] == str(upload_dir(settings).absolute())
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(steps) >= 4
    assert any("indexing" in d for _, d in steps)
    assert staging_left(settings) == []


@pytest.mark.parametrize(("given", "saved"), [
    ("../../x.txt", "x.txt"),
    ("..\\..\\x.txt", "x.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("/tmp/../../x.txt", "x.txt"),
    ("x\x00.txt", "x.txt"),
    ("..", None),
    ("/etc/passwd", None),
])
def test_path_traversal_stays_inside_the_upload_folder(settings: Settings, tmp_path: Path, given: str,
                                                       saved: str | None) -> None:
    before = files_under(tmp_path)
    result = save_uploads([(given, PLAIN.encode())], settings)
    new = files_under(tmp_path) - before
    data = settings.data_dir
    assert all(p.is_relative_to(upload_dir(settings)) or p.is_relative_to(data / "chroma")
               or p.is_relative_to(data / "lexical") for p in new), new
    uploaded = {p.name for p in new if p.is_relative_to(upload_dir(settings))}
    if saved is None:
        assert result.saved == [] and uploaded == set()
        assert result.rejected[0][0] == given and "unsupported file type" in result.rejected[0][1]
    else:
        assert result.saved == [saved] and uploaded == {saved}
        assert [d.source for d in list_documents(open_store(settings))] == [f"uploads/{saved}"]


@pytest.mark.parametrize(("given", "expected"), [
    ("notes.md", "notes.md"),
    ("my notes (final).txt", "my notes _final_.txt"),
    ("résumé.pdf", "resume.pdf"),
    (".hidden.md", "hidden.md"),
    ("", "upload"),
    ("\x00\x01", "upload"),
    ("a" * 300 + ".markdown", "a" * 111 + ".markdown"),
    ("C:\\Users\\me\\report.html", "report.html"),
])
def test_names_are_sanitised(given: str, expected: str) -> None:
    assert sanitise_name(given) == expected
    assert len(sanitise_name(given)) <= 120


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (b"  \n\t\n", "empty file"),
    (b"\x00\x01\x02binary\x00" * 50, "binary"),
    (b"\x01\x02\x03\x04\x05\x06" * 200, "binary"),
    (b"<html><body><script>x()</script></body></html>", "no text"),
])
def test_unusable_files_are_rejected_before_the_store_is_touched(settings: Settings, content: bytes,
                                                                   reason: str) -> None:
    name = "page.html" if content.startswith(b"<html") else "file.txt"
    result = save_uploads([(name, content)], settings)
    assert result.saved == [] and result.report is None
    assert result.rejected[0][0] == name and reason in result.rejected[0][1]
    assert not (upload_dir(settings) / name).exists() and staging_left(settings) == []
    assert not settings.store_path.exists()  # nothing accepted: the store was never opened


def test_oversized_files_are_rejected(tmp_path: Path) -> None:
    tiny = load_settings(data_dir=tmp_path / "data", embedder="fake", chunk_size=48, chunk_overlap=8,
                         max_file_mb=0.001)
    result = save_uploads([("big.txt", b"word " * 1000), ("small.txt", b"A short note about otters.")], tiny)
    assert result.saved == ["small.txt"]
    assert result.rejected == [("big.txt", "too large (0.005 MB > the 0.001 MB limit)")]
    assert not (upload_dir(tiny) / "big.txt").exists()


def test_oversized_temp_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = load_settings(data_dir=tmp_path / "data", embedder="fake", max_file_mb=0.001)
    temp = tmp_path / "upload.bin"
    temp.write_bytes(b"x" * 5000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    result = save_uploads([("big.txt", temp)], tiny)
    assert "too large" in result.rejected[0][1]


def test_unsupported_type_lists_the_supported_ones(settings: Settings) -> None:
    result = save_uploads([("setup.exe", b"MZ\x90\x00binary")], settings)
    (name, reason), = result.rejected
    assert name == "setup.exe" and reason.startswith("unsupported file type .exe")
    assert all(s in reason for s in supported_suffixes()) and {".md", ".txt", ".pdf"} <= set(supported_suffixes())


def test_mixed_batch_indexes_the_good_file_and_explains_the_bad_one(settings: Settings) -> None:
    result = save_uploads([("good.md", NOTES), ("bad.txt", b"\x00\xff\x00" * 100), ("tool.exe", b"MZ")], settings)
    assert result.saved == ["good.md"]
    assert [name for name, _ in result.rejected] == ["bad.txt", "tool.exe"]
    assert result.report is not None and result.report.added == 1
    assert [d.source for d in list_documents(open_store(settings))] == ["uploads/good.md"]
    summary = result.summary()
    assert "1 added" in summary and "bad.txt: binary" in summary and "tool.exe: unsupported" in summary
    assert sorted(p.name for p in upload_dir(settings).iterdir()) == ["good.md"]


def test_same_name_is_unchanged_when_identical_and_an_update_when_not(settings: Settings) -> None:
    save_uploads([("notes.md", NOTES)], settings)
    first = ids_by_source(settings)["uploads/notes.md"]
    again = save_uploads([("notes.md", NOTES)], settings).report
    assert again is not None and (again.unchanged, again.chunks_written) == (1, 0)
    changed = NOTES + b"\nQuokkas also climb trees.\n"
    update = save_uploads([("notes.md", changed)], settings).report
    assert update is not None and (update.updated, update.added) == (1, 0)
    assert ids_by_source(settings)["uploads/notes.md"] != first
    assert (upload_dir(settings) / "notes.md").read_bytes() == changed


def test_later_file_of_the_same_name_in_one_batch_wins(settings: Settings) -> None:
    result = save_uploads([("a.txt", b"First version about owls."), ("dir/a.txt", b"Second version about bats."),
                           ("A.txt", b"Another file.")], settings)
    assert result.saved == ["a.txt", "A.txt"]
    assert result.rejected == [("a.txt", "replaced by a later file named a.txt in the same upload")]
    assert (upload_dir(settings) / "a.txt").read_bytes() == b"Second version about bats."


class FailingEmbedder(FakeEmbedder):
    """The embedding backend goes away after ``after`` batches."""

    def __init__(self, after: int, on_fail=None) -> None:  # noqa: ANN001
        super().__init__()
        self.after, self.calls, self.on_fail = after, 0, on_fail

    def embed_batch(self, texts):  # noqa: ANN001, ANN201
        self.calls += 1
        if self.calls > self.after:
            if self.on_fail:
                self.on_fail()
            raise BackendError("the embedding server went away")
        return super().embed_batch(texts)


def test_failure_mid_ingest_leaves_store_and_folder_as_they_were(settings: Settings) -> None:
    small = settings.model_copy(update={"embed_batch_size": 2})  # a flush every 16 chunks
    ingest(None, small, progress=False)
    save_uploads([("a.txt", long_text("aardvark")), ("keep.md", NOTES)], small)
    store = open_store(small)
    ids_before, revision_before = sorted(store.all_ids()), store.revision
    old_a = ids_by_source(small)["uploads/a.txt"]

    seen_mid_way: dict[str, set[str]] = {}
    embedder = FailingEmbedder(after=1, on_fail=lambda: seen_mid_way.update(ids_by_source(small)))
    with pytest.raises(BackendError, match="went away"):
        save_uploads([("a.txt", long_text("anteater")), ("b.txt", long_text("bandicoot")),
                      ("keep.md", NOTES)], small, embedder=embedder)
    # The rollback had real work to do: a.txt's new version had replaced the old one.
    assert embedder.calls == 2 and not (seen_mid_way["uploads/a.txt"] & old_a)

    store = open_store(small)
    assert sorted(store.all_ids()) == ids_before and store.revision == revision_before
    assert (upload_dir(small) / "a.txt").read_bytes() == long_text("aardvark")
    assert sorted(p.name for p in upload_dir(small).iterdir()) == ["a.txt", "keep.md"]  # no b.txt, no staging
    hits = {store.get_chunks([cid])[0].source for cid, _ in lexical_index(store).search("anteater bandicoot", 20)}
    assert hits == set()
    # The folder and the store agree, so a re-index has nothing to do.
    report = reindex(small)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)


def test_a_file_that_fails_inside_ingest_is_undone_alone(settings: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file can pass the checks and still fail in ingest (changed on disk meanwhile)."""
    import ingest.pipeline as pipeline
    from rag.errors import DocumentError

    save_uploads([("b.txt", b"Old text about badgers.")], settings)
    old_b = ids_by_source(settings)["uploads/b.txt"]
    real = pipeline.load_document

    def flaky(path, source=None, data=None):  # noqa: ANN001, ANN202
        if source == "uploads/b.txt":
            raise DocumentError(source, "changed while being indexed; run `rag ingest` again")
        return real(path, source=source, data=data)

    monkeypatch.setattr(pipeline, "load_document", flaky)
    result = save_uploads([("a.txt", b"New text about aardvarks."), ("b.txt", b"New text about bats.")], settings)
    assert result.saved == ["a.txt"]
    assert result.rejected == [("b.txt", "changed while being indexed; run `rag ingest` again")]
    assert ids_by_source(settings)["uploads/b.txt"] == old_b  # ingest had dropped them; they are back
    assert (upload_dir(settings) / "b.txt").read_bytes() == b"Old text about badgers."
    assert "uploads/a.txt" in ids_by_source(settings)


def test_uploads_refuse_a_label_held_by_another_folder(settings: Settings, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "uploads"
    other.mkdir(parents=True)
    (other / "theirs.txt").write_text("A document from someone's own uploads folder.")
    ingest([other], settings, progress=False)
    before = ids_by_source(settings)
    with pytest.raises(IngestError, match="already holds documents"):
        save_uploads([("mine.txt", b"Mine.")], settings)
    assert ids_by_source(settings) == before and not (upload_dir(settings) / "mine.txt").exists()


# --- delete -------------------------------------------------------------------
def test_delete_an_upload_removes_chunks_file_and_search_hits(settings: Settings) -> None:
    save_uploads([("notes.md", NOTES), ("wombats.txt", PLAIN.encode())], settings)
    store = open_store(settings)
    ids = ids_by_source(settings)["uploads/notes.md"]
    assert {cid for cid, _ in lexical_index(store).search("quokka", 10)} & ids
    revision = store.revision

    assert delete_document("uploads/notes.md", settings) == len(ids)
    assert not (upload_dir(settings) / "notes.md").exists()
    assert (upload_dir(settings) / "wombats.txt").exists() and staging_left(settings) == []
    store = open_store(settings)
    assert "uploads/notes.md" not in store.doc_states() and store.revision != revision
    # A finished, verifiable revision: other processes' BM25 indexes follow it, and this one is saved.
    assert store.revision.split(":", 1)[1].startswith("ids:") and not lexical_index(store).provisional
    assert not {cid for cid, _ in lexical_index(store).search("quokka", 10)} & ids
    retrieval = Retriever(settings, store, FakeEmbedder()).retrieve("Where does the quokka live?")
    assert retrieval.candidates and all(c.chunk.source != "uploads/notes.md" for c in retrieval.candidates)
    assert [d.source for d in list_documents(store)] == ["uploads/wombats.txt"]
    report = reindex(settings)  # the file is gone, so a re-index does not bring it back
    assert (report.added, report.unchanged) == (0, 1)

    with pytest.raises(IngestError, match="no document"):
        delete_document("uploads/notes.md", settings)


def test_deleted_seed_comes_back_on_reindex(settings: Settings, corpus: Path) -> None:
    ingest([corpus], settings, progress=False)
    source = "corpus/how-to-build-the-future-of-ai.txt"
    count = len(ids_by_source(settings)[source])
    assert delete_document(source, settings) == count
    assert source not in ids_by_source(settings)
    assert (corpus / "how-to-build-the-future-of-ai.txt").exists()  # not an upload: its file is kept
    report = reindex(settings)
    assert (report.added, report.unchanged) == (1, 4)
    assert len(ids_by_source(settings)[source]) == count


def test_delete_refuses_to_follow_a_crafted_key_out_of_the_folder(settings: Settings, tmp_path: Path) -> None:
    from rag.documents import Chunk

    save_uploads([("notes.md", NOTES)], settings)
    victim = settings.data_dir / "victim.txt"
    victim.write_text("do not delete")
    store = open_store(settings)
    store.write([Chunk("evil", "uploads/../victim.txt", "t", 0, 0, 4, "text", "h", 1)],
                np.ones((1, 64), dtype=np.float32))
    assert delete_document("uploads/../victim.txt", settings) == 1
    assert victim.read_text() == "do not delete"


# --- re-index -----------------------------------------------------------------
def test_reindex_refreshes_every_recorded_folder_with_the_same_keys(settings: Settings, corpus: Path) -> None:
    ingest([corpus], settings, progress=False)
    save_uploads([("notes.md", NOTES), ("wombats.txt", PLAIN.encode())], settings)
    before = sorted(open_store(settings).all_ids())

    report = reindex(settings)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 7)
    assert sorted(open_store(settings).all_ids()) == before

    (upload_dir(settings) / "by-hand.txt").write_text("Dropped into the folder by hand: pangolins.")
    (upload_dir(settings) / "wombats.txt").unlink()
    (corpus / "career-profile.txt").unlink()
    report = reindex(settings)
    assert (report.added, report.removed, report.unchanged) == (1, 2, 5)
    sources = {d.source for d in list_documents(open_store(settings))}
    assert "uploads/by-hand.txt" in sources and "uploads/wombats.txt" not in sources
    assert "corpus/career-profile.txt" not in sources


def test_reindex_of_an_empty_store_ingests_the_seeds(settings: Settings) -> None:
    report = reindex(settings)
    assert report.added == 5


def test_the_document_list_is_read_once_per_store_revision(settings, corpus, monkeypatch) -> None:  # noqa: ANN001
    import ingest.library as library
    from ingest import ingest
    from rag.embeddings import get_embedder
    from rag.store import open_store

    ingest([corpus], settings, progress=False)
    store = open_store(settings, get_embedder(settings))
    scans = []
    real = library._scan_documents
    monkeypatch.setattr(library, "_scan_documents", lambda s: scans.append(1) or real(s))
    first = library.list_documents(store)
    assert library.list_documents(store) == first and len(scans) == 1  # the same revision: no second pass
    (corpus / "extra.txt").write_text("A new note about the robot lab and its opening hours.", encoding="utf-8")
    ingest([corpus], settings, progress=False)
    assert len(library.list_documents(store)) == len(first) + 1 and len(scans) == 2  # a new revision: read again
