"""Several users, several processes, one store: through the paths users take.

Real processes throughout: ``rag serve`` driven by ``gradio_client``,
``rag ingest`` as a subprocess, and a real ``chroma run`` server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.embeddings import get_embedder
from rag.lexical import lexical_index
from rag.retrieval import Retriever
from rag.store import open_store
from tests.conftest import SEEDS
from tests.servers import free_port, running

pytestmark = pytest.mark.integration

CHROMA = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")


def _rag(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag", *args]


@contextmanager
def chroma_server(path: Path, port: int | None = None) -> Iterator[int]:
    port = port or free_port()
    command = [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, path.parent / f"chroma-{port}.log", timeout=60):
        yield port


def paragraphs(folder: Path, tag: str = "") -> Path:
    """The seeds cut into one file per paragraph, each with a unique marker word."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for seed in sorted(SEEDS.iterdir()):
        for para in re.split(r"\n\s*\n", seed.read_text(encoding="utf-8")):
            if len(para.split()) >= 12:
                (folder / f"{seed.stem}-{n:03d}.txt").write_text(f"{para}\nMarker zq{tag}{n:03d}x.", encoding="utf-8")
                n += 1
    return folder


def ask(port: int, question: str, top_k: int = 4) -> str:
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    history = client.predict(question, [], top_k, 0.0, api_name="/respond")[0]
    last = history[-1]
    return str(last["content"] if isinstance(last, dict) else last)


def answered(text: str) -> bool:
    """An answer, quote or refusal: not an error, not a bubble stuck on a status line."""
    return "Error" not in text and "Searching" not in text and "Checking" not in text and bool(text.strip())


# --- the local model under the web chat ---------------------------------------------------
def test_concurrent_streams_on_the_local_model_with_a_client_that_leaves(tmp_path: Path) -> None:
    """Generative mode on the bundled model: four streaming clients, one disconnecting mid-answer."""
    from gradio_client import Client

    data = tmp_path / "data"
    port = free_port()
    serve = _rag("serve", "--data-dir", str(data), "--port", str(port))
    with running(serve, port, data / "serve.log", timeout=300, env={"RAG_ANSWER_STYLE": "generative"}):
        questions = ["Which course did Karpathy design at Stanford?", "What is Software 2.0?",
                     "What did Karpathy say about Tesla and Waymo?", "Why does a demo take a decade?"]
        results: dict[int, str] = {}
        errors: list[str] = []

        def one(i: int) -> None:
            try:
                results[i] = ask(port, questions[i])
            except Exception as exc:  # noqa: BLE001 - a finding
                errors.append(repr(exc))

        leaver = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = leaver.submit("Describe Karpathy's career in detail.", [], 5, 0.0, api_name="/respond")
        deadline = time.time() + 120
        while time.time() < deadline and len(job.outputs()) < 2:  # it has started answering
            time.sleep(0.2)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(questions))]
        for t in threads:  # the others queue behind it for the model
            t.start()
        time.sleep(1.0)
        try:
            job.cancel()  # the tab closes mid-answer
        except Exception:  # noqa: BLE001 - a busy server may not confirm; dropping the connection is the point
            pass
        leaver.close()
        for t in threads:
            t.join(timeout=600)
        assert errors == [] and not any(t.is_alive() for t in threads)
        assert all(answered(results[i]) for i in range(len(questions))), results
        assert answered(ask(port, "Which course did Karpathy design at Stanford?"))


# --- the lexical index during and after an ingest ---------------------------------------------
def test_bm25_finds_every_new_document_after_an_ingest_that_ran_under_queries(tmp_path: Path) -> None:
    with chroma_server(tmp_path / "server") as port:
        data = tmp_path / "data"
        env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_EMBEDDER": "fake", "RAG_CHROMA_HOST": "127.0.0.1",
               "RAG_CHROMA_PORT": str(port), "RAG_EMBED_BATCH_SIZE": "2"}
        subprocess.run(_rag("ingest", "--no-progress"), env=env, check=True, capture_output=True, timeout=300)
        settings = load_settings(data_dir=data, embedder="fake", chroma_host="127.0.0.1", chroma_port=port)
        retriever = Retriever(settings, open_store(settings, get_embedder(settings)), get_embedder(settings))
        corpus = paragraphs(tmp_path / "more")
        proc = subprocess.Popen(_rag("ingest", str(corpus), "--no-progress"), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        queries = 0
        while proc.poll() is None:  # query (and so rebuild BM25) all through the ingest
            retriever.retrieve("Karpathy Tesla marker", k=3)
            queries += 1
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        assert queries > 3
        index = lexical_index(retriever.store)
        stored = set(retriever.store.all_ids())
        assert set(index.ids) == stored
        for file in sorted(corpus.iterdir()):
            marker = re.search(r"zq\d+x", file.read_text(encoding="utf-8")).group(0)
            hits = [c.chunk.source for c in retriever.retrieve(marker, k=3).passages]
            assert f"more/{file.name}" in hits, marker
        # Another process (a fresh server) loads the saved index: complete too.
        fresh = subprocess.run(
            [sys.executable, "-c", ("from rag.config import load_settings; from rag.store import open_store; "
             "from rag.lexical import lexical_index; s = load_settings(); "
             "print(len(lexical_index(open_store(s)).ids))")],
            env=env, capture_output=True, text=True, timeout=120, check=True)
        assert int(fresh.stdout.strip()) == len(stored)


# --- several processes on a Chroma server -------------------------------------------------------
def test_the_chat_keeps_answering_through_a_rebuild_in_another_process(tmp_path: Path) -> None:
    with chroma_server(tmp_path / "server") as chroma:
        data = tmp_path / "data"
        env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_EMBEDDER": "fake", "RAG_LLM": "fake",
               "RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(chroma), "RAG_EMBED_BATCH_SIZE": "2"}
        subprocess.run(_rag("ingest", "--no-progress"), env=env, check=True, capture_output=True, timeout=300)
        port = free_port()
        serve = _rag("serve", "--port", str(port))
        rag_env = {k: v for k, v in env.items() if k.startswith("RAG_")}
        with running(serve, port, data / "serve.log", timeout=120, env=rag_env):
            assert answered(ask(port, "Which course did Karpathy design at Stanford?"))
            corpus = paragraphs(tmp_path / "rebuilt", tag="r")
            proc = subprocess.Popen(_rag("ingest", "--rebuild", str(corpus), "--no-progress"), env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            during = []
            while proc.poll() is None:
                during.append(ask(port, "Which course did Karpathy design at Stanford?"))
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            assert during and all(answered(text) for text in during), [t[:120] for t in during if not answered(t)]
            after = ask(port, "Which course did Karpathy design at Stanford?")
            assert answered(after)
            # The server follows the switch: it now answers from the rebuilt collection.
            store = open_store(load_settings(data_dir=data, embedder="fake", chroma_host="127.0.0.1",
                                             chroma_port=chroma))
            assert store.physical != "corpus" and {m["source"].split("/")[0]
                                                    for _, _, m in store.iter_records()} == {"rebuilt"}
            import chromadb

            names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=chroma).list_collections()]
            assert sorted(n for n in names if not n.endswith(".state")) == [store.physical]


def test_two_servers_starting_on_an_empty_chroma_server(tmp_path: Path) -> None:
    with chroma_server(tmp_path / "server") as chroma:
        ports = [free_port(), free_port()]
        env = {"RAG_EMBEDDER": "fake", "RAG_LLM": "fake", "RAG_CHROMA_HOST": "127.0.0.1",
               "RAG_CHROMA_PORT": str(chroma)}
        os.environ.update(env)
        try:
            logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
            procs = [subprocess.Popen(_rag("serve", "--data-dir", str(tmp_path / f"d{i}"), "--port", str(p)),
                                      stdout=log.open("w"), stderr=subprocess.STDOUT)
                     for i, (p, log) in enumerate(zip(ports, logs))]
            try:
                import socket

                deadline = time.time() + 180
                for p, proc, log in zip(ports, procs, logs):
                    while True:
                        try:
                            socket.create_connection(("127.0.0.1", p), timeout=1).close()
                            break
                        except OSError:
                            assert proc.poll() is None, log.read_text()[-2000:]
                            assert time.time() < deadline, f"port {p} never opened"
                            time.sleep(0.3)
                for p in ports:
                    assert answered(ask(p, "Which course did Karpathy design at Stanford?"))
                single = tmp_path / "single"
                from ingest import ingest

                reference = load_settings(data_dir=single, embedder="fake")
                ingest(None, reference, progress=False)
                shared = open_store(load_settings(data_dir=tmp_path / "d0"))
                assert shared.count() == open_store(reference).count()  # no duplicates
            finally:
                for proc in procs:
                    proc.send_signal(signal.SIGTERM)
                for proc in procs:
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
        finally:
            for key in env:
                os.environ.pop(key, None)


def test_the_chat_recovers_when_the_chroma_server_comes_back(tmp_path: Path) -> None:
    server_path = tmp_path / "server"
    chroma = free_port()
    env = {"RAG_EMBEDDER": "fake", "RAG_LLM": "fake", "RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(chroma),
           "RAG_DATA_DIR": str(tmp_path / "data")}
    os.environ.update(env)
    try:
        port = free_port()
        with chroma_server(server_path, chroma):
            from ingest import ingest

            ingest(None, load_settings(), progress=False)
            proc_cm = running(_rag("serve", "--port", str(port)), port, tmp_path / "serve.log", timeout=120)
            proc_cm.__enter__()
            try:
                assert answered(ask(port, "Which course did Karpathy design at Stanford?"))
            except BaseException:
                proc_cm.__exit__(None, None, None)
                raise
        try:
            down = ask(port, "Which course did Karpathy design at Stanford?")  # the server is gone
            assert "Error" in down and "Traceback" not in down and "Searching" not in down
            with chroma_server(server_path, chroma):
                assert answered(ask(port, "Which course did Karpathy design at Stanford?"))
        finally:
            proc_cm.__exit__(None, None, None)
    finally:
        for key in env:
            os.environ.pop(key, None)


def test_a_hung_chroma_server_is_an_error_not_a_question_that_never_ends(tmp_path: Path) -> None:
    """SIGSTOP freezes the server: the kernel still accepts connections, nothing answers."""
    from rag.errors import StoreError

    port = free_port()
    command = [CHROMA, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, tmp_path / "chroma.log", timeout=60) as server:
        settings = load_settings(data_dir=tmp_path / "d", embedder="fake", chroma_host="127.0.0.1",
                                 chroma_port=port, chroma_timeout=3.0)
        from ingest import ingest

        ingest(None, settings, progress=False)
        retriever = Retriever(settings, open_store(settings, get_embedder(settings)), get_embedder(settings))
        assert retriever.retrieve("Which course did Karpathy design at Stanford?").passages
        server.send_signal(signal.SIGSTOP)
        try:
            t0 = time.perf_counter()
            with pytest.raises(StoreError):
                retriever.store.query(get_embedder(settings).embed_query("CS231n"), 3)
            assert time.perf_counter() - t0 < 20
        finally:
            server.send_signal(signal.SIGCONT)
        assert retriever.retrieve("Which course did Karpathy design at Stanford?").passages
