"""BM25 over the chunks in the store, persisted in the data dir.

The index is derived data, and a stale one must be impossible, not merely
unlikely: new documents missing from BM25 (60 % of the fused score) are
invisible. So the index records the chunk ids it holds, and it is saved to
disk only when they provably are the store's complete contents:

- an ingest sets the store revision to ``writing:…`` before its first write
  and to ``ids:<digest of every chunk id>`` when it is done
  (:meth:`rag.store.ChunkStore.finish`);
- an index built from the store is persisted only when the digest of the ids
  it read equals that revision. One built during an ingest (a half-written
  store) serves from memory, briefly, and is never saved; the ingest's own
  final build, or the first query after it, makes the complete one.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .store import ChunkStore, ids_digest
from .text import content_terms

__all__ = ["LexicalIndex", "index_text", "lexical_index", "prune", "tokenize"]

log = logging.getLogger(__name__)


def _bm25s():  # noqa: ANN202 - the module
    import bm25s

    # bm25s sets its logger to DEBUG when imported and logs every index build.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s

_FORMAT = 2  # bump when tokenization or parameters change: saved indexes are rebuilt


def tokenize(text: str) -> list[str]:
    """Index terms: stemmed English words without stopwords."""
    return content_terms(text)


def index_text(title: str, text: str) -> str:
    """What BM25 sees of a chunk: its document's title, then its text.

    A chunk from the middle of a document rarely repeats what the document is
    about; the title supplies it. On SQuAD this lifts fused hit@5 from 0.957 to
    0.961 (see BENCHMARKS.md).
    """
    return f"{title}\n{text}" if title else text


@dataclass
class LexicalIndex:
    """A bm25s index plus the chunk id of each row and the store revision it reflects."""

    ids: list[str]
    revision: str
    _bm25: object | None
    doc_freq: dict[str, int]
    titles: list[str] | None = None  # per row: BM25 indexes the title too, so the revision covers it
    # Built from a store that was being written: served from memory, never saved.
    provisional: bool = False
    built_at: float = 0.0

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, records: Iterable[tuple[str, str, str]], revision: str) -> "LexicalIndex":
        """Index ``(chunk_id, title, text)`` triples.

        ``records`` may be a generator: each text is tokenized and dropped, so
        building never holds the corpus's text in memory, only its terms.
        """
        bm25s = _bm25s()
        ids: list[str] = []
        titles: list[str] = []
        tokens: list[list[str]] = []
        doc_freq: dict[str, int] = {}
        for cid, title, text in records:
            ids.append(cid)
            titles.append(sys.intern(title))  # one copy per document, not per chunk
            toks = [sys.intern(t) for t in tokenize(index_text(title, text))]
            tokens.append(toks)
            for term in set(toks):
                doc_freq[term] = doc_freq.get(term, 0) + 1
        bm25 = None
        if ids:
            # k1 and b tuned on SQuAD dev (BENCHMARKS.md); lower than the usual
            # 1.2/0.75 because chunks are short and of similar length.
            bm25 = bm25s.BM25(k1=0.9, b=0.6, method="lucene")
            bm25.index(tokens, show_progress=False)
        return cls(ids=ids, revision=revision, _bm25=bm25, doc_freq=doc_freq, titles=titles)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed chunk for ``query`` (zeros if no term matches)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = [t for t in tokenize(query) if t in self.doc_freq]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)  # type: ignore[attr-defined]

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top ``k`` ``(chunk_id, score)`` with a positive score, best first."""
        scores = self.scores(query)
        if scores.size == 0:
            return []
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms get the maximum."""
        n = max(self.size, 1)
        df = self.doc_freq.get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    # --- persistence ------------------------------------------------------------
    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"))  # type: ignore[attr-defined]
        meta = {"format": _FORMAT, "revision": self.revision, "ids": self.ids, "titles": self.titles,
                "doc_freq": self.doc_freq}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        # Swap in the finished folder so a reader never sees half an index.
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        """The saved index, or None when absent, from another format, or unreadable."""
        bm25s = _bm25s()
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != _FORMAT:
                return None
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if meta["ids"] else None
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index at %s unusable (%s); rebuilding", folder, exc)
            return None
        return cls(ids=meta["ids"], revision=meta["revision"], _bm25=bm25, doc_freq=meta["doc_freq"],
                   titles=meta.get("titles"))


_cache: dict[str, LexicalIndex] = {}
_lock = threading.Lock()
_PROVISIONAL_SECONDS = 5.0  # how long an index of a store being written is reused


def _folder(store: ChunkStore) -> Path:
    s = store.settings
    where = f"{s.chroma_host}-{s.chroma_port}" if s.chroma_host else "local"
    # Keyed by the physical collection: a rebuild's new collection gets its own index.
    return s.data_dir / "lexical" / f"{where}-{store.physical}"


def verified(index: LexicalIndex, revision: str) -> bool:
    """True when ``index`` holds exactly the chunks of a store at ``revision``."""
    value = revision.split(":", 1)[1] if ":" in revision else revision
    return (value.startswith("ids:") and index.revision == revision and index.titles is not None
            and ids_digest(index.ids, index.titles) == value)


def lexical_index(store: ChunkStore) -> LexicalIndex:
    """The BM25 index of the store's current contents, loading or rebuilding it."""
    revision = store.revision
    value = revision.split(":", 1)[1] if ":" in revision else revision
    folder = _folder(store)
    key = str(folder)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.revision == revision:
            if not cached.provisional:
                return cached
            # A store being written: rebuild at most every few seconds, or
            # when the chunk count shows it changed.
            if time.monotonic() - cached.built_at < _PROVISIONAL_SECONDS or store.count() == cached.size:
                return cached
        index = LexicalIndex.load(folder)
        if index is not None and (verified(index, revision) or (
                index.revision == revision and not value.startswith(("ids:", "writing:", "unknown:")))):
            _cache[key] = index
            return index
        records = (
            (cid, str(meta.get("title", "")), text or "")
            for cid, text, meta in store.iter_records(include_documents=True)
        )
        index = LexicalIndex.build(records, revision)
        index.built_at = time.monotonic()
        if value.startswith("ids:"):
            complete = verified(index, revision)
        else:
            # Stores from before verifiable revisions: trust a revision that
            # did not change while the records were read, unless mid-write.
            complete = not value.startswith(("writing:", "unknown:")) and store.revision == revision
        index.provisional = not complete
        if complete:
            try:
                index.save(folder)
            except OSError as exc:  # a read-only data dir still answers, from memory
                log.warning("cannot save the lexical index to %s: %s", folder, exc)
        _cache[key] = index
        return index


def prune(store: ChunkStore) -> None:
    """Drop saved indexes of collections a rebuild replaced (same logical name, other physical one)."""
    import re

    current = _folder(store)
    s = store.settings
    where = f"{s.chroma_host}-{s.chroma_port}" if s.chroma_host else "local"
    pattern = re.compile(rf"^{re.escape(where)}-{re.escape(s.collection)}(-g[0-9a-f]{{8}})?(\.tmp|\.old)?$")
    for folder in current.parent.glob(f"{where}-{s.collection}*"):
        if folder != current and pattern.match(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
