"""The vector store: a Chroma collection of chunks, stamped with its embedder.

The collection itself is the source of truth for what has been ingested: every
chunk carries its document's hash and chunk count, so ingest can tell a
complete document from one a crash left half-written without a second
manifest that could drift out of step with the vectors.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .config import Settings
from .documents import Chunk
from .embeddings import Embedder
from .errors import EmbedderMismatchError, StoreError

__all__ = ["ChunkStore", "DocState", "StoreInfo", "open_store"]

log = logging.getLogger(__name__)

_PAGE = 5000  # rows per get() page, to keep server responses bounded


@dataclass
class DocState:
    """What the store holds for one source document."""

    ids: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    expected: int = 0
    title: str = ""

    @property
    def complete(self) -> bool:
        """True when every chunk of exactly one version of the document is present."""
        return len(self.hashes) == 1 and len(self.ids) == self.expected

    @property
    def doc_hash(self) -> str | None:
        return next(iter(self.hashes)) if len(self.hashes) == 1 else None


@dataclass(frozen=True)
class StoreInfo:
    """Summary for ``rag status``."""

    location: str
    embedder: str | None
    dimension: int | None
    documents: int
    chunks: int
    last_ingest: str | None
    last_summary: str | None


def _client(settings: Settings) -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        settings.store_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises many unrelated types here
        raise StoreError(
            f"cannot open the vector store at {settings.store_location}: {exc}. "
            "Check RAG_CHROMA_HOST/RAG_CHROMA_PORT (is `chroma run` up?) or RAG_DATA_DIR"
        ) from None


class ChunkStore:
    """One Chroma collection of chunks plus the embedder identity it was built with."""

    def __init__(self, settings: Settings, collection: Any, client: Any) -> None:
        self.settings = settings
        self._collection = collection
        self._client = client
        self._touched = False

    @property
    def revision(self) -> str:
        """Token that changes whenever the chunks change; derived indexes key on it.

        Read fresh from the store, so a server process sees another process's ingest.
        """
        try:
            meta = self._client.get_collection(self.settings.collection).metadata or {}
        except Exception:  # dropped or unreachable: fall back to what we know
            meta = self.metadata
        return str(meta.get("revision", "initial"))

    def _touch(self) -> None:
        # Set *before* the first write, so even an ingest that dies half way
        # leaves a revision no derived index was built from.
        if not self._touched:
            self._update_metadata(revision=uuid.uuid4().hex)
            self._touched = True

    # --- identity -------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def check_embedder(self, name: str, dimension: int | None = None) -> None:
        """Refuse to mix vectors from two embedders in one collection.

        The name is compared up front (cheap: no model load); the dimension is
        compared whenever vectors are at hand, on every write and query.
        """
        meta = self.metadata
        stored = meta.get("embedder")
        if stored is None:
            return
        dim = meta.get("dimension")
        if stored != name or (dim is not None and dimension is not None and int(dim) != dimension):
            shown = f"{name} ({dimension} dimensions)" if dimension else name
            raise EmbedderMismatchError(
                f"the store at {self.settings.store_location} was built with embedder "
                f"{stored} ({dim} dimensions), but the configured embedder is {shown}. "
                "Re-ingest with `rag ingest --rebuild`, or configure the original embedder again"
            )

    def _update_metadata(self, **values: Any) -> None:
        meta = self.metadata
        meta.update({k: v for k, v in values.items() if v is not None})
        self._collection.modify(metadata=meta)

    # --- reading ----------------------------------------------------------------
    def count(self) -> int:
        return int(self._collection.count())

    def iter_records(self, include_documents: bool = False) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        """Every ``(id, text, metadata)`` in the collection, fetched page by page."""
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [None] * len(ids)
            for cid, text, meta in zip(ids, docs, page["metadatas"]):
                yield cid, text, dict(meta or {})
            if len(ids) < _PAGE:
                return
            offset += len(ids)

    def doc_states(self) -> dict[str, DocState]:
        """Per source: its chunk ids, the document hashes seen, the expected count."""
        states: dict[str, DocState] = {}
        for cid, _, meta in self.iter_records():
            state = states.setdefault(str(meta.get("source", "")), DocState())
            state.ids.append(cid)
            state.hashes.add(str(meta.get("doc_hash", "")))
            state.expected = max(state.expected, int(meta.get("doc_chunks", 0)))
            state.title = str(meta.get("title", ""))
        return states

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked (unknown ids are left out)."""
        if not ids:
            return []
        got = self._collection.get(ids=list(ids), include=["metadatas", "documents"])
        by_id = {
            cid: Chunk.from_record(cid, text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [by_id[cid] for cid in ids if cid in by_id]

    def query(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks to ``vector`` with cosine similarity, best first."""
        if k <= 0:
            return []
        self._check_dimension(int(np.asarray(vector).shape[-1]))
        # Chroma returns fewer hits when it holds fewer than k; no count() round trip.
        res = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
            n_results=k,
            include=["metadatas", "documents", "distances"],
        )
        out = []
        for cid, text, meta, dist in zip(
            res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]
        ):
            out.append((Chunk.from_record(cid, text or "", dict(meta or {})), 1.0 - float(dist)))
        return out

    def info(self) -> StoreInfo:
        meta = self.metadata
        sources = {m.get("source") for _, _, m in self.iter_records()}
        return StoreInfo(
            location=self.settings.store_location,
            embedder=meta.get("embedder"),
            dimension=int(meta["dimension"]) if "dimension" in meta else None,
            documents=len(sources),
            chunks=self.count(),
            last_ingest=meta.get("last_ingest"),
            last_summary=meta.get("last_summary"),
        )

    # --- writing ----------------------------------------------------------------
    def write(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Upsert chunks with their vectors; ids are stable, so a re-run is idempotent."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if len(vectors):
            self._check_dimension(int(np.asarray(vectors).shape[1]))
        self._touch()
        step = max(1, min(int(self._client.get_max_batch_size()), 4096))
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            )

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._touch()
        step = 4096
        for i in range(0, len(ids), step):
            self._collection.delete(ids=list(ids[i : i + step]))

    def _check_dimension(self, dimension: int) -> None:
        meta = self.metadata
        stored = meta.get("dimension")
        if stored is not None and int(stored) != dimension:
            raise EmbedderMismatchError(
                f"the store at {self.settings.store_location} holds {stored}-dimensional vectors "
                f"from {meta.get('embedder')}, but the configured embedder makes {dimension}-dimensional "
                "ones. Re-ingest with `rag ingest --rebuild`, or configure the original embedder again"
            )

    def stamp(self, name: str, dimension: int) -> None:
        """Record the embedder on a collection that has none yet."""
        if "embedder" not in self.metadata:
            self._update_metadata(embedder=name, dimension=dimension)

    def mark_ingested(self, summary: str) -> None:
        self._update_metadata(
            last_ingest=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            last_summary=summary,
        )


def _get_collection(client: Any, name: str, create: bool) -> Any | None:
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except (NotFoundError, ValueError):
        if not create:
            return None
    return client.create_collection(
        name,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    )


def open_store(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    create: bool = False,
    rebuild: bool = False,
) -> ChunkStore:
    """Open the configured collection.

    ``create`` makes an empty collection when there is none (ingest does);
    readers get a :class:`StoreError` telling them to ingest first. ``rebuild``
    drops the collection and starts over. With an ``embedder`` the collection's
    recorded embedder must match it.
    """
    client = _client(settings)
    if rebuild:
        try:
            client.delete_collection(settings.collection)
        except Exception:  # absent already: nothing to drop
            log.debug("no collection %s to drop", settings.collection)
    try:
        collection = _get_collection(client, settings.collection, create or rebuild)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"cannot open collection {settings.collection!r} at {settings.store_location}: {exc}. "
            "If the store is corrupted, move RAG_DATA_DIR aside and run `rag ingest`"
        ) from None
    if collection is None:
        raise StoreError(
            f"no corpus is indexed at {settings.store_location}; run `rag ingest` first"
        )
    store = ChunkStore(settings, collection, client)
    if embedder is not None:
        store.check_embedder(embedder.name)
    return store
