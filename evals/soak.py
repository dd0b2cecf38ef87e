"""Soak the web chat through Gradio's client API: concurrent conversations, random disconnects.

    python -m evals.soak                       # one `rag serve` on the embedded defaults
    python -m evals.soak --replicas 2 --rebuild  # two replicas on one `chroma run`, a rebuild mid-soak

Starts the servers itself (in a scratch folder), runs ``--conversations``
threads asking ``--questions`` questions in total, abandons a share of them
mid-answer (``--disconnect``), and reports hangs, errors, latency percentiles
and the servers' peak RSS. Results go to ``evals/results/soak*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import PROJECT_ROOT

__all__ = ["main", "soak"]

QUESTIONS = [
    "Which course did Karpathy design at Stanford?",
    "What did Karpathy say about Tesla and Waymo?",
    "What is Software 2.0?",
    "Why does a demo take a decade to become a product?",
    "Who supervised Karpathy's doctoral work?",
    "What is the capital of Australia?",
    "When did Karpathy leave Tesla?",
    "What does Karpathy recommend students study?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"server on port {port} did not start") from None
            time.sleep(0.5)


def _rss_tree(pid: int) -> int:
    """Resident memory of a process and its children, in bytes (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def soak(ports: list[int], conversations: int, questions: int, disconnect: float, seed: int = 0) -> dict[str, Any]:
    from gradio_client import Client

    rng = random.Random(seed)
    plan = [(i % conversations, QUESTIONS[i % len(QUESTIONS)], rng.random() < disconnect) for i in range(questions)]
    latencies: list[float] = []
    errors: list[str] = []
    hangs = 0
    abandoned = 0
    lock = threading.Lock()

    def conversation(c: int) -> None:
        nonlocal hangs, abandoned
        port = ports[c % len(ports)]
        history: list = []
        for owner, question, leave in plan:
            if owner != c:
                continue
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            t0 = time.perf_counter()
            job = client.submit(question, history, 5, 0.0, api_name="/respond")
            if leave:
                time.sleep(rng.uniform(0.2, 2.0))
                try:
                    job.cancel()
                except Exception:  # noqa: BLE001 - a busy server may not confirm; the client leaves anyway
                    pass
                client.close()
                with lock:
                    abandoned += 1
                continue
            try:
                result = job.result(timeout=300)
            except TimeoutError:
                with lock:
                    hangs += 1
                continue
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                with lock:
                    errors.append(f"{question}: {exc!r}"[:200])
                continue
            history = result[0]
            last = history[-1]["content"] if isinstance(history[-1], dict) else str(history[-1])
            with lock:
                latencies.append(time.perf_counter() - t0)
                if any(s in str(last) for s in ("Error", "Searching", "Checking")):
                    errors.append(f"{question}: {str(last)[:120]}")
            client.close()

    threads = [threading.Thread(target=conversation, args=(c,)) for c in range(conversations)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=3600)
    return {
        "questions": questions,
        "conversations": conversations,
        "answered": len(latencies),
        "abandoned_mid_answer": abandoned,
        "hangs": hangs + sum(t.is_alive() for t in threads),
        "errors": errors,
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 2) if latencies else None,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--disconnect", type=float, default=0.1, help="share of questions abandoned mid-answer")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="run `rag ingest --rebuild` during the soak")
    parser.add_argument("--answer-style", default=None, help="e.g. generative, to load the local LLM")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="rag-soak-"))
    procs: list[subprocess.Popen] = []
    env = dict(os.environ)
    if args.answer_style:
        env["RAG_ANSWER_STYLE"] = args.answer_style
    try:
        if args.replicas > 1 or args.rebuild:
            chroma_port = _free_port()
            chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
            cproc = subprocess.Popen([chroma, "run", "--path", str(scratch / "chroma"), "--host", "127.0.0.1",
                                      "--port", str(chroma_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(cproc)
            _wait(chroma_port, cproc, 60)
            env.update({"RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(chroma_port)})
        ports = [_free_port() for _ in range(args.replicas)]
        servers = []
        for i, port in enumerate(ports):
            proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--data-dir", str(scratch / f"d{i}"),
                                     "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            procs.append(proc)
            servers.append(proc)
        for port, proc in zip(ports, servers):
            _wait(port, proc, 600)
        peak = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, sum(_rss_tree(p.pid) for p in servers))
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        rebuild = None
        rebuilt: dict[str, Any] = {}
        soak_started = time.perf_counter()
        if args.rebuild:
            def run_rebuild() -> None:
                time.sleep(15)
                t0 = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "rag", "ingest", "--rebuild", "--no-progress",
                                       "--data-dir", str(scratch / "d0")], env=env, capture_output=True, text=True)
                rebuilt.update({"exit": done.returncode, "summary": done.stdout.strip()[-200:],
                                "started_s": round(t0 - soak_started, 1),
                                "ended_s": round(time.perf_counter() - soak_started, 1)})
            rebuild = threading.Thread(target=run_rebuild)
            rebuild.start()
        result = soak(ports, args.conversations, args.questions, args.disconnect)
        if rebuild is not None:
            rebuild.join()
            result["rebuild"] = rebuilt
        stop.set()
        result.update({"replicas": args.replicas, "rebuild_during_soak": args.rebuild,
                       "answer_style": args.answer_style or "default",
                       "servers_peak_rss_mb": round(peak / 1e6)})
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    name = "soak" + (f"-{args.replicas}replicas" if args.replicas > 1 else "") + ("-rebuild" if args.rebuild else "")
    name += f"-{args.answer_style}" if args.answer_style else ""
    out = PROJECT_ROOT / "evals" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["hangs"] == 0 and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
