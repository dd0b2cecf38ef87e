"""Peak memory of an ingest of a large folder of text: bounded, not proportional to the corpus.

    python -m evals.bench_memory --mb 500            # the fake embedder: the pipeline's own footprint
    python -m evals.bench_memory --mb 20 --embedder sentence-transformers
    python -m evals.bench_memory --mb 500 --chroma-server   # the store in its own process

Writes ``--mb`` megabytes of text as 1 MB files (the seed articles, each copy
made unique so nothing deduplicates), runs ``rag ingest`` on them as a
subprocess, samples its RSS every 0.2 s and reports the peak, with the
throughput. With ``--chroma-server`` the store runs in a ``chroma run``
process of its own, so the ingest's RSS is the pipeline alone (with the
embedded store, Chroma's in-process index grows with the corpus).
Results go to ``evals/results/memory[-server].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.config import PROJECT_ROOT

__all__ = ["main", "make_corpus"]


def make_corpus(folder: Path, megabytes: int, file_mb: float = 1.0) -> int:
    """``megabytes`` of text in files of ``file_mb``; returns the number of files."""
    seeds = [p.read_text(encoding="utf-8") for p in sorted((PROJECT_ROOT / "seeds").iterdir())]
    base = "\n\n".join(seeds)
    folder.mkdir(parents=True, exist_ok=True)
    target = int(file_mb * 1e6)
    n = 0
    written = 0
    while written < megabytes * 1e6:
        parts = []
        size = 0
        copy = 0
        while size < target:
            # A unique token per paragraph copy: every chunk is new content.
            block = base.replace("\n\n", f" (copy f{n}c{copy}).\n\n")
            parts.append(block)
            size += len(block)
            copy += 1
        text = "".join(parts)[:target]
        (folder / f"part-{n:05d}.txt").write_text(text, encoding="utf-8")
        written += len(text)
        n += 1
    return n


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--embedder", default="fake")
    parser.add_argument("--chroma-server", action="store_true", help="run the store as a separate `chroma run`")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="rag-mem-"))
    server = None
    try:
        t0 = time.perf_counter()
        files = make_corpus(scratch / "corpus", args.mb)
        print(f"wrote {files} files ({args.mb} MB) in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        env = {**os.environ, "RAG_DATA_DIR": str(scratch / "data"), "RAG_EMBEDDER": args.embedder}
        if args.chroma_server:
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
            server = subprocess.Popen([chroma, "run", "--path", str(scratch / "chroma"), "--host", "127.0.0.1",
                                       "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(120):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            env.update({"RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(port)})
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(scratch / "corpus"), "--no-progress"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = server_peak = 0
        last_report = t0
        while proc.poll() is None:
            peak = max(peak, _rss(proc.pid))
            if server is not None:
                server_peak = max(server_peak, _rss(server.pid))
            time.sleep(0.2)
            if time.perf_counter() - last_report > 60:
                last_report = time.perf_counter()
                print(f"  {last_report - t0:.0f}s, peak RSS so far {peak / 1e6:.0f} MB", file=sys.stderr)
        out, err = proc.communicate()
        seconds = time.perf_counter() - t0
        result = {
            "corpus_mb": args.mb,
            "files": files,
            "embedder": args.embedder,
            "exit": proc.returncode,
            "summary": out.strip().splitlines()[-1] if out.strip() else err.strip()[-300:],
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(peak / 1e6),
            "store": "chroma server" if server is not None else "embedded",
            "chroma_server_peak_rss_mb": round(server_peak / 1e6) if server is not None else None,
            "mb_per_s": round(args.mb / seconds, 2),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    out_path = PROJECT_ROOT / "evals" / "results" / ("memory-server.json" if args.chroma_server else "memory.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
