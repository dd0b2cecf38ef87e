"""rag: grounded question answering over a document corpus, with checked citations."""

from .config import Settings, load_settings
from .documents import Chunk, Document, chunk_id
from .embeddings import (
    EMBEDDERS,
    Embedder,
    FakeEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    get_embedder,
)
from .errors import (
    BackendError,
    ConfigError,
    DocumentError,
    EmbedderMismatchError,
    IngestError,
    RagError,
    StoreError,
)
from .store import ChunkStore, StoreInfo, open_store

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "Chunk",
    "ChunkStore",
    "ConfigError",
    "Document",
    "DocumentError",
    "EMBEDDERS",
    "Embedder",
    "EmbedderMismatchError",
    "FakeEmbedder",
    "IngestError",
    "OpenAIEmbedder",
    "RagError",
    "SentenceTransformerEmbedder",
    "Settings",
    "StoreError",
    "StoreInfo",
    "chunk_id",
    "get_embedder",
    "load_settings",
    "open_store",
]
