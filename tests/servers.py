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
def running(command: Sequence[str], port: int, log: Path, timeout: float = 120.0) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends; fail the test if 127.0.0.1:``port`` never opens."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT)
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
