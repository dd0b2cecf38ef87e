"""The exception hierarchy.

Every error the library raises on purpose derives from :class:`RagError`, so the
edges (CLI, web UI) can catch one type and show its message instead of a
traceback. Messages are written for the person running the command: they say
what went wrong *and what to do next*.

    RagError
    ├── ConfigError            bad or missing setting, unknown backend name
    ├── IngestError            a path to ingest is missing or unusable
    │   └── DocumentError      one document cannot be read (ingest skips it)
    ├── StoreError             the vector store cannot be opened or written
    │   └── EmbedderMismatchError   store built with another embedder
    └── BackendError           an embedding/LLM backend failed (down, bad key, timeout)
"""

from __future__ import annotations

__all__ = [
    "RagError",
    "ConfigError",
    "IngestError",
    "DocumentError",
    "StoreError",
    "EmbedderMismatchError",
    "BackendError",
]


class RagError(Exception):
    """Base class of every error this project raises deliberately."""


class ConfigError(RagError):
    """A setting is invalid or missing; the message names the setting and how to set it."""


class IngestError(RagError):
    """Ingest cannot proceed with the paths it was given."""


class DocumentError(IngestError):
    """A single document cannot be read; ingest reports it and carries on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StoreError(RagError):
    """The vector store cannot be opened, read or written."""


class EmbedderMismatchError(StoreError):
    """The store was built with a different embedder than the one configured."""


class BackendError(RagError):
    """A model backend (embeddings or LLM) failed: unreachable, refused, timed out."""
