"""`rag serve`: index the corpus if the store is empty, then serve the chat."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rag.config import Settings
from rag.embeddings import get_embedder
from rag.errors import ConfigError, StoreError
from rag.store import open_store

from .app import ChatApp, build_blocks

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


def make_app(settings: Settings):  # noqa: ANN201 - (gr.Blocks, css)
    return build_blocks(ChatApp(settings))


def serve(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Block serving the chat on ``settings.host:settings.port``."""
    if bool(settings.ui_username) != bool(settings.ui_password):
        raise ConfigError("set both RAG_UI_USERNAME and RAG_UI_PASSWORD to switch the login on, or neither")
    ensure_indexed(settings, say)
    blocks, css = make_app(settings)
    auth = (settings.ui_username, settings.ui_password) if settings.ui_username else None
    if settings.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        say(f"warning: serving on {settings.host} without a login; anyone who can reach it can use it")
    say(f"Serving the chat on http://{settings.host}:{settings.port} (Ctrl-C to stop)")
    blocks.queue(default_concurrency_limit=settings.ui_concurrency, max_size=256)
    blocks.launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        share=False,  # never a public link: the corpus stays on this machine
        show_error=False,
        quiet=True,
        css=css,
        footer_links=[],
        # Only the eval plots are served from disk; documents go through the
        # store (see ChatApp.open_document), never as files.
        allowed_paths=[str(settings.data_dir / "evals")],
    )
