"""Sync files on disk into the vector store, incrementally and crash-safely.

Documents are keyed by a path relative to the folder they were ingested from,
under a source label (by default that folder's name): ``seeds/karpathy.md``.
The same corpus mounted at another path, on another host, maps to the same
keys, and nothing downstream reads local files by these keys.

Files are read one at a time (hashed first, loaded only when changed), so
memory stays bounded by the largest file and one embedding batch, not by the
corpus.

A document is rewritten only when its content (or the chunking rules) changed.
New chunks are upserted under stable ids *before* the stale ones are deleted,
and the store counts a document as present only when all of its chunks carry
one hash and their number matches the recorded total. An ingest killed at any
point therefore leaves documents that look incomplete, and the next run
rewrites exactly those: no duplicates, no orphans.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from rag.config import Settings
from rag.documents import Chunk, Document
from rag.embeddings import Embedder, get_embedder
from rag.errors import DocumentError, IngestError
from rag.lexical import lexical_index, prune
from rag.store import ChunkStore, DocState, open_store

from .chunking import Chunker
from .loaders import SUPPORTED_SUFFIXES, load_document

__all__ = ["IngestReport", "ingest", "make_chunker", "scan_paths", "source_key"]

log = logging.getLogger(__name__)

Warn = Callable[[str], None]
#: ``on_file(done, total, source)``: called before each changed file is loaded and chunked.
FileStep = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"files: {self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged, {len(self.failed)} skipped; "
            f"chunks: {self.chunks_written} written, {self.chunks_deleted} deleted; "
            f"{self.seconds:.1f}s"
        )
        if self.ignored:
            line += f"; {len(self.ignored)} files of unsupported types ignored"
        return line


def make_chunker(settings: Settings, embedder: Embedder) -> Chunker:
    return Chunker(
        count_tokens=embedder.count_tokens,
        max_tokens=lambda: embedder.max_tokens,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        embedder_name=embedder.name,
    )


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


@dataclass(frozen=True)
class Target:
    """A folder or file named on the command line, and the label its documents are keyed under."""

    root: Path  # the folder keys are relative to
    label: str
    folder: bool  # a folder: documents gone from it are removed from the store


def source_key(file: Path, target: Target) -> str:
    """``label/relative/path`` of ``file``: the same on every host that mounts the corpus."""
    return f"{target.label}/{file.relative_to(target.root).as_posix()}"


def scan_paths(
    paths: Sequence[Path], label: str | None = None, roots: dict[str, str] | None = None
) -> tuple[list[tuple[Path, Target]], list[Target], list[str]]:
    """Expand folders into supported files.

    Returns ``(files, folders, ignored)``: each file with the target it came
    from, the folder targets whose vanished files should be removed from the
    store, and files skipped for type. ``roots`` (label -> folder, as recorded
    by earlier ingests) keys a single file inside an ingested folder the way
    that folder's ingest did.
    """
    files: list[tuple[Path, Target]] = []
    folders: list[Target] = []
    ignored: list[str] = []
    for raw in paths:
        path = Path(os.path.abspath(raw))
        if not path.exists():
            raise IngestError(f"{raw} does not exist; check the path and try again")
        if path.is_dir():
            target = Target(path, label or path.name or "root", True)
            folders.append(target)
            # followlinks=False: a symlink loop cannot send the walk round forever.
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _is_hidden(d))
                for name in sorted(names):
                    if _is_hidden(name):
                        continue
                    file = Path(root) / name
                    if file.suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append((file, target))
                    else:
                        ignored.append(str(file))
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            enclosing = [(lab, Path(root)) for lab, root in (roots or {}).items()
                         if (label is None or lab == label) and path.is_relative_to(root)]
            if enclosing:  # the deepest ingested folder holding it: the same key as its folder's ingest
                lab, root = max(enclosing, key=lambda item: len(item[1].parts))
                files.append((path, Target(root, lab, False)))
            else:
                files.append((path, Target(path.parent, label or path.parent.name or "root", False)))
        else:
            raise IngestError(
                f"{raw}: unsupported file type; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
            )
    unique = list({source_key(f, t): (f, t) for f, t in files}.values())
    return unique, folders, ignored


def _under(source: str, target: Target) -> bool:
    if source.startswith(target.label + "/"):
        return True
    # Stores from before relative keys held absolute paths.
    return source.startswith(str(target.root).rstrip(os.sep) + os.sep)


def _claims(files: list[tuple[Path, Target]], folders: list[Target], recorded: dict[str, str],
            explicit: bool) -> dict[str, str]:
    """The label -> folder records this ingest makes; a clash with another folder is an error.

    Two different folders with the same name would otherwise share keys, and
    ingesting the second would delete the first one's documents. An explicit
    ``--label`` says "this is the same corpus" (moved, or mounted elsewhere).
    """
    claims: dict[str, str] = {}
    for target in folders + [t for _, t in files]:
        root = str(target.root)
        owner = claims.get(target.label) or recorded.get(target.label)
        if owner is not None and owner != root and not explicit:
            raise IngestError(
                f"the source label {target.label!r} already holds documents from {owner}; "
                f"ingest {root} with --label {target.label} if it is the same corpus moved or mounted "
                "elsewhere, or with another --label to keep both"
            )
        claims.setdefault(target.label, root)
    return claims


def _file_digest(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(total: int, desc: str, unit: str, enabled: bool):  # noqa: ANN202 - tqdm type
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False, dynamic_ncols=True)


class _Writer:
    """Embeds pending documents in large batches, then writes each document whole."""

    def __init__(self, store: ChunkStore, embedder: Embedder, states: dict[str, DocState],
                 batch_size: int, report: IngestReport, bar) -> None:  # noqa: ANN001
        self.store = store
        self.embedder = embedder
        self.states = states
        self.batch_size = batch_size
        self.report = report
        self.bar = bar
        self.pending: list[list[Chunk]] = []
        self.pending_chunks = 0
        self.stamped = False

    def add(self, chunks: list[Chunk]) -> None:
        self.pending.append(chunks)
        self.pending_chunks += len(chunks)
        # Several batches per encode() call let sentence-transformers sort the
        # texts by length, which cuts padding; the group stays small enough for
        # a steady progress bar.
        if self.pending_chunks >= self.batch_size * 8:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        flat = [c for doc in self.pending for c in doc]
        vectors = self.embedder.embed_batch([c.text for c in flat])
        self.bar.update(len(flat))
        if not self.stamped:
            self.store.stamp(self.embedder.name, int(vectors.shape[1]))
            self.stamped = True
        # One upsert for the whole group: per-call overhead in Chroma is several
        # milliseconds, which per document would rival the embedding time.
        self.store.write(flat, vectors)
        self.report.chunks_written += len(flat)
        stale: list[str] = []
        for doc_chunks in self.pending:
            keep = {c.id for c in doc_chunks}
            old = self.states.get(doc_chunks[0].source, DocState()).ids
            stale.extend(cid for cid in old if cid not in keep)
        self.store.delete(stale)
        self.report.chunks_deleted += len(stale)
        self.pending, self.pending_chunks = [], 0


def ingest(
    paths: Iterable[str | Path] | None = None,
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    progress: bool = True,
    warn: Warn | None = None,
    embedder: Embedder | None = None,
    label: str | None = None,
    on_file: FileStep | None = None,
) -> IngestReport:
    """Bring the store in line with ``paths`` (default: the seeds folder).

    Unchanged files are skipped, changed ones re-chunked and replaced, and files
    gone from an ingested folder removed. Unreadable files are reported through
    ``warn`` and skipped. ``rebuild`` builds a fresh collection that replaces
    the current one when complete. ``label`` overrides the source label
    (default: the folder's name). ``on_file`` reports progress per changed file
    (the web upload's progress bar).
    """
    from rag.config import load_settings

    settings = settings or load_settings()
    warn = warn or log.warning
    started = time.perf_counter()
    targets = [Path(p) for p in (paths or [settings.seeds_dir])]
    embedder = embedder or get_embedder(settings)
    chunker = make_chunker(settings, embedder)
    store = open_store(settings, None if rebuild else embedder, create=True, rebuild=rebuild)
    recorded = store.roots()
    files, folders, ignored = scan_paths(targets, label, recorded)
    claims = _claims(files, folders, recorded, explicit=label is not None)
    states = store.doc_states()
    report = IngestReport(ignored=ignored)

    seen: set[str] = set()
    unusable: list[str] = []  # files that could not be read: their old chunks go too
    todo: list[tuple[Path, str, str]] = []  # (file, source key, content digest): no contents kept
    for file, target in files:
        source = source_key(file, target)
        seen.add(source)
        try:
            size_mb = file.stat().st_size / 1e6
            if size_mb > settings.max_file_mb:
                reason = f"too large ({size_mb:.1f} MB > RAG_MAX_FILE_MB={settings.max_file_mb:g})"
                report.failed.append((source, reason))
                warn(f"skipped {source}: {reason}")
                unusable.append(source)
                continue
            digest = _file_digest(file)
        except OSError as exc:  # unreadable, or gone since the scan
            report.failed.append((source, f"cannot read ({exc.strerror or exc})"))
            warn(f"skipped {source}: cannot read ({exc.strerror or exc})")
            unusable.append(source)
            continue
        state = states.get(source)
        probe = Document(source=source, title="", text="", content_hash=digest)
        if state is not None and state.complete and state.doc_hash == chunker.doc_hash(probe):
            report.unchanged += 1
            continue
        todo.append((file, source, digest))

    # Files that failed to load or vanished from an ingested folder must not
    # keep answering questions with text that is no longer there.
    gone = [s for s in states if s not in seen and any(_under(s, f) for f in folders)]
    gone += [s for s in unusable if s in states]

    bar = _progress(0, "embedding", "chunk", progress)
    writer = _Writer(store, embedder, states, settings.embed_batch_size, report, bar)
    try:
        for done, (file, source, digest) in enumerate(_iter_progress(todo, progress)):
            if on_file is not None:
                on_file(done, len(todo), source)
            try:
                data = file.read_bytes()
                if hashlib.sha256(data).hexdigest() != digest:
                    raise DocumentError(source, "changed while being indexed; run `rag ingest` again")
                document = load_document(file, source=source, data=data)
                size = len(data)
                del data
            except OSError as exc:  # gone since it was hashed
                report.failed.append((source, f"cannot read ({exc.strerror or exc})"))
                warn(f"skipped {source}: cannot read ({exc.strerror or exc})")
                if source in states:
                    gone.append(source)
                continue
            except DocumentError as exc:
                report.failed.append((source, exc.reason))
                warn(f"skipped {source}: {exc.reason}")
                if source in states:
                    gone.append(source)
                continue
            # When and what was indexed, for the Documents tab. Only metadata:
            # ids and doc_hash stay content-derived, so an unchanged file is
            # still recognised as unchanged on the next run.
            stamp = {"ingested_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "doc_bytes": size}
            chunks = [replace(c, extra={**c.extra, **stamp}) for c in chunker.split(document)]
            bar.total += len(chunks)
            bar.refresh()
            if source in states:
                report.updated += 1
            else:
                report.added += 1
            writer.add(chunks)
        writer.flush()
    finally:
        bar.close()

    for source in gone:
        ids = states[source].ids
        store.delete(ids)
        report.chunks_deleted += len(ids)
        report.removed += 1

    store.claim_roots(claims)
    report.seconds = time.perf_counter() - started
    # A verifiable revision (and, after --rebuild, the switch to the new
    # collection) only now that every document is written.
    store.finish(report.summary())
    # The BM25 index is derived from the store; bring it to the new revision now
    # so the first question after an ingest does not pay for the rebuild.
    lexical_index(store)
    if rebuild:
        prune(store)
    return report


def _iter_progress(items: list, enabled: bool):  # noqa: ANN001, ANN202
    bar = _progress(len(items), "files", "file", enabled and len(items) > 1)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
