"""The OpenAI-compatible API, driven by the real ``openai`` SDK against ``rag api`` processes.

One server per backend, started once for the module on 127.0.0.1: the fake
LLM (with a key, and an ``openai`` pipeline whose server is down) and the
replay backend's correct and fabricated variants (no key: local only). The
store-down and leaving-client cases run the app in this process, where the
generator being closed can be observed.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from ingest import ingest
from rag.citations import REFUSAL
from rag.config import Settings, load_settings
from rag.llm import FakeLLM
from tests.conftest import SEEDS
from tests.servers import free_port, running

pytestmark = pytest.mark.integration

KEY = "test-key-123"
FEI = "Under whom did Karpathy work at Stanford University?"
TESLA = "Does Karpathy think Tesla is a car company?"
BIRTHDAY = "When is Andrej Karpathy's birthday?"
STANFORD = "Which course did Karpathy design at Stanford?"
# The fake embedder with the small chunks and bars the UI tests use.
ENV = {"RAG_EMBEDDER": "fake", "RAG_CHUNK_SIZE": "48", "RAG_CHUNK_OVERLAP": "8", "RAG_READER": "rules",
       "RAG_MIN_DENSE_SCORE": "0.1", "RAG_MIN_QUERY_COVERAGE": "0.5", "RAG_SUPPORT_THRESHOLD": "0.5",
       "RAG_MIN_QUOTE_RELEVANCE": "0.45", "RAG_TOP_K": "4"}
SCRIPT = [  # what a strong model would write, true and invented (see rag/replay.py)
    {"question": FEI, "variant": "correct", "sentences": [
        {"text": "His work at Stanford University under Fei-Fei Li established his initial reputation.",
         "evidence": "under Fei-Fei Li"},
        {"text": "There he designed the first deep learning course on computer vision.",
         "evidence": "first deep learning course"}]},
    {"question": FEI, "variant": "fabricated", "sentences": [
        {"text": "His work at Stanford University under Geoffrey Hinton established his initial reputation.",
         "evidence": "under Fei-Fei Li"}]},
    {"question": TESLA, "variant": "correct", "sentences": [
        {"text": "Tesla, I don't think it's a car company.", "evidence": "I don't think it's a car company"}]},
    {"question": TESLA, "variant": "fabricated", "sentences": [
        {"text": "Yes, he thinks Tesla is a car company first of all.", "evidence": "I don't think it's a car company"}]},
    {"question": BIRTHDAY, "variant": "correct", "declines": True},
    {"question": BIRTHDAY, "variant": "fabricated", "sentences": [
        {"text": "He was born on 23 October 1986.", "evidence": "Andrej"}]},
]


def _rag(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag", *args]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An indexed store, an empty config file (no developer settings leak in) and the script."""
    root = tmp_path_factory.mktemp("api")
    ingest([SEEDS], test_settings(root / "indexed"), progress=False)
    (root / "empty.toml").write_text("", encoding="utf-8")
    (root / "replay.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SCRIPT), encoding="utf-8")
    return root


def test_settings(data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir=data_dir, **{k.removeprefix("RAG_").lower(): v for k, v in ENV.items()}, **overrides)


test_settings.__test__ = False  # a helper, not a test


@contextmanager
def api_server(base: Path, name: str, env: dict[str, str]) -> Iterator[int]:
    """``rag api`` on its own copy of the store (processes never write one store at once)."""
    data = base / name
    shutil.copytree(base / "indexed", data)
    port = free_port()
    full = {**ENV, "RAG_CONFIG": str(base / "empty.toml"), "RAG_API_KEY": "", **env}
    with running(_rag("api", "--data-dir", str(data), "--port", str(port)), port, base / f"{name}.log",
                 env=full, timeout=120):
        yield port


@pytest.fixture(scope="module")
def fake(base: Path) -> Iterator[int]:
    dead = free_port()  # the `openai` pipeline's server, which is down
    env = {"RAG_LLM": "fake", "RAG_API_KEY": KEY, "RAG_LLM_BASE_URL": f"http://127.0.0.1:{dead}/v1",
           "RAG_LLM_MODEL": "m", "RAG_LLM_TIMEOUT": "5"}
    with api_server(base, "fake", env) as port:
        yield port


@pytest.fixture(scope="module")
def replay_correct(base: Path) -> Iterator[int]:
    with api_server(base, "correct", {"RAG_LLM": "replay", "RAG_REPLAY_FILE": str(base / "replay.jsonl"),
                                      "RAG_REPLAY_VARIANT": "correct"}) as port:
        yield port


@pytest.fixture(scope="module")
def replay_fabricated(base: Path) -> Iterator[int]:
    with api_server(base, "fabricated", {"RAG_LLM": "replay", "RAG_REPLAY_FILE": str(base / "replay.jsonl"),
                                         "RAG_REPLAY_VARIANT": "fabricated"}) as port:
        yield port


def client(port: int, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=60)


def ask(port: int, question: str, history: list[str] = (), **kwargs: Any) -> Any:  # noqa: ANN401
    messages = []
    for earlier in history:
        messages += [{"role": "user", "content": earlier}, {"role": "assistant", "content": "(an answer)"}]
    return client(port).chat.completions.create(model=kwargs.pop("model", "rag"),
                                                messages=[*messages, {"role": "user", "content": question}], **kwargs)


def ask_streaming(port: int, question: str, **kwargs: Any) -> tuple[list[Any], str]:
    chunks = list(ask(port, question, stream=True, **kwargs))
    return chunks, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# --- the answer, whole or streamed ------------------------------------------------------------
CASES = [  # (server, question, modes the answer may take, text no client may ever see)
    ("fake", FEI, {"answer", "quote"}, None),
    ("fake", TESLA, {"answer", "quote"}, None),
    ("replay_correct", FEI, {"answer"}, None),
    ("replay_correct", TESLA, {"answer", "quote"}, None),
    ("replay_correct", BIRTHDAY, {"refusal"}, None),
    ("replay_fabricated", FEI, {"quote", "refusal"}, "Hinton"),
    ("replay_fabricated", TESLA, {"quote", "refusal"}, "first of all"),
    ("replay_fabricated", BIRTHDAY, {"refusal", "quote"}, "1986"),
]


@pytest.mark.parametrize(("server", "question", "modes", "invented"), CASES)
def test_streaming_and_non_streaming_give_the_same_answer(request: pytest.FixtureRequest, server: str, question: str,
                                                          modes: set[str], invented: str | None) -> None:
    port = request.getfixturevalue(server)
    whole = ask(port, question)
    extra = whole.model_extra
    assert whole.object == "chat.completion" and whole.choices[0].finish_reason == "stop"
    assert extra["mode"] in modes, (extra["mode"], whole.choices[0].message.content)
    chunks, streamed = ask_streaming(port, question)
    first, last = chunks[0], chunks[-1]
    assert first.choices[0].delta.role == "assistant" and first.model_extra["passages"]
    assert last.choices[0].finish_reason == "stop" and "replace_content" not in last.model_extra
    assert streamed == whole.choices[0].message.content
    for field in ("citations", "mode", "refusal_reason", "short_answer", "passages"):
        assert last.model_extra[field] == extra[field], field
    if invented:  # the draft (tokens) never reaches a client, streamed or not
        assert invented not in streamed and invented not in json.dumps([c.model_dump() for c in chunks])
    if server == "replay_correct" and question == FEI:  # checked sentences arrive one by one
        assert sum(bool(c.choices and c.choices[0].delta.content) for c in chunks) >= 2
        assert len(extra["citations"]) >= 1 and "Fei-Fei Li" in streamed


def test_citations_are_stored_chunks_with_the_evidence_inside(fake: int) -> None:
    answer = ask(fake, FEI)
    citations = answer.model_extra["citations"]
    assert citations and all(f"[{c['n']}]" in answer.choices[0].message.content for c in citations)
    for c in citations:
        got = httpx.get(f"http://127.0.0.1:{fake}/v1/chunks/{c['chunk_id']}", headers={"Authorization": f"Bearer {KEY}"})
        assert got.status_code == 200
        chunk = got.json()
        assert (chunk["id"], chunk["text"], chunk["source"], chunk["start"], chunk["end"]) == (
            c["chunk_id"], c["text"], c["source"], c["start"], c["end"])
        assert c["evidence"] and c["evidence"] in chunk["text"]
        assert c["evidence_start"] is not None and chunk["start"] <= c["evidence_start"] < c["evidence_end"] <= chunk["end"]
    missing = httpx.get(f"http://127.0.0.1:{fake}/v1/chunks/nope", headers={"Authorization": f"Bearer {KEY}"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "chunk_not_found"


@pytest.mark.parametrize("server", ["fake", "replay_correct"])
def test_a_refusal_is_a_normal_completion(request: pytest.FixtureRequest, server: str) -> None:
    port = request.getfixturevalue(server)
    answer = ask(port, STANFORD if server == "fake" else BIRTHDAY)
    assert answer.choices[0].finish_reason == "stop" and answer.choices[0].message.content == REFUSAL
    assert answer.model_extra["mode"] == "refusal" and answer.model_extra["refusal_reason"]
    assert answer.model_extra["citations"] == [] and answer.model_extra["passages"]  # the closest passages


def test_earlier_user_messages_feed_the_follow_up(fake: int) -> None:
    follow_up = "Who supervised his work there?"
    alone = ask(fake, follow_up).model_extra["passages"]
    assert "Fei-Fei Li" not in alone[0]["text"]
    with_history = ask(fake, follow_up, history=[STANFORD]).model_extra["passages"]
    assert "Fei-Fei Li" in with_history[0]["text"]
    chunks = list(ask(fake, follow_up, history=[STANFORD], stream=True))
    assert "Fei-Fei Li" in chunks[0].model_extra["passages"][0]["text"]


def test_temperature_and_top_k_are_honoured_and_unknown_params_ignored(fake: int) -> None:
    answer = ask(fake, FEI, temperature=0.7, max_tokens=5, user="u1", presence_penalty=0.1,
                 extra_body={"top_k": 2, "some_future_param": {"x": 1}})
    assert len(answer.model_extra["passages"]) == 2 and answer.usage.completion_tokens > 0


# --- errors ----------------------------------------------------------------------------------
def _raw(port: int, body: bytes | Any, key: str | None = KEY, path: str = "/v1/chat/completions") -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    return httpx.post(f"http://127.0.0.1:{port}{path}", content=body, headers=headers, timeout=60)


def _openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if code:
        assert error["code"] == code
    return error


def test_bad_requests_get_openai_shaped_errors_through_the_sdk(fake: int) -> None:
    c = client(fake)
    cases = [  # (call, exception, code, param)
        (lambda: c.chat.completions.create(model="rag", messages="hello"), openai.BadRequestError, "invalid_value",
         "messages"),
        (lambda: c.chat.completions.create(model="rag", messages=[{"role": "user", "content": FEI}],
                                           temperature="hot"), openai.BadRequestError, "invalid_value", "temperature"),
        (lambda: c.chat.completions.create(model="rag", messages=[{"role": "user", "content": "  \x00 "}]),
         openai.BadRequestError, "empty_question", "messages"),
        (lambda: c.chat.completions.create(model="rag", messages=[{"role": "system", "content": "Be brief."}]),
         openai.BadRequestError, "no_user_message", "messages"),
        (lambda: c.chat.completions.create(model="rag", messages=[{"role": "user", "content": "why " * 1000}]),
         openai.BadRequestError, "question_too_long", "messages"),
        (lambda: c.chat.completions.create(model="rag", messages=[{"role": "user", "content": FEI}], n=2),
         openai.BadRequestError, "invalid_value", "n"),
        (lambda: c.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": FEI}]),
         openai.NotFoundError, "model_not_found", "model"),
        (lambda: client(fake, "wrong-key").chat.completions.create(model="rag", messages=[{"role": "user",
                                                                                         "content": FEI}]),
         openai.AuthenticationError, "invalid_api_key", None),
        (lambda: client(fake, "wrong-key").models.list(), openai.AuthenticationError, "invalid_api_key", None),
    ]
    for call, kind, code, param in cases:
        with pytest.raises(kind) as caught:
            call()
        body = caught.value.body
        assert isinstance(body, dict) and body["code"] == code and body["param"] == param, body
        assert "Traceback" not in json.dumps(body) and caught.value.status_code != 422


def test_bad_bodies_get_openai_shaped_errors(fake: int) -> None:
    _openai_error(_raw(fake, b'{"model": "rag", "messages": [', KEY), 400, "invalid_json")
    _openai_error(_raw(fake, b"[1, 2]"), 400)
    error = _openai_error(_raw(fake, json.dumps({"model": "rag"}).encode()), 400, "missing_required_parameter")
    assert error["param"] == "messages"
    _openai_error(_raw(fake, json.dumps({"messages": [{"role": 7, "content": FEI}]}).encode()), 400, "invalid_value")
    _openai_error(_raw(fake, json.dumps({"messages": [{"role": "user", "content": FEI}], "stream": "yes"}).encode()),
                  400, "invalid_value")
    _openai_error(_raw(fake, b"{}", key=None), 401, "invalid_api_key")
    _openai_error(_raw(fake, b"{}", path="/v1/no/such/route"), 404, "not_found")
    ten_mb = b'{"messages": [{"role": "user", "content": "' + b"a" * 10_000_000 + b'"}]}'
    _openai_error(_raw(fake, ten_mb), 413, "request_too_large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(30):
            yield b"a" * 100_000
        yield b'"}]}'

    _openai_error(_raw(fake, chunked()), 413, "request_too_large")
    assert ask(fake, FEI).choices[0].message.content  # and it still answers


def test_models_documents_and_health(fake: int) -> None:
    models = client(fake).models.list()
    assert [m.id for m in models.data] == ["rag", "openai"] and {m.owned_by for m in models.data} == {"rag"}
    assert client(fake).models.retrieve("openai").model_extra["llm"] == "openai"
    auth = {"Authorization": f"Bearer {KEY}"}
    docs = httpx.get(f"http://127.0.0.1:{fake}/v1/documents", headers=auth).json()
    assert docs["object"] == "list" and len(docs["data"]) == len(list(SEEDS.iterdir()))
    assert all(d["source"].startswith("seeds/") and d["title"] and d["chunks"] > 0 for d in docs["data"])
    health = httpx.get(f"http://127.0.0.1:{fake}/healthz")  # no key: for load balancers, nothing more
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    health = httpx.get(f"http://127.0.0.1:{fake}/healthz", headers=auth)
    assert health.status_code == 200 and health.json()["chunks"] > 0 and health.json()["revision"]


def test_a_model_backend_that_is_down_is_a_503(fake: int) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        ask(fake, FEI, model="openai")
    assert caught.value.status_code == 503 and caught.value.body["code"] == "backend_unavailable"
    message = caught.value.body["message"]
    assert "unavailable" in message and "127.0.0.1" not in message and "http" not in message  # no host leaks
    with pytest.raises(openai.APIError) as streamed:  # the stream had begun: its last event is the error
        ask_streaming(fake, FEI, model="openai")
    assert streamed.value.body["code"] == "backend_unavailable"


def test_without_a_key_only_json_addressed_to_this_machine_is_served(replay_correct: int) -> None:
    body = json.dumps({"model": "rag", "messages": [{"role": "user", "content": FEI}]})
    url = f"http://127.0.0.1:{replay_correct}/v1/chat/completions"
    # A cross-site form or text/plain POST (no CORS preflight) from a page in the user's browser:
    form = httpx.post(url, content=body, headers={"Content-Type": "text/plain"}, timeout=60)
    _openai_error(form, 415, "unsupported_media_type")
    # DNS rebinding: the page's own host name pointed at 127.0.0.1.
    rebound = httpx.get(f"http://127.0.0.1:{replay_correct}/v1/documents", headers={"Host": "evil.example"})
    _openai_error(rebound, 403, "forbidden_host")
    assert httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=60).status_code == 200


def test_binding_beyond_this_machine_needs_a_key(base: Path) -> None:
    port = free_port()
    env = {**ENV, "RAG_CONFIG": str(base / "empty.toml"), "RAG_API_KEY": ""}
    import os

    run = subprocess.run(_rag("api", "--host", "0.0.0.0", "--port", str(port), "--data-dir", str(base / "indexed")),
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "RAG_API_KEY" in run.stderr and "Traceback" not in run.stderr
    from rag.api import create_app
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="RAG_API_KEY"):
        create_app(test_settings(base / "indexed", host="0.0.0.0"))
    assert create_app(test_settings(base / "indexed", host="0.0.0.0", api_key="k")) is not None


# --- load and leaving clients ----------------------------------------------------------------
def test_twenty_concurrent_streaming_clients(fake: int) -> None:
    questions = [FEI, TESLA, STANFORD, "What is Software 2.0?", "What did Karpathy say about Tesla and Waymo?"]
    totals: list[float] = []
    firsts: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        c = client(fake)
        for j in range(3):
            try:
                t0 = time.perf_counter()
                first = None
                content = ""
                for chunk in c.chat.completions.create(model="rag", stream=True, messages=[
                        {"role": "user", "content": questions[(i + j) % len(questions)]}]):
                    first = first or time.perf_counter() - t0
                    content += (chunk.choices[0].delta.content or "") if chunk.choices else ""
                with lock:
                    totals.append(time.perf_counter() - t0)
                    firsts.append(first or 0.0)
                    if not content:
                        errors.append(f"client {i}: empty answer")
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                with lock:
                    errors.append(f"client {i}: {exc!r}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(20)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
    assert errors == [] and len(totals) == 60
    print(f"\nAPI load (fake backend): 20 streaming clients x 3 questions in {wall:.1f}s; "
          f"first chunk p50 {np.percentile(firsts, 50):.2f}s p95 {np.percentile(firsts, 95):.2f}s; "
          f"whole answer p50 {np.percentile(totals, 50):.2f}s p95 {np.percentile(totals, 95):.2f}s")


class SlowLLM(FakeLLM):
    """A fake model whose first draft takes 10 s (a word every 50 ms), recording when it is closed;
    later calls answer at once."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()  # the first word is drafted
        self.closed = threading.Event()
        self.pieces = 0
        self.slow = True

    def stream(self, messages, *, max_tokens=256, temperature=0.0, stop=None):  # noqa: ANN001, ANN201
        if not self.slow:
            yield from super().stream(messages, max_tokens=max_tokens, temperature=temperature)
            return
        self.slow = False
        try:
            # Far longer than any wait below: on a loaded machine a 10 s draft could end
            # on its own before the server noticed the client had left.
            for i in range(_SLOW_PIECES):
                time.sleep(0.05)
                self.pieces += 1
                self.started.set()
                yield f"word{i} "
        except GeneratorExit:
            self.closed.set()
            raise


_SLOW_PIECES = 2000  # 100 s of drafting at 0.05 s a word


@contextmanager
def in_process(settings: Settings, pipelines: Any = None) -> Iterator[int]:  # noqa: ANN401
    """The app on a uvicorn thread of this process (to observe the pipeline directly)."""
    import uvicorn

    from rag.api import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, pipelines), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_leaves_stops_its_generation(base: Path, stream: bool) -> None:
    from rag.answer import Answerer
    from rag.pipelines import Pipelines

    settings = test_settings(base / "indexed", llm="fake")
    llm = SlowLLM()
    pipelines = Pipelines(settings, Answerer(settings, llm=llm))
    body = {"model": "rag", "stream": stream, "messages": [{"role": "user", "content": FEI}]}
    with in_process(settings, pipelines) as port:
        url = f"http://127.0.0.1:{port}"
        if stream:
            with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as response:
                first = next(line for line in response.iter_lines() if line.startswith("data:"))
                assert json.loads(first[5:])["passages"]  # retrieval done
                # Leave only once the model drafts: a client gone before that is noticed before the
                # model is ever called (right, but then there would be no generation to stop).
                assert llm.started.wait(30), "the model was never called"
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
            assert llm.started.wait(30), "the model was never called"
            conn.close()  # the client leaves without reading an answer
        assert llm.closed.wait(30), "the generation went on after the client left"
        assert llm.pieces < _SLOW_PIECES
        deadline = time.time() + 10
        while httpx.get(f"{url}/healthz").json()["streams"] != {"active": 0, "completed": 0, "cancelled": 1}:
            assert time.time() < deadline, httpx.get(f"{url}/healthz").json()
            time.sleep(0.1)
        assert httpx.post(f"{url}/v1/chat/completions", json={**body, "stream": False}, timeout=30).status_code == 200


def test_a_store_that_is_down_is_a_503(tmp_path: Path) -> None:
    dead = free_port()
    settings = test_settings(tmp_path / "d", llm="fake", chroma_host="127.0.0.1", chroma_port=dead, chroma_timeout=3.0)
    with in_process(settings) as port:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["error"]["code"] == "store_unavailable"
        with pytest.raises(openai.InternalServerError) as caught:
            client(port).chat.completions.create(model="rag", messages=[{"role": "user", "content": FEI}])
        assert caught.value.status_code == 503 and caught.value.body["code"] == "store_unavailable"
        assert "Traceback" not in json.dumps(caught.value.body)


def test_cors_is_off_unless_origins_are_listed(base: Path) -> None:
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with in_process(test_settings(base / "indexed", llm="fake")) as port:
        response = httpx.options(f"http://127.0.0.1:{port}/v1/chat/completions", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    listed = test_settings(base / "indexed", llm="fake", api_cors_origins=["https://app.example.com"])
    with in_process(listed) as port:
        response = httpx.options(f"http://127.0.0.1:{port}/v1/chat/completions", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
        other = httpx.options(f"http://127.0.0.1:{port}/v1/chat/completions",
                              headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


# --- inside `rag serve` ------------------------------------------------------------------------
def test_rag_serve_serves_the_api_beside_the_chat(base: Path) -> None:
    data = base / "serve"
    shutil.copytree(base / "indexed", data)
    port = free_port()
    env = {**ENV, "RAG_CONFIG": str(base / "empty.toml"), "RAG_API_KEY": KEY, "RAG_LLM": "fake"}
    with running(_rag("serve", "--data-dir", str(data), "--port", str(port)), port, base / "serve.log",
                 env=env, timeout=180):
        assert [m.id for m in client(port).models.list().data] == ["rag"]
        whole = ask(port, FEI)
        _, streamed = ask_streaming(port, FEI)
        assert streamed == whole.choices[0].message.content and whole.model_extra["citations"]
        _openai_error(httpx.get(f"http://127.0.0.1:{port}/v1/nope", headers={"Authorization": f"Bearer {KEY}"}),
                      404, "not_found")
        _openai_error(httpx.get(f"http://127.0.0.1:{port}/v1/models"), 401, "invalid_api_key")
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)  # the chat, still at the root
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).status_code == 200


def test_rag_serve_beyond_this_machine_without_a_key_leaves_the_api_out(base: Path) -> None:
    from rag.pipelines import Pipelines
    from ui.server import _api

    said: list[str] = []
    exposed = test_settings(base / "indexed", host="0.0.0.0", llm="fake")
    app, with_api = _api(exposed, Pipelines(exposed), said.append)
    assert not with_api and "RAG_API_KEY" in said[0]
    assert not any(getattr(r, "path", "").startswith("/v1") for r in app.routes)
    keyed = exposed.model_copy(update={"api_key": "k"})
    assert _api(keyed, Pipelines(keyed), said.append)[1]
