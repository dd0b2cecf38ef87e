"""The vector store: a Chroma collection of chunks, stamped with its embedder.

The collection itself is the source of truth for what has been ingested: every
chunk carries its document's hash and chunk count, so ingest can tell a
complete document from one a crash left half-written without a second
manifest that could drift out of step with the vectors.

Several processes may share one Chroma server (replicas of ``rag serve``, an
ingest running beside them), so the bookkeeping is built for it:

- **Bookkeeping records, one per key.** Chroma's collection metadata can only
  be replaced whole, so two writers would lose each other's keys. The
  embedder, revision and last ingest live instead as records of a small
  companion collection ``<name>.state``; each write upserts only its own keys.
- **An alias for rebuilds.** ``<name>`` is a logical name; the state record
  ``active`` names the physical collection behind it. ``rag ingest --rebuild``
  fills a new physical collection and switches ``active`` once it is
  complete; readers notice on their next query and reopen, so they never see
  an empty or half-built store. The old collection is then dropped.
- **A revision that says when the chunks are complete.** Before its first
  write an ingest sets the revision to ``writing:…``; when it finishes it sets
  ``ids:<digest of every chunk id>``. Derived indexes (BM25) are persisted
  only under a revision they can verify (see :mod:`rag.lexical`).
- **Every Chroma or transport error becomes a** :class:`StoreError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import numpy as np

from .config import Settings
from .documents import Chunk
from .embeddings import Embedder
from .errors import EmbedderMismatchError, StoreError

__all__ = ["ChunkStore", "DocState", "StoreInfo", "open_store", "ids_digest"]

log = logging.getLogger(__name__)

_PAGE = 5000  # rows per get() page, to keep server responses bounded
T = TypeVar("T")


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
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            # chromadb builds its httpx session with timeout=None: a server that
            # accepts connections but never answers would hang every question.
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None:
                import httpx

                session.timeout = httpx.Timeout(settings.chroma_timeout)
            return client
        settings.store_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises many unrelated types here
        raise StoreError(
            f"cannot open the vector store at {settings.store_location}: {exc}. "
            "Check RAG_CHROMA_HOST/RAG_CHROMA_PORT (is `chroma run` up?) or RAG_DATA_DIR"
        ) from None


def ids_digest(ids: Sequence[str], titles: Sequence[str] | None = None) -> str:
    """The revision of a store holding exactly these chunks.

    Chunk ids derive from source, offset and text; the title, which BM25 also
    indexes, is not in the id, so it is part of the digest.
    """
    titles = titles if titles is not None else [""] * len(ids)
    lines = sorted(f"{cid}|{title}" for cid, title in zip(ids, titles))
    return "ids:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:24]


def _physical_names(name: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(name)}(-g[0-9a-f]{{8}})?$")


class _State:
    """The ``<name>.state`` companion collection: one record per bookkeeping key.

    Values are JSON; keys of one physical collection are prefixed with its name.
    """

    def __init__(self, client: Any, name: str) -> None:
        self._collection = client.get_or_create_collection(f"{name}.state", embedding_function=None)

    def read(self) -> dict[str, Any]:
        got = self._collection.get(include=["documents"])
        out: dict[str, Any] = {}
        for key, doc in zip(got["ids"], got["documents"] or []):
            try:
                out[key] = json.loads(doc) if doc else None
            except ValueError:
                continue
        return out

    def forget(self, prefix: str) -> None:
        """Delete the records of one physical collection (after a rebuild replaced it)."""
        ids = [key for key in self._collection.get(include=[])["ids"] if key.startswith(prefix)]
        if ids:
            self._collection.delete(ids=ids)

    def write(self, values: dict[str, Any]) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return
        keys = list(values)
        self._collection.upsert(
            ids=keys,
            documents=[json.dumps(values[k]) for k in keys],
            # Chroma wants a vector per record; these records are looked up by id only.
            embeddings=np.ones((len(keys), 1), dtype=np.float32),
        )


class ChunkStore:
    """One logical collection of chunks plus the embedder identity it was built with."""

    def __init__(self, settings: Settings, client: Any, state: _State, physical: str, collection: Any,
                 *, pending: bool = False) -> None:
        self.settings = settings
        self._client = client
        self._state = state
        self._physical = physical
        self._collection = collection
        # A rebuild writes into a collection that goes live only at finish().
        self._pending = pending
        self._touched: str | bool = False  # this writer's "writing:…" token, once it has written
        self._meta_cache: dict[str, Any] | None = None

    @property
    def physical(self) -> str:
        """The Chroma collection behind the logical name right now."""
        return self._physical

    # --- errors and the alias ---------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one Chroma call; reopen once if the collection was switched under us."""
        for attempt in (0, 1):
            try:
                return fn()
            except StoreError:
                raise
            except Exception as exc:  # chromadb and httpx raise many unrelated types
                # A rebuild in another process switches the alias, then drops the old
                # collection. A call on the old one fails with "does not exist", or,
                # while the server is still dropping it, "Missing field: [Missing
                # metadata segment]": whatever the error, when the alias has moved, the
                # call is retried on the new collection.
                if attempt == 0 and not self._pending and self._reopen():
                    continue
                raise StoreError(
                    f"the vector store at {self.settings.store_location} failed to {what}: "
                    f"{str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__}. "
                    "Is the Chroma server up (RAG_CHROMA_HOST/RAG_CHROMA_PORT)?"
                ) from None
        raise AssertionError("unreachable")

    def _read_state(self) -> dict[str, Any]:
        try:
            state = self._state.read()
        except Exception as exc:  # noqa: BLE001 - unreachable server: keep the last known state
            log.debug("cannot read the store state: %s", exc)
            if self._meta_cache is None:
                # Nothing known: a revision no derived index will ever trust.
                return {f"{self._physical}/revision": f"unknown:{uuid.uuid4().hex}"}
            return self._meta_cache
        self._meta_cache = state
        return state

    def _reopen(self, state: dict[str, Any] | None = None) -> bool:
        """Follow the ``active`` pointer; True if it moved to another collection."""
        state = self._read_state() if state is None else state
        active = state.get("active")
        if not active or active == self._physical:
            return False
        try:
            collection = self._client.get_collection(active, embedding_function=None)
        except Exception as exc:  # noqa: BLE001 - keep serving from the old one
            log.warning("cannot open collection %s: %s", active, exc)
            return False
        log.info("the store moved from %s to %s (a rebuild finished)", self._physical, active)
        self._physical, self._collection = active, collection
        return True

    @property
    def revision(self) -> str:
        """Token that changes whenever the chunks change; derived indexes key on it.

        Read fresh from the store, so a server process sees another process's
        ingest, and follows a finished rebuild to its new collection.
        """
        state = self._read_state()
        if not self._pending:
            self._reopen(state)
        value = self._own(state).get("revision")
        if value is None:  # a store from before the state records
            value = self._collection_metadata().get("revision", "initial")
        return f"{self._physical}:{value}"

    def _own(self, state: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{self._physical}/"
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

    def _collection_metadata(self) -> dict[str, Any]:
        try:
            return dict(self._collection.metadata or {})
        except Exception:  # noqa: BLE001
            return {}

    def _touch(self) -> None:
        # Set *before* every write batch (unless already ours), so even an
        # ingest that dies half way leaves a revision no derived index will be
        # saved under, and an ingest that finished beside us cannot publish a
        # "complete" revision while we are still writing.
        if self._touched is False:
            self._touched = f"writing:{uuid.uuid4().hex}"
        if self._own(self._read_state()).get("revision") != self._touched:
            self._update_metadata(revision=self._touched)

    # --- identity -------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        """Bookkeeping of this collection: embedder, dimension, revision, last ingest."""
        return self._merged(self._read_state())

    def _merged(self, state: dict[str, Any]) -> dict[str, Any]:
        meta = self._collection_metadata()  # stores from before the state records kept it here
        meta.update(self._own(state))
        return meta

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
        """Write only these keys: concurrent writers of other keys are not overwritten."""
        prefixed = {f"{self._physical}/{k}": v for k, v in values.items() if v is not None}
        self._call("update its bookkeeping", lambda: self._state.write(prefixed))
        self._meta_cache = None

    # --- reading ----------------------------------------------------------------
    def count(self) -> int:
        return int(self._call("count chunks", lambda: self._collection.count()))

    def iter_records(self, include_documents: bool = False) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        """Every ``(id, text, metadata)`` in the collection, fetched page by page."""
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            page = self._call("list chunks", lambda: self._collection.get(include=include, limit=_PAGE, offset=offset))
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [None] * len(ids)
            for cid, text, meta in zip(ids, docs, page["metadatas"]):
                yield cid, text, dict(meta or {})
            if len(ids) < _PAGE:
                return
            offset += len(ids)

    def all_ids(self) -> list[str]:
        """Every chunk id, page by page."""
        ids: list[str] = []
        offset = 0
        while True:
            page = self._call("list chunks", lambda: self._collection.get(include=[], limit=_PAGE, offset=offset))
            ids.extend(page["ids"])
            if len(page["ids"]) < _PAGE:
                return ids
            offset += len(page["ids"])

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
        got = self._call("read chunks",
                         lambda: self._collection.get(ids=list(ids), include=["metadatas", "documents"]))
        by_id = {
            cid: Chunk.from_record(cid, text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [by_id[cid] for cid in ids if cid in by_id]

    def document_chunks(self, source: str) -> list[Chunk]:
        """Every chunk of one document, in order (the document viewer reads these, not the file)."""
        got = self._call("read a document", lambda: self._collection.get(
            where={"source": source}, include=["metadatas", "documents"]))
        chunks = [Chunk.from_record(cid, text or "", dict(meta or {}))
                  for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(chunks, key=lambda c: (c.start, c.index))

    def query(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks to ``vector`` with cosine similarity, best first."""
        if k <= 0:
            return []
        self._check_dimension(int(np.asarray(vector).shape[-1]))
        embedding = [np.asarray(vector, dtype=np.float32).tolist()]
        # Chroma returns fewer hits when it holds fewer than k; no count() round trip.
        res = self._call("search", lambda: self._collection.query(
            query_embeddings=embedding, n_results=k, include=["metadatas", "documents", "distances"]))
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
        step = max(1, min(int(self._call("ask its batch size", self._client.get_max_batch_size)), 4096))
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            self._call("write chunks", lambda: self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            ))

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._touch()
        step = 4096
        for i in range(0, len(ids), step):
            part = list(ids[i : i + step])
            self._call("delete chunks", lambda: self._collection.delete(ids=part))

    def _check_dimension(self, dimension: int) -> None:
        # On every query: the state read with this question's revision will do.
        meta = self._merged(self._meta_cache if self._meta_cache is not None else self._read_state())
        stored = meta.get("dimension")
        if stored is not None and int(stored) != dimension:
            raise EmbedderMismatchError(
                f"the store at {self.settings.store_location} holds {stored}-dimensional vectors "
                f"from {meta.get('embedder')}, but the configured embedder makes {dimension}-dimensional "
                "ones. Re-ingest with `rag ingest --rebuild`, or configure the original embedder again"
            )

    def roots(self) -> dict[str, str]:
        """Source label -> the folder its documents were last ingested from."""
        return {k[len("label/"):]: str(v) for k, v in self.metadata.items() if k.startswith("label/")}

    def claim_roots(self, roots: dict[str, str]) -> None:
        """Record which folder each source label's documents come from."""
        self._update_metadata(**{f"label/{label}": root for label, root in roots.items()})

    def stamp(self, name: str, dimension: int) -> None:
        """Record the embedder on a collection that has none yet."""
        if "embedder" not in self.metadata:
            self._update_metadata(embedder=name, dimension=dimension)

    def finish(self, summary: str) -> str:
        """End an ingest: a verifiable revision, the summary, and (after a rebuild) the switch.

        Returns the new revision.
        """
        ids, titles = [], []
        for cid, _, meta in self.iter_records():
            ids.append(cid)
            titles.append(str(meta.get("title", "")))
        revision = ids_digest(ids, titles)
        self._update_metadata(
            revision=revision,
            last_ingest=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            last_summary=summary,
        )
        if self._pending:
            self._activate()
        return f"{self._physical}:{revision}"

    def _activate(self) -> None:
        """Point the logical name at this (rebuilt) collection, then drop the one it replaced.

        Only the collection that was active is dropped: another rebuild still
        filling its own collection is left alone (the last to finish wins).
        """
        name = self.settings.collection
        previous = self._call("read the store state", self._state.read).get("active") or name
        self._call("switch to the rebuilt collection", lambda: self._state.write({"active": self._physical}))
        self._pending = False
        if previous == self._physical or not _physical_names(name).match(previous):
            return
        try:
            self._client.delete_collection(previous)
            self._state.forget(f"{previous}/")
        except Exception as exc:  # noqa: BLE001 - another process dropped it first, or it never existed
            log.debug("cannot drop %s: %s", previous, exc)


def _create(client: Any, name: str) -> Any:
    # get_or_create: two processes starting on an empty server both succeed.
    return client.get_or_create_collection(
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
    starts a new, empty collection that replaces the current one when the
    ingest finishes (:meth:`ChunkStore.finish`). With an ``embedder`` the
    collection's recorded embedder must match it.
    """
    from chromadb.errors import NotFoundError

    client = _client(settings)
    name = settings.collection
    try:
        state = _State(client, name)
        active = state.read().get("active") or name
        if rebuild:
            physical = f"{name}-g{uuid.uuid4().hex[:8]}"
            return ChunkStore(settings, client, state, physical, _create(client, physical), pending=True)
        try:
            collection = client.get_collection(active, embedding_function=None)
        except (NotFoundError, ValueError):
            if not create:
                raise StoreError(
                    f"no corpus is indexed at {settings.store_location}; run `rag ingest` first"
                ) from None
            collection = _create(client, active)
            state.write({"active": active})
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"cannot open collection {name!r} at {settings.store_location}: {exc}. "
            "If the store is corrupted, move RAG_DATA_DIR aside and run `rag ingest`"
        ) from None
    store = ChunkStore(settings, client, state, active, collection)
    if embedder is not None:
        store.check_embedder(embedder.name)
    return store
