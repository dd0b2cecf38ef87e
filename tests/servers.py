"""Start a local server process for an integration test and wait until it listens."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(command: Sequence[str], port: int, log: Path, timeout: float = 120.0,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends; fail the test if 127.0.0.1:``port`` never opens.

    ``env``: variables added to this process's environment for the command.
    """
    import os

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None:
                        pytest.fail(f"{command[0]} exited early:\n{log.read_text()[-2000:]}")
                    if time.time() > deadline:
                        pytest.fail(f"{command[0]} did not open port {port} within {timeout:.0f}s")
                    time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


class FakeOpenAI:
    """A scriptable OpenAI-compatible server on 127.0.0.1, for fault injection.

    - ``/v1/embeddings``: hashed vectors; the first ``rate_limit`` calls answer
      HTTP 429; every call's batch size is recorded in ``batches``.
    - ``/v1/chat/completions`` (streaming): sends ``reply`` word by word; with
      ``drop_after`` it sends that many chunks and then closes the connection
      without finishing the response; with ``delay`` it waits that many
      seconds before each word (a slow model, for Stop and disconnects).
    """

    def __init__(self, reply: str = "An answer. [1]", drop_after: int | None = None, rate_limit: int = 0,
                 delay: float = 0.0) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.reply, self.drop_after, self.rate_limit, self.delay = reply, drop_after, rate_limit, delay
        self.batches: list[int] = []
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.calls += 1
                if self.path.endswith("/embeddings"):
                    texts = body["input"]
                    outer.batches.append(len(texts))
                    if outer.rate_limit > 0:
                        outer.rate_limit -= 1
                        self._json(429, {"error": {"message": "slow down", "type": "rate_limit"}})
                        return
                    data = []
                    for i, text in enumerate(texts):
                        vec = [0.0] * 16
                        for word in text.lower().split():
                            vec[hash(word) % 16] += 1.0
                        vec[0] += 0.01
                        data.append({"object": "embedding", "index": i, "embedding": vec})
                    self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                                     "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = outer.reply.split(" ")
                for n, word in enumerate(words):
                    if outer.delay:
                        time.sleep(outer.delay)
                    if outer.drop_after is not None and n >= outer.drop_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # mid-stream, no terminating chunk
                        self.close_connection = True
                        return
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                             "choices": [{"index": 0, "delta": {"content": word + (" " if n < len(words) - 1 else "")},
                                          "finish_reason": None}]}
                    payload = f"data: {json.dumps(chunk)}\n\n".encode()
                    self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                    self.wfile.flush()
                done = b"data: [DONE]\n\n"
                self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
