"""Answering speed and memory: time to first token, tokens/s, cold and warm `rag ask`."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from rag.answer import Answerer
from rag.config import Settings

from .tables import two_columns

__all__ = ["AnswerBench", "QUESTIONS", "format_answer_bench", "run_answer_bench"]

QUESTIONS = [
    "Which course did Karpathy design at Stanford?",
    "What did Karpathy say about Tesla and Waymo?",
    "What is Software 2.0?",
    "Why does a demo take a decade to become a product?",
    "What is the data engine?",
    "What did Karpathy work on at OpenAI?",
]


@dataclass
class AnswerBench:
    model: str
    questions: int
    first_token_p50_s: float
    first_token_p95_s: float
    tokens_per_s: float
    warm_total_p50_s: float
    cold_ask_s: float
    serving_peak_rss_mb: float


def _cold_ask(settings: Settings, question: str) -> float:
    """Wall time of a fresh `python -m rag ask` process: imports, model loads, answer."""
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir), "RAG_LLM": settings.llm}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag", "ask", question], env=env, capture_output=True, timeout=600, check=False)
    return time.perf_counter() - t0


def run_answer_bench(settings: Settings, rounds: int = 2) -> AnswerBench:
    """Warm figures from one process asking each question ``rounds`` times; cold start
    and peak RSS from a fresh `rag ask` process (both models loaded, one answer)."""
    from ingest import ingest

    ingest(None, settings, progress=False)
    answerer = Answerer(settings)
    answerer.ask(QUESTIONS[0])  # load both models before timing
    first, totals, rates = [], [], []
    for _ in range(rounds):
        for question in QUESTIONS:
            answer = answerer.ask(question)
            if "first_token" in answer.timings:
                first.append(answer.timings["first_token"])
            totals.append(answer.timings["total"])
            gen = answer.timings.get("generation", 0.0) - answer.timings.get("first_token", 0.0)
            if answer.tokens_generated > 1 and gen > 0:
                rates.append((answer.tokens_generated - 1) / gen)
    cold_s = _cold_ask(settings, QUESTIONS[1])
    # The child `rag ask` loads both models and answers, as a serving process does;
    # this process's own peak would include whatever the other benchmarks built.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return AnswerBench(
        model=answerer.llm.name,
        questions=len(totals),
        first_token_p50_s=round(float(np.percentile(first, 50)), 3) if first else 0.0,
        first_token_p95_s=round(float(np.percentile(first, 95)), 3) if first else 0.0,
        tokens_per_s=round(float(np.median(rates)), 1) if rates else 0.0,
        warm_total_p50_s=round(float(np.percentile(totals, 50)), 3),
        cold_ask_s=round(cold_s, 2),
        serving_peak_rss_mb=round(rss, 1),
    )


def format_answer_bench(result: AnswerBench) -> str:
    rows = [
        ("model", result.model),
        ("questions asked (warm)", str(result.questions)),
        ("time to first token p50 / p95", f"{result.first_token_p50_s:.2f} s / {result.first_token_p95_s:.2f} s  (target p50 <= 2 s)"),
        ("generation speed", f"{result.tokens_per_s:.1f} tokens/s"),
        ("warm answer p50 (retrieve, generate, check)", f"{result.warm_total_p50_s:.2f} s"),
        ("cold `rag ask` (new process)", f"{result.cold_ask_s:.2f} s"),
        ("peak RSS of a `rag ask` process (both models)", f"{result.serving_peak_rss_mb:.0f} MB  (target <= 1,536 MB)"),
    ]
    return two_columns(rows)
