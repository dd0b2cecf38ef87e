"""`rag serve`: index the corpus if the store is empty, then serve the chat and the API.

One process, one port: the OpenAI-compatible API (:mod:`rag.api`) is the
FastAPI app, and the Gradio chat is mounted on it at ``/``, so ``/v1/...``
and ``/healthz`` answer API clients while every other path is the chat. Both
share one :class:`~rag.pipelines.Pipelines` (one pipeline per model, one
local-model worker). The chat keeps its own login; the API's is its bearer
key, and without one the API is left out when the chat is served beyond this
machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rag.config import Settings
from rag.embeddings import get_embedder
from rag.errors import ConfigError, StoreError
from rag.pipelines import Pipelines
from rag.store import open_store

from .app import ChatApp
from .layout import build_blocks

__all__ = ["ensure_indexed", "make_app", "serve"]

log = logging.getLogger(__name__)


def ensure_indexed(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Ingest the seeds folder when nothing is indexed yet, with progress shown."""
    try:
        if open_store(settings, get_embedder(settings)).count() > 0:
            return
    except StoreError as exc:
        if "no corpus is indexed" not in str(exc):
            raise
    from ingest import ingest

    say(f"The store is empty: indexing {settings.seeds_dir} first…")
    report = ingest(None, settings, progress=True, warn=lambda m: say(f"warning: {m}"))
    say(report.summary())


def make_app(settings: Settings, pipelines: Pipelines | None = None):  # noqa: ANN201 - (gr.Blocks, css)
    """The chat's page and css; ``pipelines`` is shared with the API when both are served."""
    return build_blocks(ChatApp(settings, pipelines=pipelines or Pipelines(settings)))


def _api(settings: Settings, pipelines: Pipelines, say: Callable[[str], None]) -> tuple[Any, bool]:
    """The API app the chat is mounted on; a bare app when the API may not be served here."""
    from fastapi import FastAPI

    from rag.api import check_exposure, create_app

    try:
        check_exposure(settings)
    except ConfigError:
        say(f"warning: the API (/v1) is off: serving it on {settings.host} needs RAG_API_KEY")
        return FastAPI(docs_url=None, redoc_url=None, openapi_url=None), False
    return create_app(settings, pipelines), True


def serve(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Block serving the chat (and the API under /v1) on ``settings.host:settings.port``."""
    import gradio as gr
    import uvicorn

    if bool(settings.ui_username) != bool(settings.ui_password):
        raise ConfigError("set both RAG_UI_USERNAME and RAG_UI_PASSWORD to switch the login on, or neither")
    ensure_indexed(settings, say)
    pipelines = Pipelines(settings)
    blocks, css = make_app(settings, pipelines)
    auth = (settings.ui_username, settings.ui_password) if settings.ui_username else None
    if not settings.local_only and auth is None:
        say(f"warning: serving on {settings.host} without a login; anyone who can reach it can use it")
    app, with_api = _api(settings, pipelines, say)
    blocks.queue(default_concurrency_limit=settings.ui_concurrency, max_size=256)
    # What blocks.launch() was given before the API shared the port; never a
    # public share link (mount_gradio_app has none).
    app = gr.mount_gradio_app(
        app, blocks, path="/",
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        show_error=False,
        # Gradio stores an upload before any handler sees it: cap it at ingest's own limit, or
        # anyone who reaches the page could fill the disk through /gradio_api/upload.
        max_file_size=f"{max(1, int(settings.max_file_mb + 0.999))}mb",
        css=css,
        footer_links=[],
        # Only the eval plots are served from disk; documents go through the
        # store (see ChatApp.open_document), never as files.
        allowed_paths=[str(settings.data_dir / "evals")],
    )
    url = f"http://{settings.host}:{settings.port}"
    say(f"Serving the chat on {url}" + (f" and the API on {url}/v1" if with_api else "") + " (Ctrl-C to stop)")
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        pipelines.close()
