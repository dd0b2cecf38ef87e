"""Hybrid retrieval: dense vectors from Chroma plus BM25, fused and de-duplicated.

Every candidate keeps its dense and lexical score and rank next to the fused
one, so the UI's inspector and the evals can show why a passage came first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .config import Settings
from .documents import Chunk
from .embeddings import Embedder
from .lexical import LexicalIndex, index_text, lexical_index
from .store import ChunkStore
from .text import content_terms

__all__ = ["DEFAULT_TOP_K", "Candidate", "Retrieval", "Retriever", "first_passages", "fuse"]

DEFAULT_TOP_K = 5  # passages per query when neither the caller nor the settings say


@dataclass
class Candidate:
    """One retrieved chunk with the evidence from every stage."""

    chunk: Chunk
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    fused_score: float = 0.0
    rank: int = 0
    duplicate_of: str | None = None  # id of the better candidate it was collapsed into

    def to_dict(self) -> dict:
        return {
            "chunk_id": self.chunk.id,
            "source": self.chunk.source,
            "title": self.chunk.title,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "page": self.chunk.page,
            "dense_score": self.dense_score,
            "dense_rank": self.dense_rank,
            "lexical_score": self.lexical_score,
            "lexical_rank": self.lexical_rank,
            "fused_score": self.fused_score,
            "rank": self.rank,
            "duplicate_of": self.duplicate_of,
        }


@dataclass
class Retrieval:
    """The outcome of one query."""

    query: str
    passages: list[Candidate]
    candidates: list[Candidate]
    timings: dict[str, float] = field(default_factory=dict)
    query_coverage: float = 0.0  # IDF share of the query's terms found in the passages
    vector: np.ndarray | None = field(default=None, repr=False)  # the query's embedding, reused downstream

    @property
    def top_dense(self) -> float:
        scores = [c.dense_score for c in self.passages if c.dense_score is not None]
        return max(scores, default=0.0)


def _minmax(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-9:
        return {k: 1.0 for k in values}
    return {k: (v - lo) / (hi - lo) for k, v in values.items()}


def fuse(
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    method: str = "weighted",
    dense_weight: float = 0.5,
    rrf_k: int = 60,
) -> dict[str, float]:
    """Fused score per chunk id from two ranked lists (best first).

    ``rrf``: reciprocal rank fusion, sum of ``1 / (rrf_k + rank)``.
    ``weighted``: min-max normalised scores, ``w * dense + (1 - w) * lexical``;
    a chunk missing from one list gets 0 for that list.
    """
    if method == "rrf":
        fused: dict[str, float] = {}
        for weight, ranked in ((dense_weight, dense), (1.0 - dense_weight, lexical)):
            for rank, (cid, _) in enumerate(ranked, start=1):
                fused[cid] = fused.get(cid, 0.0) + 2 * weight / (rrf_k + rank)
        return fused
    d = _minmax(dict(dense))
    lx = _minmax(dict(lexical))
    return {
        cid: dense_weight * d.get(cid, 0.0) + (1.0 - dense_weight) * lx.get(cid, 0.0)
        for cid in set(d) | set(lx)
    }


def _overlaps(a: Chunk, b: Chunk) -> bool:
    """Two windows of one document that share most of the shorter one's text.

    Consecutive chunks share only their ``chunk_overlap`` margin: the next chunk
    is mostly new text (where "Step 1: ..." follows the heading that ranked
    first), so it stays a passage of its own.
    """
    shared = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    # Three quarters: a short last chunk (its margin and a few lines of new text) and
    # small chunks whose margin is capped at half their size both stay.
    return a.source == b.source and shared > 0 and shared > 0.75 * shorter


def _collapse(ordered: list[Candidate], k: int) -> list[Candidate]:
    """The best ``k`` candidates with overlapping or near-identical chunks removed.

    Windows of one document that mostly overlap, or the same text in two files,
    would waste prompt space and double-count evidence.
    """
    passages: list[Candidate] = []
    terms: dict[str, set[str]] = {}
    for cand in ordered:
        if len(passages) >= k:
            break
        mine = terms.setdefault(cand.chunk.id, set(content_terms(cand.chunk.text)))
        for kept in passages:
            theirs = terms[kept.chunk.id]
            same_text = (
                len(mine & theirs) / len(mine | theirs) >= 0.9
                if mine and theirs
                else cand.chunk.text.strip() == kept.chunk.text.strip()
            )
            if _overlaps(kept.chunk, cand.chunk) or same_text:
                cand.duplicate_of = kept.chunk.id
                break
        else:
            passages.append(cand)
    return passages


class Retriever:
    """Runs both searches, fuses them and collapses overlapping chunks."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._lexical: LexicalIndex | None = None

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index as of the latest query.

        Checking it against the store costs a round trip to Chroma, so that
        happens once per :meth:`retrieve`; scoring the answer to that query
        (IDF lookups for every claim term) reuses it.
        """
        if self._lexical is None:
            self._lexical = lexical_index(self.store)
        return self._lexical

    def retrieve(self, query: str, k: int | None = None, vector: np.ndarray | None = None) -> Retrieval:
        """The top ``k`` passages for ``query`` (``vector``: its embedding, if already computed)."""
        k = k or self.settings.top_k or DEFAULT_TOP_K
        pool = max(self.settings.candidates, k)
        timings: dict[str, float] = {}

        if vector is None:
            t0 = time.perf_counter()
            vector = self.embedder.embed_query(query)
            timings["embed"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        dense_hits = self.store.query(vector, pool)
        timings["dense"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        lexical = self._lexical = lexical_index(self.store)  # picks up another process's ingest
        lexical_hits = lexical.search(query, pool)
        timings["lexical"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        chunks = {c.id: c for c, _ in dense_hits}
        missing = [cid for cid, _ in lexical_hits if cid not in chunks]
        for chunk in self.store.get_chunks(missing):
            chunks[chunk.id] = chunk
        dense = [(c.id, s) for c, s in dense_hits]
        fused = fuse(
            dense,
            [(cid, s) for cid, s in lexical_hits if cid in chunks],
            self.settings.fusion,
            self.settings.dense_weight,
            self.settings.rrf_k,
        )
        candidates = {cid: Candidate(chunk=chunks[cid], fused_score=score) for cid, score in fused.items()}
        for rank, (cid, score) in enumerate(dense, start=1):
            candidates[cid].dense_score, candidates[cid].dense_rank = score, rank
        for rank, (cid, score) in enumerate(lexical_hits, start=1):
            if cid in candidates:
                candidates[cid].lexical_score, candidates[cid].lexical_rank = score, rank
        ordered = sorted(candidates.values(), key=lambda c: (-c.fused_score, c.chunk.id))
        for rank, cand in enumerate(ordered, start=1):
            cand.rank = rank
        passages = _collapse(ordered, k)
        timings["fuse"] = time.perf_counter() - t0
        return Retrieval(
            query=query,
            passages=passages,
            candidates=ordered,
            timings=timings,
            query_coverage=query_coverage(query, passages, lexical),
            vector=vector,
        )


def first_passages(retrieval: Retrieval, k: int, lexical: LexicalIndex) -> Retrieval:
    """The same retrieval cut to its first ``k`` passages (their query coverage recomputed)."""
    if len(retrieval.passages) <= k:
        return retrieval
    head = retrieval.passages[:k]
    return replace(retrieval, passages=head, query_coverage=query_coverage(retrieval.query, head, lexical))


def query_coverage(query: str, passages: list[Candidate], lexical: LexicalIndex) -> float:
    """Share of the query's IDF mass whose terms occur in the retrieved passages.

    Only terms the corpus knows count: a word it never uses is not "the rarest
    word" (a typo, a synonym, a phrasing the corpus does not share would
    otherwise sink an answerable question before any model saw it); the share
    of such words is a separate answerability signal (``unseen``). This is the
    same quantity the answerability model is trained on (``coverage``).
    """
    terms = {t for t in content_terms(query) if lexical.doc_freq.get(t, 0) > 0}
    if not terms:
        return 0.0
    present: set[str] = set()
    for p in passages:
        present.update(content_terms(index_text(p.chunk.title, p.chunk.text)))
    weights = {t: lexical.idf(t) for t in terms}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return float(sum(w for t, w in weights.items() if t in present) / total)
