"""One owner thread per local model, with a request queue.

llama.cpp contexts are not re-entrant, and a lock held across a generator's
``yield`` breaks under a web server: Gradio advances a sync generator from
whichever pool thread is free, so the generator resumes on another thread,
``release`` raises, and every later question hangs. Here no caller ever holds
the model. One thread owns it and runs requests one after another; a caller
receives its pieces through a queue of its own, from whatever thread it likes.

A request ends early, freeing the model for the next one, when:

- the caller closes its iterator (``close()``, garbage collection, a
  ``break`` out of a ``for`` loop);
- the caller stops reading for ``stall_timeout`` seconds (a browser tab closed
  mid-answer whose generator the server never closes).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import BackendError

__all__ = ["ModelWorker"]

M = TypeVar("M")
T = TypeVar("T")

_PIECE, _END, _ERROR = "piece", "end", "error"


@dataclass
class _Request:
    job: Callable[[Any], Iterator[Any]]
    out: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=16))
    cancelled: threading.Event = field(default_factory=threading.Event)


class ModelWorker(Generic[M]):
    """Runs jobs against one model on one thread; see the module doc.

    ``load`` opens the model on first use (on the owner thread); a load failure
    is reported to the request that triggered it, and the next request retries.
    """

    def __init__(self, load: Callable[[], M], name: str = "model", stall_timeout: float = 30.0) -> None:
        self._load = load
        self._name = name
        self._stall = stall_timeout
        self._model: M | None = None
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.completed = 0  # requests run to their end (for tests and stats)
        self.cancelled = 0  # requests ended early by their caller

    # --- caller side -------------------------------------------------------------------
    def stream(self, job: Callable[[M], Iterator[T]]) -> Iterator[T]:
        """Run ``job(model)`` on the owner thread; yield what it yields, here.

        Exceptions raised by the job are re-raised in the caller.
        """
        request = _Request(job)
        self._ensure_thread()
        self._requests.put(request)
        try:
            while True:
                try:
                    kind, value = request.out.get(timeout=0.25)
                except queue.Empty:
                    if request.cancelled.is_set() and request.out.empty():
                        # We read too slowly and the owner moved on to the next request.
                        raise BackendError(
                            f"the {self._name} dropped this answer: it was not read for {self._stall:g}s"
                        ) from None
                    continue
                if kind == _PIECE:
                    yield value
                elif kind == _END:
                    return
                else:
                    raise value
        finally:
            # Normal end, an exception, or the caller abandoning us: either way
            # the owner thread stops at its next piece and takes the next request.
            request.cancelled.set()

    def call(self, fn: Callable[[M], T]) -> T:
        """Run ``fn(model)`` on the owner thread and return its result."""

        def job(model: M) -> Iterator[T]:
            yield fn(model)

        return next(iter(self.stream(job)))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the owner thread after the request it is running; free the model.

        The thread stays registered until it has exited, so a request made
        meanwhile never starts a second owner for the same model.
        """
        with self._start_lock:
            thread = self._thread
            if thread is None or not thread.is_alive():
                return
            self._requests.put(None)
        thread.join(timeout)


    # --- owner side --------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"{self._name}-owner", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                break
            if request.cancelled.is_set():
                self.cancelled += 1
                continue
            self._serve(request)
        with self._start_lock:
            model, self._model = self._model, None
            # Requests that arrived after the stop: the next owner serves them.
            pending = not self._requests.empty()
            self._thread = None
        closer = getattr(model, "close", None)
        if callable(closer):
            closer()
        if pending:
            self._ensure_thread()

    def _serve(self, request: _Request) -> None:
        try:
            if self._model is None:
                self._model = self._load()
            pieces = request.job(self._model)
            try:
                for piece in pieces:
                    if request.cancelled.is_set() or not self._deliver(request, (_PIECE, piece)):
                        self.cancelled += 1
                        return
            finally:
                closer = getattr(pieces, "close", None)
                if callable(closer):
                    closer()
        except Exception as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
            self._deliver(request, (_ERROR, exc))
            return
        self.completed += 1
        self._deliver(request, (_END, None))

    def _deliver(self, request: _Request, item: tuple[str, Any]) -> bool:
        """Hand one item to the caller; False if it has gone (cancelled or not reading)."""
        waited = 0.0
        while not request.cancelled.is_set():
            try:
                request.out.put(item, timeout=0.25)
                return True
            except queue.Full:
                waited += 0.25
                if waited >= self._stall:
                    request.cancelled.set()
        return False
