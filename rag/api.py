"""An OpenAI-compatible HTTP API over the same checked pipeline as the chat.

Any OpenAI client (the ``openai`` SDKs, LangChain, curl) can ask the corpus
through ``POST /v1/chat/completions`` and get the checked answer with its
``[n]`` markers, plus the citations as extra fields it may read or ignore.
``rag api`` serves it alone; ``rag serve`` mounts the same routes beside the
chat, sharing one :class:`~rag.pipelines.Pipelines` (one pipeline per model,
and the local model's single worker).

What the edge guarantees, whatever the pipeline does:

- **Never the raw draft.** Only checked ``sentence`` events reach a client.
- **Streaming ends where the non-streaming answer is.** Checked sentences are
  sent as they pass; the final answer always extends what was sent (the
  pipeline streams a sentence only once it is final, and a quote or refusal
  replaces the draft only when nothing was shown), so the last content delta
  is what remains of it. Where that could fail, sentences are held back: with
  ``show_unsupported`` the answer interleaves marked sentences, so the whole
  text is sent at the end. Should a future pipeline ever end on a text that
  does not extend what was streamed, the last chunk carries
  ``replace_content`` with the final text (and the server logs a warning).
- **Errors in OpenAI's shape**, with the right status, never a traceback; an
  error after the stream has begun is a last ``data: {"error": …}`` event.
- **A client that leaves stops its generation**: the pipeline's generator is
  closed (in a worker thread), which frees the local model at once. The
  pipeline runs a step at a time in anyio's thread pool (40 threads), checked
  between steps; a client queued behind another user's generation on the
  local model is noticed when its turn comes, and let go then.

The JSON shapes are in :mod:`rag.api_schema`; the README documents them.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.library import list_documents

from .answer import Answer, Answerer, AnswerEvent, QuestionError
from .api_schema import (
    RequestError,
    chunk_json,
    completion,
    completion_chunk,
    error_body,
    final_chunk_fields,
    new_id,
    parse_chat_request,
    passages_json,
    question_and_history,
)
from .config import LOCAL_HOSTS, Settings
from .errors import BackendError, ConfigError, RagError, StoreError
from .pipelines import Pipelines

__all__ = ["check_exposure", "create_app", "serve_api"]

log = logging.getLogger(__name__)

_API_PATHS = ("/v1/", "/healthz")
_KNOWN = {"/v1/models", "/v1/chat/completions", "/v1/documents"}
_TICK = object()  # the pipeline is still drafting: a moment to look at the client


def _key(settings: Settings) -> str:
    key = settings.api_key  # a SecretStr, or a str where model_copy(update=...) skipped validation
    return str(key.get_secret_value() if hasattr(key, "get_secret_value") else key or "")


def check_exposure(settings: Settings) -> None:
    """Refuse to serve the API beyond this machine without a key (the chat's rule for its login)."""
    if not settings.local_only and not _key(settings):
        raise ConfigError(
            f"the API would answer anyone who can reach {settings.host} about the whole corpus: set RAG_API_KEY "
            "(clients send it as 'Authorization: Bearer KEY'), or bind to 127.0.0.1"
        )


# --- errors -------------------------------------------------------------------------------
_SERVER_ERRORS: tuple[tuple[type[RagError], int, str, str | None], ...] = (  # most specific first
    (StoreError, 503, "the document store is unavailable", "store_unavailable"),
    (BackendError, 503, "the language model backend is unavailable", "backend_unavailable"),
    (ConfigError, 500, "the server is misconfigured", "config_error"),
    (RagError, 500, "the server could not answer", None),
)


def _error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and OpenAI-shaped body for any exception; RagError messages are written for users."""
    if isinstance(exc, RequestError):
        return exc.status, exc.body()
    if isinstance(exc, QuestionError):
        return 400, error_body(str(exc), "invalid_request_error", "messages", "empty_question")
    # Server-side failures: a fixed message per kind, the details (paths, hosts, the backend's
    # own words) only in the server log. A client needs to know what is down, not where it is.
    for kind, status, what, code in _SERVER_ERRORS:
        if isinstance(exc, kind):
            log.log(logging.WARNING if status == 503 else logging.ERROR, "API: %s: %s", what, exc)
            return status, error_body(f"{what}; the server log has the details", "server_error", None, code)
    log.error("unexpected error in the API", exc_info=exc)
    return 500, error_body("internal server error; the server log has the details", "server_error")


def _json_error(exc: BaseException) -> JSONResponse:
    status, body = _error(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        message, code = f"unknown route {request.method} {request.url.path}", "not_found"
    elif exc.status_code == 405:
        message, code = f"method {request.method} is not allowed on {request.url.path}", "method_not_allowed"
    else:
        message, code = str(exc.detail), None
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return JSONResponse(error_body(message, kind, None, code), status_code=exc.status_code)


# --- the pipeline, a step at a time in a worker thread ----------------------------------------
def _advance(events: Iterator[AnswerEvent], budget: float = 0.25) -> Any:
    """The next event worth sending (tokens are skipped: never for clients), ``_TICK`` after
    ``budget`` seconds of drafting, or None at the end."""
    deadline = time.monotonic() + budget
    for event in events:  # a for loop that returns early does not close the generator
        if event.kind != "token":
            return event
        if time.monotonic() > deadline:
            return _TICK
    return None


class _Streams:
    """Counts of answers in flight and answers ended by their client (shown by /healthz)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = self.completed = self.cancelled = 0

    def start(self) -> None:
        with self._lock:
            self.active += 1

    def end(self, finished: bool) -> None:
        with self._lock:
            self.active -= 1
            if finished:
                self.completed += 1
            else:
                self.cancelled += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"active": self.active, "completed": self.completed, "cancelled": self.cancelled}


class _Run:
    """One answer in flight: its pipeline generator, closed exactly once however the request ends."""

    def __init__(self, events: Iterator[AnswerEvent], streams: _Streams) -> None:
        self.events, self.streams, self._closed = events, streams, False
        streams.start()

    async def next(self) -> Any:
        return await anyio.to_thread.run_sync(_advance, self.events)

    async def close(self, finished: bool) -> None:
        """Close the generator in a thread (it may be waiting on the model), even while being
        cancelled: GeneratorExit runs down into the model's stream and frees the model."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.events.close)  # type: ignore[attr-defined]
        self.streams.end(finished)


class _EventStream(StreamingResponse):
    """Server-sent events whose pipeline is closed however the response ends: a client that leaves
    cancels the send loop, possibly before the body ever started, so closing it is done here too."""

    def __init__(self, body: AsyncIterator[str], run: _Run, **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await self.run.close(False)  # no-op when the body closed it


def _sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


async def _stream_answer(run: _Run, first: Any, request: Request, model: str, history: list[str],
                         hold: bool) -> AsyncIterator[str]:
    """The SSE body: passages first, checked sentences as they pass, then the final fields."""
    cid, created = new_id(), int(time.time())
    finished = False
    sent = ""  # the content streamed so far

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _sse(completion_chunk(cid, created, model, delta, finish, **extra))

    try:
        passages = passages_json(first.retrieval.passages) if first.kind == "retrieval" else []
        yield chunk({"role": "assistant", "content": ""}, passages=passages)
        event = first
        answer: Answer | None = None
        while answer is None:
            if event is None:
                raise RuntimeError("the pipeline ended without a final answer")
            if event is not _TICK and event.kind == "sentence" and not hold:
                piece = f" {event.text}" if sent else event.text
                sent += piece
                yield chunk({"content": piece})
            elif event is not _TICK and event.kind == "final":
                answer = event.answer
                break
            if await request.is_disconnected():
                return
            event = await run.next()
        finished = True
        if answer.mode == "error":
            yield _sse(error_body(answer.error or "the model failed", "server_error", None, "backend_unavailable"))
            yield "data: [DONE]\n\n"
            return
        extra = final_chunk_fields(answer, history, answer.text)
        if answer.text.startswith(sent):
            if answer.text[len(sent):]:
                yield chunk({"content": answer.text[len(sent):]})
        else:  # see the module doc: never expected, but a client must be able to end right
            log.warning("the final answer does not extend the streamed sentences; sending replace_content")
            extra["replace_content"] = answer.text
        yield chunk({}, "stop", **extra)
        yield "data: [DONE]\n\n"
    except Exception as exc:  # noqa: BLE001 - the stream has begun: the error is its last event
        finished = True
        yield _sse(_error(exc)[1])
        yield "data: [DONE]\n\n"
    finally:
        await run.close(finished)


async def _collect(run: _Run, first: Any, request: Request) -> Answer | None:
    """Run the pipeline to its final answer; None when the client left first."""
    event = first
    while True:
        if event is None:
            raise RuntimeError("the pipeline ended without a final answer")
        if event is not _TICK and event.kind == "final":
            return event.answer
        if await request.is_disconnected():
            return None
        event = await run.next()


# --- request bodies ------------------------------------------------------------------------
def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON, never more than ``limit`` bytes read (chunked bodies have no length)."""
    too_big = RequestError(413, f"the request body is over {limit:,} bytes (setting api_max_body_bytes)",
                           code="request_too_large")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise RequestError(400, "invalid Content-Length header")
        if int(length) > limit:
            raise too_big
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise too_big
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise RequestError(400, "the request body is not valid JSON", code="invalid_json") from None


# --- the app ---------------------------------------------------------------------------------
class _ApiCORS:
    """CORS for the API's paths only: in ``rag serve`` the chat keeps Gradio's own policy."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST", "OPTIONS"],
                                   allow_headers=["Authorization", "Content-Type"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(_API_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _documents(store: Any) -> list[dict[str, Any]]:
    """The indexed documents, as the Documents tab lists them."""
    return [{"id": d.source, "object": "document", **jsonable_encoder(dataclasses.asdict(d))}
            for d in list_documents(store)]


def create_app(settings: Settings, pipelines: Pipelines | None = None) -> FastAPI:
    """The API as a FastAPI app (``rag serve`` mounts the chat on it); see the module doc."""
    check_exposure(settings)
    owned = pipelines is None
    pipes = pipelines or Pipelines(settings)
    streams = _Streams()
    key = _key(settings).encode("utf-8")
    limit = settings.api_max_body_bytes
    started = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:  # a shared Pipelines is closed by whoever made it
            pipes.close()

    # No /docs or /openapi.json: the README documents the schema, and nothing
    # about the server is served without the key.
    app = FastAPI(title="rag API", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.pipelines, app.state.streams = pipes, streams

    async def authorize(request: Request) -> None:
        if not key:
            # No key means this machine only. A web page in the user's browser can still reach
            # 127.0.0.1: a foreign Host header is DNS rebinding, and a POST that is not JSON is a
            # cross-site form or text/plain request that skipped the CORS preflight.
            host = (request.url.hostname or "").strip("[]").lower()
            if host not in {*LOCAL_HOSTS, settings.host.lower()}:
                raise RequestError(403, "this API answers only requests addressed to this machine "
                                   "(set RAG_API_KEY to serve it under another name)", "permission_error",
                                   None, "forbidden_host")
            if request.method == "POST" and not _is_json(request):
                raise RequestError(415, "send the request body as JSON (Content-Type: application/json)",
                                   code="unsupported_media_type")
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), key):
            raise RequestError(401, "invalid or missing API key: send 'Authorization: Bearer <RAG_API_KEY>'",
                               "authentication_error", None, "invalid_api_key")

    async def pipeline(name: str) -> Answerer:
        if name not in pipes.names():
            raise RequestError(404, f"the model {name!r} does not exist; GET /v1/models lists them "
                               f"({', '.join(pipes.names())})", param="model", code="model_not_found")
        return await anyio.to_thread.run_sync(pipes.get, name)

    async def in_thread(fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorize)])

    def model_json(name: str) -> dict[str, Any]:
        info = pipes.info(name)
        return {"id": name, "object": "model", "created": started, "owned_by": "rag",
                "label": info.label, "llm": info.llm, "backend_model": info.model, "tiny": info.tiny}

    @v1.get("/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_json(name) for name in pipes.names()]}

    @v1.get("/models/{model_id}")
    async def get_model(model_id: str) -> dict[str, Any]:
        if model_id not in pipes.names():
            raise RequestError(404, f"the model {model_id!r} does not exist", param="model", code="model_not_found")
        return model_json(model_id)

    @v1.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        chat = parse_chat_request(await _read_json(request, limit))
        question, history = question_and_history(chat, settings.max_question_chars)
        answerer = await pipeline(chat.model)
        run = _Run(answerer.stream(question, history, top_k=chat.top_k, temperature=chat.temperature), streams)
        try:
            first = await run.next()  # the retrieval: errors until then still get their status code
            while first is _TICK:
                first = await run.next()
        except BaseException:
            await run.close(True)
            raise
        if chat.stream:
            body = _stream_answer(run, first, request, chat.model, history, answerer.settings.show_unsupported)
            return _EventStream(body, run, media_type="text/event-stream",
                                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        answer = None
        try:
            answer = await _collect(run, first, request)
        finally:
            await run.close(answer is not None)
        if answer is None:
            return Response(status_code=499)  # the client has gone; nobody reads this
        if answer.mode == "error":
            raise BackendError(answer.error or "the model failed")
        return JSONResponse(completion(answer, chat.model, history))

    @v1.get("/documents")
    async def documents() -> dict[str, Any]:
        store = (await pipeline(pipes.names()[0])).store
        return {"object": "list", "data": await in_thread(lambda: _documents(store))}

    @v1.get("/chunks/{chunk_id}")
    async def get_chunk(chunk_id: str) -> dict[str, Any]:
        store = (await pipeline(pipes.names()[0])).store
        found = await in_thread(lambda: store.get_chunks([chunk_id])) if 0 < len(chunk_id) <= 128 else []
        if not found:
            raise RequestError(404, f"no passage with id {chunk_id!r} in the store (it may have been re-ingested)",
                               param="id", code="chunk_not_found")
        return chunk_json(found[0])

    @v1.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> JSONResponse:
        # Declared last: in `rag serve` the chat is mounted at "/", which would
        # otherwise answer unknown /v1 paths with its own page.
        path = request.url.path.rstrip("/")
        if path in _KNOWN:
            raise HTTPException(405)
        raise HTTPException(404)

    app.include_router(v1)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        def probe() -> tuple[int, str]:
            store = pipes.get().store
            return store.count(), store.revision

        try:
            count, revision = await in_thread(probe)
        except RagError as exc:
            return _json_error(StoreError(str(exc)))
        try:
            await authorize(request)
        except RequestError:  # open for load balancers, but the details only with the key
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "ok", "chunks": count, "revision": revision, "models": pipes.names(),
                             "streams": streams.snapshot()})

    for kind in (RequestError, RagError, Exception):
        app.add_exception_handler(kind, lambda request, exc: _json_error(exc))
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(  # FastAPI's own 422 shape must never reach a client
        RequestValidationError, lambda request, exc: _json_error(RequestError(400, "invalid request parameters")))
    if settings.api_cors_origins:
        app.add_middleware(_ApiCORS, origins=list(settings.api_cors_origins))
    return app


def serve_api(settings: Settings, port: int = 8000, say: Callable[[str], None] = print) -> None:
    """Block serving the API on ``settings.host:port`` (``rag api``), indexing the seeds first if empty."""
    import uvicorn

    from ui.server import ensure_indexed

    check_exposure(settings)
    ensure_indexed(settings, say)
    app = create_app(settings)
    say(f"Serving the OpenAI-compatible API on http://{settings.host}:{port}/v1 (Ctrl-C to stop)")
    uvicorn.run(app, host=settings.host, port=port, log_level="warning", timeout_graceful_shutdown=5)
