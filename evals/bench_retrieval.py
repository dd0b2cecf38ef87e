"""Retrieval benchmark on SQuAD v1.1 dev: question -> the paragraph that holds it.

The paragraphs are ingested (incrementally, so reruns are fast) into a store
of their own under ``DATA_DIR/bench/squad``, then every question goes through
the real :class:`~rag.retrieval.Retriever`. One run scores four rankings from
the same candidates: BM25 alone, dense alone, reciprocal rank fusion and the
configured fusion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.embeddings import get_embedder
from rag.retrieval import Candidate, Retriever, fuse
from rag.store import open_store

from .squad import SquadParagraph, SquadQuestion, load_squad, pid_of_source, write_paragraph_files

__all__ = ["RetrievalBench", "format_retrieval_bench", "prepare_squad", "run_retrieval_bench", "squad_settings"]

KS = (1, 3, 5, 10)


@dataclass
class RetrievalBench:
    paragraphs: int
    questions: int
    chunks: int
    settings: dict
    rankings: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)


def squad_settings(settings: Settings) -> Settings:
    """The same settings, pointed at the benchmark's own store."""
    return settings.model_copy(
        update={"data_dir": settings.data_dir / "bench" / "squad", "chroma_path": None, "collection": "squad"}
    )


def prepare_squad(
    settings: Settings,
    squad_path: Path | None = None,
    limit_paragraphs: int | None = None,
    limit_questions: int | None = None,
    progress: bool = True,
) -> tuple[Settings, list[SquadParagraph], list[SquadQuestion]]:
    """Ingest the SQuAD paragraphs into their own store (incrementally) and pick the questions.

    ``limit_questions`` spreads the sample over the whole set rather than
    taking the first articles only.
    """
    from ingest import ingest

    paragraphs, questions = load_squad(squad_path)
    if limit_paragraphs:
        paragraphs = paragraphs[:limit_paragraphs]
        keep = {p.pid for p in paragraphs}
        questions = [q for q in questions if q.pid in keep]
    if limit_questions:
        step = max(1, len(questions) // limit_questions)
        questions = questions[::step][:limit_questions]
    bench = squad_settings(settings)
    corpus = bench.data_dir / "corpus"
    write_paragraph_files(paragraphs, corpus)
    ingest([corpus], bench, progress=progress)
    return bench, paragraphs, questions


def _paragraph_ranking(ranked: list[Candidate]) -> list[str]:
    out: list[str] = []
    for cand in ranked:
        pid = pid_of_source(cand.chunk.source)
        if pid not in out:
            out.append(pid)
    return out


def _score(rankings: list[list[str]], gold: list[str]) -> dict[str, float]:
    hits = {k: 0 for k in KS}
    mrr = 0.0
    for ranking, want in zip(rankings, gold):
        if want in ranking[: max(KS)]:
            r = ranking.index(want) + 1
            mrr += 1.0 / r
            for k in KS:
                hits[k] += r <= k
    n = max(len(gold), 1)
    return {**{f"hit@{k}": round(hits[k] / n, 4) for k in KS}, "mrr@10": round(mrr / n, 4)}


def run_retrieval_bench(
    settings: Settings,
    squad_path: Path | None = None,
    limit_paragraphs: int | None = None,
    limit_questions: int | None = None,
    latency_queries: int = 300,
    progress: bool = True,
) -> RetrievalBench:
    from tqdm.auto import tqdm

    bench, paragraphs, questions = prepare_squad(settings, squad_path, limit_paragraphs, limit_questions, progress)
    embedder = get_embedder(bench)
    store = open_store(bench, embedder)
    retriever = Retriever(bench, store, embedder)
    retriever.lexical  # noqa: B018 - build or load the BM25 index outside the timings

    vectors = embedder.embed_batch([q.question for q in questions])
    depth = max(KS)
    names = ("bm25", "dense", "rrf", f"{bench.fusion} (default)")
    rankings: dict[str, list[list[str]]] = {name: [] for name in names}
    for q, vec in tqdm(list(zip(questions, vectors)), desc="questions", disable=not progress):
        result = retriever.retrieve(q.question, k=depth, vector=vec)
        cands = result.candidates
        by_dense = sorted((c for c in cands if c.dense_rank), key=lambda c: c.dense_rank)
        by_lex = sorted((c for c in cands if c.lexical_rank), key=lambda c: c.lexical_rank)
        rrf = fuse([(c.chunk.id, c.dense_score) for c in by_dense],
                   [(c.chunk.id, c.lexical_score) for c in by_lex], "rrf", 0.5, bench.rrf_k)
        by_rrf = sorted(cands, key=lambda c: -rrf.get(c.chunk.id, 0.0))
        rankings["bm25"].append(_paragraph_ranking(by_lex))
        rankings["dense"].append(_paragraph_ranking(by_dense))
        rankings["rrf"].append(_paragraph_ranking(by_rrf))
        rankings[names[3]].append(_paragraph_ranking(result.passages))

    gold = [q.pid for q in questions]
    # Latency of the full path, question embedding included, on a spread of questions.
    sample = questions[:: max(1, len(questions) // latency_queries)][:latency_queries]
    stages: dict[str, list[float]] = {"total": []}
    for q in sample:
        t0 = time.perf_counter()
        result = retriever.retrieve(q.question)
        stages["total"].append(time.perf_counter() - t0)
        for name, seconds in result.timings.items():
            stages.setdefault(name, []).append(seconds)
    latency = {}
    for name, values in stages.items():
        latency[f"{name}_p50"] = round(1000 * float(np.percentile(values, 50)), 2)
        latency[f"{name}_p95"] = round(1000 * float(np.percentile(values, 95)), 2)

    return RetrievalBench(
        paragraphs=len(paragraphs),
        questions=len(questions),
        chunks=store.count(),
        settings={k: getattr(bench, k) for k in ("fusion", "dense_weight", "candidates", "chunk_size", "chunk_overlap")},
        rankings={name: _score(r, gold) for name, r in rankings.items()},
        latency_ms=latency,
    )


def format_retrieval_bench(result: RetrievalBench) -> str:
    lines = [
        f"{result.questions} questions over {result.paragraphs} paragraphs ({result.chunks} chunks); "
        f"settings: {result.settings}",
        f"{'ranking':<22}" + "".join(f"{k:>9}" for k in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10")),
    ]
    for name, scores in result.rankings.items():
        lines.append(f"{name:<22}" + "".join(f"{scores[k]:>9.4f}" for k in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10")))
    lines.append("targets: hit@1 >= 0.80, hit@5 >= 0.96 (default fusion)")
    lat = result.latency_ms
    lines.append(
        "latency per query (ms): "
        + ", ".join(f"{stage} p50 {lat[f'{stage}_p50']:.1f} / p95 {lat[f'{stage}_p95']:.1f}"
                    for stage in ("total", "embed", "dense", "lexical", "fuse") if f"{stage}_p50" in lat)
    )
    return "\n".join(lines)
