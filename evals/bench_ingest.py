"""Ingest benchmark: the whole pipeline against a bare ``SentenceTransformer.encode``.

Embedding is the physical limit of ingest on a CPU; everything else (reading,
chunking, hashing, the store) should be nearly free. The benchmark ingests the
SQuAD dev paragraphs, then encodes exactly the chunk texts that ingest wrote
with the bare model in the same process, and reports the ratio.
"""

from __future__ import annotations

import platform
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings, load_settings
from rag.embeddings import get_embedder
from rag.store import open_store

from .squad import load_squad, write_paragraph_files
from .tables import two_columns

__all__ = ["IngestBench", "run_ingest_bench", "environment"]


@dataclass
class IngestBench:
    paragraphs: int
    chunks: int
    model_load_s: float
    ingest_s: float
    chunks_per_s: float
    bare_encode_s: float
    ratio_to_bare_encode: float
    reingest_s: float
    reingest_share: float
    peak_rss_mb_after_ingest: float


def environment() -> dict[str, Any]:
    """Machine and library versions printed beside every figure."""
    import os

    import chromadb
    import sentence_transformers
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "chromadb": chromadb.__version__,
        "platform": platform.platform(),
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_ingest_bench(
    squad_path: Path | None = None,
    limit: int | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> IngestBench:
    paragraphs, _ = load_squad(squad_path)
    if limit:
        paragraphs = paragraphs[:limit]
    from ingest import ingest

    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "squad"
        write_paragraph_files(paragraphs, corpus)
        base = settings or load_settings()
        settings = base.model_copy(update={"data_dir": root / "data", "chroma_path": None, "chroma_host": None})

        t0 = time.perf_counter()
        embedder = get_embedder(settings)
        embedder.embed_batch(["warm up the model once"])
        model_load = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = ingest([corpus], settings, progress=progress)
        ingest_s = time.perf_counter() - t0
        rss = _peak_rss_mb()

        t0 = time.perf_counter()
        again = ingest([corpus], settings, progress=False)
        reingest_s = time.perf_counter() - t0
        assert again.chunks_written == 0, "re-ingest of an unchanged corpus wrote chunks"

        texts = [text or "" for _, text, _ in open_store(settings).iter_records(include_documents=True)]
        model = getattr(embedder, "model", None)
        t0 = time.perf_counter()
        if model is not None:
            model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True)
        else:
            embedder.embed_batch(texts)
        bare = time.perf_counter() - t0

    return IngestBench(
        paragraphs=len(paragraphs),
        chunks=report.chunks_written,
        model_load_s=round(model_load, 3),
        ingest_s=round(ingest_s, 3),
        chunks_per_s=round(report.chunks_written / ingest_s, 1),
        bare_encode_s=round(bare, 3),
        ratio_to_bare_encode=round(ingest_s / bare, 3),
        reingest_s=round(reingest_s, 3),
        reingest_share=round(reingest_s / ingest_s, 4),
        peak_rss_mb_after_ingest=round(rss, 1),
    )


def format_ingest_bench(result: IngestBench) -> str:
    rows = [
        ("paragraphs ingested", f"{result.paragraphs}"),
        ("chunks written", f"{result.chunks}"),
        ("model load (excluded)", f"{result.model_load_s:.2f} s"),
        ("whole ingest", f"{result.ingest_s:.2f} s  ({result.chunks_per_s:.1f} chunks/s)"),
        ("bare encode, same texts", f"{result.bare_encode_s:.2f} s"),
        ("ingest / bare encode", f"{result.ratio_to_bare_encode:.3f}  (target <= 1.15)"),
        ("re-ingest unchanged", f"{result.reingest_s:.2f} s = {100 * result.reingest_share:.2f}% of first  (target <= 3%)"),
        ("peak RSS after ingest", f"{result.peak_rss_mb_after_ingest:.0f} MB"),
    ]
    return two_columns(rows)
