"""The local model's owner thread: streams that move between threads, are abandoned, or fail."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from rag.errors import BackendError
from rag.llm import LlamaCppLLM
from rag.worker import ModelWorker


class Counter:
    """A stand-in model that counts how many jobs run at once."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()

    def count(self, n: int, delay: float = 0.01) -> Iterator[int]:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            for i in range(n):
                time.sleep(delay)
                yield i
        finally:
            with self.lock:
                self.active -= 1


def test_jobs_from_many_threads_run_one_at_a_time() -> None:
    model = Counter()
    worker = ModelWorker(lambda: model, stall_timeout=5)
    results: dict[int, list[int]] = {}

    def ask(i: int) -> None:
        results[i] = list(worker.stream(lambda m: m.count(5)))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {i: [0, 1, 2, 3, 4] for i in range(6)}
    assert model.most == 1
    worker.close()


def test_a_stream_resumed_on_another_thread_finishes_and_frees_the_model() -> None:
    worker = ModelWorker(Counter, stall_timeout=5)
    stream = worker.stream(lambda m: m.count(4))
    first = next(stream)
    rest: list[int] = []
    t = threading.Thread(target=lambda: rest.extend(stream))
    t.start()
    t.join(timeout=10)
    assert [first, *rest] == [0, 1, 2, 3]
    assert list(worker.stream(lambda m: m.count(2))) == [0, 1]
    worker.close()


def test_an_abandoned_stream_frees_the_model_after_the_stall_timeout() -> None:
    worker = ModelWorker(Counter, stall_timeout=0.5)
    kept = worker.stream(lambda m: m.count(1000, delay=0))
    next(kept)  # a reader that never comes back (a closed browser tab), still referenced
    t0 = time.perf_counter()
    assert list(worker.stream(lambda m: m.count(3))) == [0, 1, 2]
    assert time.perf_counter() - t0 < 5
    assert worker.cancelled >= 1
    del kept
    worker.close()


def test_closing_a_stream_frees_the_model_at_once() -> None:
    worker = ModelWorker(Counter, stall_timeout=60)
    stream = worker.stream(lambda m: m.count(1000))
    next(stream)
    stream.close()
    t0 = time.perf_counter()
    assert list(worker.stream(lambda m: m.count(2))) == [0, 1]
    assert time.perf_counter() - t0 < 5
    worker.close()


def test_a_garbage_collected_stream_frees_the_model() -> None:
    worker = ModelWorker(Counter, stall_timeout=60)
    stream = worker.stream(lambda m: m.count(1000))
    next(stream)
    del stream
    gc.collect()
    assert list(worker.stream(lambda m: m.count(2))) == [0, 1]
    worker.close()


def test_errors_reach_the_caller_and_the_worker_carries_on() -> None:
    def broken(model: Counter) -> Iterator[int]:
        yield 1
        raise BackendError("the model stopped")

    worker = ModelWorker(Counter)
    stream = worker.stream(broken)
    assert next(stream) == 1
    with pytest.raises(BackendError, match="the model stopped"):
        next(stream)
    assert worker.call(lambda m: 42) == 42
    worker.close()


def test_a_load_failure_is_reported_and_retried() -> None:
    attempts = []

    def load() -> Counter:
        attempts.append(1)
        if len(attempts) == 1:
            raise BackendError("cannot load the model")
        return Counter()

    worker = ModelWorker(load)
    with pytest.raises(BackendError, match="cannot load"):
        list(worker.stream(lambda m: m.count(1)))
    assert list(worker.stream(lambda m: m.count(1))) == [0]
    worker.close()


@pytest.mark.integration
def test_the_local_model_streams_across_threads_and_after_an_abandoned_answer() -> None:
    """The real llama.cpp backend as the web server drives it: a generator that moves between threads.

    With a lock held across ``yield`` the second thread's release raised
    RuntimeError and every later question hung.
    """
    llm = LlamaCppLLM(n_ctx=512, stall_timeout=1.0)
    messages = [{"role": "user", "content": "Count from one to twenty in words."}]
    stream = llm.stream(messages, max_tokens=40)
    pieces = [next(stream)]
    errors: list[BaseException] = []

    def rest() -> None:
        try:
            pieces.extend(stream)
        except BaseException as exc:  # noqa: BLE001 - the finding
            errors.append(exc)

    t = threading.Thread(target=rest)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive() and errors == [] and len(pieces) > 1

    abandoned = llm.stream(messages, max_tokens=200)
    next(abandoned)  # never read again, never closed
    done: list[str] = []
    t = threading.Thread(target=lambda: done.append(llm.complete(messages, max_tokens=8)))
    t.start()
    t.join(timeout=60)
    assert done and done[0].strip()
    assert llm.count_tokens("hello world") >= 2
    del abandoned
    llm.close()


def test_a_reader_that_comes_back_after_the_stall_timeout_gets_an_error_not_a_hang() -> None:
    worker = ModelWorker(Counter, stall_timeout=0.5)
    stream = worker.stream(lambda m: m.count(1000, delay=0))
    next(stream)
    time.sleep(1.5)  # far slower than the owner allows: it moves on
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match="dropped this answer"):
        for _ in stream:
            pass
    assert time.perf_counter() - t0 < 5
    assert list(worker.stream(lambda m: m.count(2))) == [0, 1]
    worker.close()


def test_closing_while_a_request_runs_never_starts_a_second_owner() -> None:
    model = Counter()
    worker = ModelWorker(lambda: model, stall_timeout=5)
    first = worker.stream(lambda m: m.count(30, delay=0.02))
    next(first)
    closer = threading.Thread(target=worker.close, kwargs={"timeout": 0.05})
    closer.start()
    closer.join()
    second: list[int] = []
    t = threading.Thread(target=lambda: second.extend(worker.stream(lambda m: m.count(3))))
    t.start()
    rest = list(first)
    t.join(timeout=10)
    assert len(rest) == 29 and second == [0, 1, 2]
    assert model.most == 1
