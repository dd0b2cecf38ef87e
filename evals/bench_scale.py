"""Retrieval latency as the corpus grows: about 2k, 20k and 100k chunks.

Embedding 100k chunks would take most of an hour on 2 cores, so the larger
stores are built from real SQuAD chunk texts (cycled, each copy tagged so BM25
sees distinct documents) with **synthetic dense vectors**: the real vector of
the source chunk plus Gaussian noise, re-normalised. BM25 is built on the real
texts and questions are embedded for real, so every stage does its true
amount of work; only the dense vectors of the copies are made up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.documents import Chunk
from rag.embeddings import get_embedder
from rag.lexical import lexical_index
from rag.retrieval import Retriever
from rag.store import open_store

from .bench_retrieval import prepare_squad

__all__ = ["ScaleBench", "format_scale_bench", "plot_scale", "run_scale_bench"]

STAGES = ("embed", "dense", "lexical", "fuse", "total")


@dataclass
class ScaleBench:
    sizes: list[int]
    synthetic_from: int  # stores above this many chunks use synthetic dense vectors
    build_seconds: dict[int, float] = field(default_factory=dict)
    p50_ms: dict[int, dict[str, float]] = field(default_factory=dict)
    p95_ms: dict[int, dict[str, float]] = field(default_factory=dict)


def _copies(base: list[tuple[Chunk, np.ndarray]], size: int, rng: np.random.Generator):  # noqa: ANN202
    """``size`` chunks cycling over ``base``; copies get noisy vectors and a tagged text."""
    out_chunks: list[Chunk] = []
    out_vectors: list[np.ndarray] = []
    for i in range(size):
        chunk, vec = base[i % len(base)]
        copy = i // len(base)
        if copy == 0:
            out_chunks.append(chunk)
            out_vectors.append(vec)
            continue
        # sigma 0.07 per dimension: the copy keeps a cosine of about 0.6 to its source.
        noisy = vec + rng.normal(0, 0.07, len(vec)).astype(np.float32)
        out_vectors.append(noisy / np.linalg.norm(noisy))
        text = f"{chunk.text} (copy {copy})"
        out_chunks.append(Chunk(f"{chunk.id}-c{copy}", f"{chunk.source}#copy{copy}", chunk.title, 0, 0,
                                len(text), text, "synthetic", 1))
    return out_chunks, np.asarray(out_vectors, dtype=np.float32)


def run_scale_bench(
    settings: Settings,
    squad_path: Path | None = None,
    sizes: tuple[int, ...] = (2_000, 20_000, 100_000),
    queries: int = 200,
    progress: bool = True,
    limit_paragraphs: int | None = None,
) -> ScaleBench:
    from tqdm.auto import tqdm

    bench, _, questions = prepare_squad(settings, squad_path, limit_paragraphs, None, progress)
    source = open_store(bench)
    records = list(source.iter_records(include_documents=True))
    got = source._collection.get(ids=[r[0] for r in records], include=["embeddings"])  # noqa: SLF001
    vectors = dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
    base = [(Chunk.from_record(cid, text or "", meta), vectors[cid]) for cid, text, meta in records]
    rng = np.random.default_rng(0)
    sample = questions[:: max(1, len(questions) // queries)][:queries]
    embedder = get_embedder(bench)
    result = ScaleBench(sizes=list(sizes), synthetic_from=len(base))
    for size in sizes:
        scaled = bench.model_copy(update={"data_dir": bench.data_dir.parent / f"scale-{size}", "collection": f"scale{size}"})
        t0 = time.perf_counter()
        store = open_store(scaled, create=True, rebuild=True)
        chunks, vecs = _copies(base, size, rng)
        store.stamp(embedder.name, vecs.shape[1])
        for i in tqdm(range(0, size, 5000), desc=f"building {size:,}", disable=not progress):
            store.write(chunks[i : i + 5000], vecs[i : i + 5000])
        lexical_index(store)
        result.build_seconds[size] = round(time.perf_counter() - t0, 1)
        retriever = Retriever(scaled, store, embedder)
        retriever.retrieve(sample[0].question)  # warm caches
        timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for q in tqdm(sample, desc=f"queries at {size:,}", disable=not progress):
            t0 = time.perf_counter()
            r = retriever.retrieve(q.question)
            timings["total"].append(time.perf_counter() - t0)
            for stage in ("embed", "dense", "lexical", "fuse"):
                timings[stage].append(r.timings.get(stage, 0.0))
        result.p50_ms[size] = {k: round(1000 * float(np.percentile(v, 50)), 2) for k, v in timings.items()}
        result.p95_ms[size] = {k: round(1000 * float(np.percentile(v, 95)), 2) for k, v in timings.items()}
    return result


def format_scale_bench(result: ScaleBench) -> str:
    lines = [f"latency of a full hybrid query (ms, p50 / p95); stores above {result.synthetic_from:,} chunks "
             "use synthetic dense vectors (real texts, real BM25, real question embeddings)",
             f"{'chunks':>8}  {'build s':>8}  " + "  ".join(f"{s:>15}" for s in STAGES)]
    for size in result.sizes:
        cells = "  ".join(f"{result.p50_ms[size][s]:>7.1f} / {result.p95_ms[size][s]:<5.1f}" for s in STAGES)
        lines.append(f"{size:>8,}  {result.build_seconds[size]:>8.1f}  {cells}")
    lines.append("target: total p50 <= 50 ms at 100k chunks")
    return "\n".join(lines)


def plot_scale(result: ScaleBench, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for stage in STAGES:
        ax.loglog(result.sizes, [result.p50_ms[s][stage] for s in result.sizes], marker="o", label=stage)
    ax.set_xlabel("chunks in the store")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("hybrid query latency by stage")
    ax.legend()
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench_scale.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
