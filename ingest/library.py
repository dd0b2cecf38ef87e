"""Manage the indexed documents from the web: list, upload, delete, re-index.

The browser is an untrusted source of files, so an upload is checked before
anything touches the store: names are reduced to a safe file name (never used
as a path), and every file is size-checked and loaded by the same loaders
ingest uses, in a hidden staging folder. Only files that pass are moved into
``DATA_DIR/uploads`` and ingested, under the source label ``uploads`` that a
later re-index of that folder reproduces.

"A failed upload leaves the store as it was": Chroma writes are not
transactional, so before ingesting, the chunks (with their vectors) of every
source the upload touches are read aside. If the ingest raises, those sources
get exactly their old chunks back, replaced files are restored and new ones
removed, and the error is re-raised. Re-embedding the old versions would not
do: the failure may well be the embedder.

Duplicate names: an upload whose bytes equal the file already saved under
that name is "unchanged"; different bytes replace it (an update of the same
document). Within one batch the later of two same-named files wins, and the
earlier is reported as rejected.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.documents import Chunk
from rag.embeddings import Embedder, get_embedder
from rag.errors import DocumentError, IngestError
from rag.lexical import lexical_index
from rag.store import ChunkStore, open_store

from .loaders import SUPPORTED_SUFFIXES, load_document
from .pipeline import IngestReport, ingest

__all__ = ["DocumentInfo", "UploadResult", "list_documents", "save_uploads", "delete_document", "reindex",
           "UPLOAD_LABEL", "upload_dir", "supported_suffixes"]

log = logging.getLogger(__name__)

UPLOAD_LABEL = "uploads"
_MAX_NAME = 120
_STALE_STAGING_SECONDS = 3600  # staging left by a process that died mid-upload
Progress = Callable[[float, str], None]

# Uploads, deletes and re-indexes are short, and a Chroma write is not a
# transaction: one at a time per process keeps each one's rollback valid.
_lock = threading.RLock()


def upload_dir(settings: Settings) -> Path:
    """The folder uploaded files are kept in (``DATA_DIR/uploads``)."""
    return settings.data_dir / UPLOAD_LABEL


def supported_suffixes() -> tuple[str, ...]:
    """File suffixes ingest can read, e.g. ``(".htm", ".html", ".markdown", ".md", ".pdf", ...)``."""
    return tuple(sorted(SUPPORTED_SUFFIXES))


def _folder(settings: Settings) -> Path:
    # Absolute, not resolved: ingest records roots with os.path.abspath too.
    return Path(os.path.abspath(upload_dir(settings)))


# --- listing ------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as the Documents tab shows it."""

    source: str
    title: str
    file_name: str
    chunks: int
    chars: int  # characters of the document's text covered by its chunks
    size_bytes: int | None  # file size at ingest; None for stores from before it was recorded
    ingested: str | None  # ISO-8601 UTC time this version was ingested; None likewise
    deletable: bool


def _covered(spans: list[tuple[int, int]]) -> int:
    """Characters covered by overlapping ``(start, end)`` spans."""
    total, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


_LISTED: dict[str, tuple[str, list[DocumentInfo]]] = {}  # physical collection → (revision, documents)
_LISTED_LOCK = threading.Lock()


def list_documents(store: ChunkStore) -> list[DocumentInfo]:
    """Every document in the store, sorted by title.

    One pass over every chunk's metadata, so the result is kept per store revision: each
    page load and each `GET /v1/documents` would otherwise read the whole store again.
    Only verified revisions are kept (one being written, or unreadable, is listed afresh).
    """
    revision = store.revision
    key = store.physical
    if ":ids:" in revision:
        with _LISTED_LOCK:
            cached = _LISTED.get(key)
        if cached is not None and cached[0] == revision:
            return list(cached[1])
    infos = _scan_documents(store)
    if ":ids:" in revision:
        with _LISTED_LOCK:
            _LISTED[key] = (revision, infos)
    return list(infos)


def _scan_documents(store: ChunkStore) -> list[DocumentInfo]:
    docs: dict[str, dict[str, Any]] = {}
    for _, _, meta in store.iter_records():
        doc = docs.setdefault(str(meta.get("source", "")),
                              {"title": "", "chunks": 0, "spans": [], "bytes": None, "at": None})
        doc["title"] = str(meta.get("title", "")) or doc["title"]
        doc["chunks"] += 1
        doc["spans"].append((int(meta.get("start", 0)), int(meta.get("end", 0))))
        if "doc_bytes" in meta:
            doc["bytes"] = max(int(meta["doc_bytes"]), doc["bytes"] or 0)
        if "ingested_at" in meta:  # chunks of one version share it; max() is safe mid-rewrite
            doc["at"] = max(str(meta["ingested_at"]), doc["at"] or "")
    infos = [
        DocumentInfo(source=source, title=d["title"] or Path(source).name, file_name=Path(source).name,
                     chunks=d["chunks"], chars=_covered(d["spans"]), size_bytes=d["bytes"],
                     ingested=d["at"], deletable=True)
        for source, d in docs.items()
    ]
    return sorted(infos, key=lambda i: (i.title.casefold(), i.source))


# --- uploads ------------------------------------------------------------------
@dataclass
class UploadResult:
    """What an upload did: files accepted, files refused and why, and the ingest's report."""

    saved: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    report: IngestReport | None = None

    def summary(self) -> str:
        lines = [self.report.summary() if self.report else "nothing was indexed"]
        if self.rejected:
            lines.append(f"{len(self.rejected)} rejected: "
                         + "; ".join(f"{name or '(no name)'}: {reason}" for name, reason in self.rejected))
        return "\n".join(lines)


def sanitise_name(name: str) -> str:
    """A safe file name for a name a browser sent: one component, ASCII, no leading dot."""
    base = re.split(r"[/\\]", str(name))[-1]
    # Accents folded ("résumé" -> "resume"); control, format and NUL characters dropped.
    base = "".join(ch for ch in unicodedata.normalize("NFKD", base)
                   if unicodedata.category(ch)[0] not in "CM")
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base)
    # A leading dot would make the file hidden, and ingest skips hidden files.
    base = base.strip(" ").lstrip(".").strip(" ").rstrip(".")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem or len(suffix) > 16:
        stem, suffix = base, ""
    suffix = f".{suffix}" if suffix else ""
    stem = stem[: _MAX_NAME - len(suffix)].rstrip(" .") or "upload"
    return stem + suffix


def _mb(size: float) -> str:
    return f"{size:.1f}" if size >= 1 else f"{size:.3g}"


def _reason(exc: DocumentError) -> str:
    return exc.reason.removesuffix(", skipped")


@dataclass
class _Staged:
    given: str
    name: str
    path: Path  # in the staging folder
    digest: str  # sha256 of the bytes: duplicates are compared by it, not by bytes kept in memory


def _stage(index: int, given: str, content: Path | str | bytes, staging: Path, settings: Settings) -> _Staged | str:
    """Check one uploaded file; the staged file, or the reason it is refused."""
    name = sanitise_name(given)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return f"unsupported file type {suffix or '(none)'}; supported: {', '.join(supported_suffixes())}"
    if isinstance(content, (bytes, bytearray, memoryview)):
        size = len(content)
    else:  # a temporary file the web server wrote; read only once its size is known to be acceptable
        try:
            size = Path(content).stat().st_size
        except OSError as exc:
            return f"cannot read the uploaded file ({exc.strerror or exc})"
    if size == 0:
        return "empty file"
    if size / 1e6 > settings.max_file_mb:
        return f"too large ({_mb(size / 1e6)} MB > the {settings.max_file_mb:g} MB limit)"
    try:
        data = bytes(content) if isinstance(content, (bytes, bytearray, memoryview)) else Path(content).read_bytes()
    except OSError as exc:
        return f"cannot read the uploaded file ({exc.strerror or exc})"
    path = staging / str(index) / name  # one folder per file: two files may share a name
    path.parent.mkdir()
    path.write_bytes(data)
    try:
        # The loaders' own checks (binary data, bad encodings, PDFs without text),
        # before anything reaches the store.
        document = load_document(path, source=f"{UPLOAD_LABEL}/{name}", data=data)
    except DocumentError as exc:
        return _reason(exc)
    return _Staged(given, name, path, document.content_hash)


def _snapshot(store: ChunkStore, sources: Sequence[str]) -> dict[str, tuple[list[Chunk], np.ndarray]]:
    """The chunks and vectors of ``sources`` now, to put back if the upload fails."""
    out: dict[str, tuple[list[Chunk], np.ndarray]] = {}
    for source in sources:
        # ChunkStore has no vector read; this is the one place that needs it.
        got = store._call("read a document", lambda s=source: store._collection.get(  # noqa: SLF001
            where={"source": s}, include=["embeddings", "documents", "metadatas"]))
        chunks = [Chunk.from_record(cid, text or "", dict(meta or {}))
                  for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])]
        vectors = np.asarray(got["embeddings"] if len(got["ids"]) else [], dtype=np.float32)
        out[source] = (chunks, vectors)
    return out


def _restore(store: ChunkStore, snapshot: dict[str, tuple[list[Chunk], np.ndarray]]) -> None:
    """Give each snapshotted source exactly its old chunks back."""
    for source, (chunks, vectors) in snapshot.items():
        keep = {c.id for c in chunks}
        store.delete([c.id for c in store.document_chunks(source) if c.id not in keep])
        if chunks:
            store.write(chunks, vectors)


def _check_label(store: ChunkStore, folder: Path) -> None:
    owner = store.roots().get(UPLOAD_LABEL)
    # A folder named "uploads" ingested from elsewhere owns these keys; uploading
    # would mix its documents with the browser's. A recorded folder that is gone
    # (the data dir moved) is taken over.
    if owner and Path(owner) != folder and Path(owner).is_dir():
        raise IngestError(
            f"the source label {UPLOAD_LABEL!r} already holds documents from {owner}; re-ingest that "
            f"folder with another --label before uploading"
        )


def save_uploads(files: Sequence[tuple[str, Path | str | bytes]], settings: Settings, *,
                 progress: Progress | None = None, embedder: Embedder | None = None) -> UploadResult:
    """Check, save and index uploaded files: ``(name the browser sent, temporary path or bytes)``.

    Refused files are listed in the result with a reason, not raised. If the
    ingest itself fails, the store and the upload folder are put back as they
    were and the error is re-raised.
    """
    step = progress or (lambda fraction, text: None)
    result = UploadResult()
    folder = _folder(settings)
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        _sweep(folder)
        # Hidden: neither ingest nor a re-index of the folder looks inside.
        staging = folder / f".staging-{secrets.token_hex(8)}"
        staging.mkdir()
        try:
            staged: dict[str, _Staged] = {}  # by sanitised name; the later of two duplicates wins
            for i, (given, content) in enumerate(files):
                step(0.3 * i / max(len(files), 1), f"checking {sanitise_name(given)}")
                outcome = _stage(i, given, content, staging, settings)
                if isinstance(outcome, str):
                    result.rejected.append((given, outcome))
                    continue
                earlier = staged.get(outcome.name)
                if earlier is not None and earlier.digest != outcome.digest:
                    why = f"replaced by a later file named {outcome.name} in the same upload"
                    result.rejected.append((earlier.given, why))
                staged[outcome.name] = outcome
            if not staged:
                step(1.0, "nothing to index")
                return result
            result.saved = list(staged)
            result.report = _commit(list(staged.values()), folder, staging, settings, embedder, step, result)
            step(1.0, "done")
            return result
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _commit(staged: list[_Staged], folder: Path, staging: Path, settings: Settings, embedder: Embedder | None,
            step: Progress, result: UploadResult) -> IngestReport:
    """Move checked files into the upload folder and ingest them; undo everything if that fails."""
    embedder = embedder or get_embedder(settings)
    store = open_store(settings, embedder, create=True)
    _check_label(store, folder)
    sources = {f"{UPLOAD_LABEL}/{s.name}": s for s in staged}
    snapshot = _snapshot(store, list(sources))
    backups = staging / ".backup"
    backups.mkdir()
    placed: dict[str, Path | None] = {}  # source -> backup of the file it replaced (None: a new file)
    try:
        step(0.3, "saving files")
        for source, item in sources.items():
            dest = folder / item.name
            if dest.is_file():
                if hashlib.sha256(dest.read_bytes()).hexdigest() == item.digest:
                    continue  # unchanged: ingest will say so
                backup = backups / item.name
                shutil.copy2(dest, backup)
                placed[source] = backup
            else:
                placed[source] = None
            os.replace(item.path, dest)

        def on_file(done: int, total: int, source: str) -> None:
            step(0.35 + 0.6 * done / max(total, 1), f"indexing {Path(source).name}")

        report = ingest([folder / s.name for s in staged], settings, label=UPLOAD_LABEL, progress=False,
                        warn=log.info, embedder=embedder, on_file=on_file)
    except BaseException:
        _undo(store, snapshot, placed, folder, "upload failed; restored the documents it touched")
        raise
    # A file that passed the checks can still fail in ingest (changed on disk
    # meanwhile): ingest has dropped its old chunks, so undo that file alone.
    failed = {source: reason for source, reason in report.failed if source in sources}
    if failed:
        _undo(store, {s: snapshot[s] for s in failed}, {s: p for s, p in placed.items() if s in failed},
              folder, "restored documents whose upload failed")
        for source, reason in failed.items():
            result.rejected.append((sources[source].given, reason))
            result.saved.remove(sources[source].name)
    return report


def _undo(store: ChunkStore, snapshot: dict[str, tuple[list[Chunk], np.ndarray]], placed: dict[str, Path | None],
          folder: Path, summary: str) -> None:
    # Files first: if the store is unreachable, the folder still holds the old
    # versions, and the next re-index brings the store back in line with it.
    for source, backup in placed.items():
        dest = folder / Path(source).name
        if backup is None:
            dest.unlink(missing_ok=True)
        else:
            os.replace(backup, dest)
    try:
        _restore(store, snapshot)
        store.finish(summary)  # the same chunks as before, hence the same verifiable revision
        lexical_index(store)
    except Exception as exc:  # noqa: BLE001 - the original error is the one to report
        log.error("could not restore the store after a failed upload (%s); run a re-index", exc)


def _sweep(folder: Path) -> None:
    """Remove what uploads and deletes leave behind when their process dies mid-way (hidden, so harmless)."""
    cutoff = time.time() - _STALE_STAGING_SECONDS
    for old in [*folder.glob(".staging-*"), *folder.glob(".deleting-*")]:
        try:
            if old.stat().st_mtime < cutoff:
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink()
        except OSError:
            continue


# --- delete and re-index --------------------------------------------------------
def delete_document(source: str, settings: Settings, *, embedder: Embedder | None = None) -> int:
    """Remove a document's chunks; returns how many. Raises :class:`IngestError` for an unknown source.

    An uploaded document's file is deleted too, so a re-index does not bring
    it back. Any other document (a seed, a folder ingested with ``rag
    ingest``) keeps its file: it is gone until the next re-index of its folder.
    """
    with _lock:
        store = open_store(settings, embedder)
        ids = [c.id for c in store.document_chunks(source)]
        if not ids:
            raise IngestError(f"no document {source!r} is indexed; refresh the list of documents")
        folder = _folder(settings)
        file = None
        if source.startswith(f"{UPLOAD_LABEL}/") and store.roots().get(UPLOAD_LABEL) in (None, str(folder)):
            candidate = (folder / source[len(UPLOAD_LABEL) + 1:]).resolve()
            # The key came from the store, but it is still not trusted as a path.
            if candidate.is_relative_to(folder.resolve()) and candidate.is_file():
                file = candidate
        aside = None
        if file is not None:  # set aside, not deleted, until the chunks are gone
            aside = folder / f".deleting-{secrets.token_hex(8)}"
            os.replace(file, aside)
        try:
            store.delete(ids)
        except BaseException:
            if aside is not None:
                os.replace(aside, file)
            raise
        if aside is not None:
            aside.unlink(missing_ok=True)
        # A new verifiable revision tells every process the chunks changed; the
        # BM25 index follows it.
        store.finish(f"deleted {source} ({len(ids)} chunks)")
        lexical_index(store)
        return len(ids)


def _merge(total: IngestReport, part: IngestReport) -> None:
    for name in ("added", "updated", "removed", "unchanged", "chunks_written", "chunks_deleted", "seconds"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.failed.extend(part.failed)
    total.ignored.extend(part.ignored)


def reindex(settings: Settings, *, progress: bool = False, embedder: Embedder | None = None) -> IngestReport:
    """Re-ingest every folder the store has documents from (its recorded roots).

    New and changed files are indexed, vanished ones removed, each folder under
    the label it was recorded with. A store with no recorded folder gets what
    ``rag ingest`` without paths does: the seeds folder. A recorded folder that
    no longer exists is reported, and its documents are kept.
    """
    with _lock:
        roots = open_store(settings, embedder, create=True).roots()
        if not roots:
            return ingest(None, settings, progress=progress, embedder=embedder)
        total = IngestReport()
        for label, root in sorted(roots.items()):
            if not Path(root).is_dir():
                total.failed.append((f"{label}/", f"folder {root} is not there; its documents were kept"))
                continue
            _merge(total, ingest([root], settings, label=label, progress=progress, embedder=embedder))
        return total
