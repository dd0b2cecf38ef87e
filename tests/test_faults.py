"""Faults and load on real processes: SIGKILLed ingests, a slow model server, a soak test."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest
from rag.answer import Answerer
from rag.config import load_settings
from rag.store import open_store
from tests.conftest import SEEDS
from tests.servers import free_port, running

pytestmark = pytest.mark.integration


def paragraph_corpus(folder: Path) -> Path:
    """The seed articles cut into one file per paragraph: many documents, many write batches."""
    folder.mkdir(parents=True)
    n = 0
    for seed in sorted(SEEDS.iterdir()):
        for para in re.split(r"\n\s*\n|\n(?=\S)", seed.read_text(encoding="utf-8")):
            if len(para.split()) >= 8:
                (folder / f"{seed.stem}-{n:03d}.txt").write_text(para, encoding="utf-8")
                n += 1
    return folder


def snapshot(settings) -> dict:  # noqa: ANN001
    return {cid: (m["source"], t) for cid, t, m in open_store(settings).iter_records(include_documents=True)}


def test_ingest_killed_at_random_points_is_repaired(tmp_path: Path) -> None:
    corpus = paragraph_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_EMBED_BATCH_SIZE": "4"}
    rng = random.Random(7)
    killed_mid_write = 0
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(corpus), "--no-progress"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 9.0))  # past start-up, somewhere inside the embedding and writing
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_write += 1
        proc.wait(timeout=60)
        if round_ == 1:  # a changed file between crashes must end up current too
            first = sorted(corpus.iterdir())[0]
            first.write_text(first.read_text(encoding="utf-8") + " An added closing sentence.", encoding="utf-8")
    assert killed_mid_write >= 2, "the kills should land while ingest is running"
    settings = load_settings(data_dir=data, embed_batch_size=4)
    ingest([corpus], settings, progress=False)
    clean = load_settings(data_dir=tmp_path / "clean", embed_batch_size=4)
    ingest([corpus], clean, progress=False)
    repaired, reference = snapshot(settings), snapshot(clean)
    assert len(repaired) == len(reference)
    assert repaired == reference


class _Slow(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        time.sleep(5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_slow_model_server_times_out_with_a_message(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d", embedder="fake", llm="openai", llm_timeout=1.0,
                             llm_model="x", min_dense_score=0.0, min_query_coverage=0.0)
    ingest([SEEDS], settings, progress=False)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow = settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{server.server_port}/v1"})
        t0 = time.perf_counter()
        answer = Answerer(slow).ask("Which course did Karpathy design at Stanford?")
        assert answer.mode == "error" and "did not answer within 1s" in answer.error
        assert answer.passages and time.perf_counter() - t0 < 15
    finally:
        server.shutdown()


def _soak(port: int, conversations: int, questions: int) -> list[float]:
    from gradio_client import Client

    asked = ["Which course did Karpathy design at Stanford?", "and when did he leave?",
             "What did Karpathy say about Tesla and Waymo?", "What is Software 2.0?",
             "What is the capital of Australia?"]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def conversation(c: int) -> None:
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            history: list = []
            for i in range(questions):
                t0 = time.perf_counter()
                result = client.predict(asked[(c + i) % len(asked)], history, 5, 0.0, api_name="/respond")
                history = result[0]
                last = history[-1]["content"] if isinstance(history[-1], dict) else str(history[-1])
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if "Searching" in str(last) or "Drafting" in str(last) or len(history) != 2 * (i + 1):
                        errors.append(f"conversation {c} question {i}: {str(last)[:80]}")
        except Exception as exc:  # noqa: BLE001 - every failure is a finding here
            with lock:
                errors.append(f"conversation {c}: {exc!r}")

    threads = [threading.Thread(target=conversation, args=(c,)) for c in range(conversations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert errors == []
    return latencies


def test_soak_twenty_conversations_fake_backend(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest([SEEDS], load_settings(data_dir=data, embedder="fake"), progress=False)
    port = free_port()
    command = [sys.executable, "-m", "rag", "serve", "--data-dir", str(data), "--port", str(port),
               "--embedder", "fake", "--llm", "fake"]
    with running(command, port, data / "serve.log"):
        latencies = _soak(port, conversations=20, questions=10)
    assert len(latencies) == 200
    print(f"\nsoak (fake backend): 200 questions, 20 conversations, "
          f"p50 {np.percentile(latencies, 50):.2f}s p95 {np.percentile(latencies, 95):.2f}s")


def test_four_conversations_on_the_embedded_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    with running([sys.executable, "-m", "rag", "serve", "--data-dir", str(data), "--port", str(port)],
                 port, data / "serve.log", timeout=240):
        latencies = _soak(port, conversations=4, questions=2)
    assert len(latencies) == 8
    print(f"\nembedded model: 8 questions, 4 conversations, p95 {np.percentile(latencies, 95):.2f}s")
