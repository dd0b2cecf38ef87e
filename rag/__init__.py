"""rag: grounded question answering over a document corpus, with checked citations.

    >>> from rag import Answerer, load_settings
    >>> answer = Answerer(load_settings()).ask("Which course did Karpathy design at Stanford?")
    >>> answer.text, [c.source for c in answer.citations]
"""

from .answer import Answer, AnswerEvent, Answerer, Citation, QuestionError, SentenceVerdict
from .citations import REFUSAL, parse_answer
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
from .llm import LLM, LLMS, FakeLLM, LlamaCppLLM, OpenAILLM, get_llm
from .replay import ReplayLLM
from .retrieval import Candidate, Retrieval, Retriever
from .store import ChunkStore, StoreInfo, open_store
from .verifier import Support, Verifier

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerEvent",
    "Answerer",
    "BackendError",
    "Candidate",
    "Chunk",
    "ChunkStore",
    "Citation",
    "ConfigError",
    "Document",
    "DocumentError",
    "EMBEDDERS",
    "Embedder",
    "EmbedderMismatchError",
    "FakeEmbedder",
    "FakeLLM",
    "IngestError",
    "LLM",
    "LLMS",
    "LlamaCppLLM",
    "OpenAIEmbedder",
    "OpenAILLM",
    "QuestionError",
    "REFUSAL",
    "RagError",
    "ReplayLLM",
    "Retrieval",
    "Retriever",
    "SentenceTransformerEmbedder",
    "SentenceVerdict",
    "Settings",
    "StoreError",
    "StoreInfo",
    "Support",
    "Verifier",
    "chunk_id",
    "get_embedder",
    "get_llm",
    "load_settings",
    "open_store",
    "parse_answer",
]
