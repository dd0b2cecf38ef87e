from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import load_settings
from rag.embeddings import FakeEmbedder, get_embedder
from rag.errors import ConfigError


def test_defaults_run_offline_on_bundled_models() -> None:
    s = load_settings()
    assert s.embedder == "sentence-transformers" and s.embed_model is None
    assert s.data_dir == Path(".rag") and s.chroma_host is None
    assert s.store_path == Path(".rag/chroma")


def test_priority_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "my.toml"
    config.write_text('chunk_size = 100\nchunk_overlap = 10\ncollection = "from-file"\n', encoding="utf-8")
    s = load_settings(config)
    assert (s.chunk_size, s.chunk_overlap, s.collection) == (100, 10, "from-file")
    monkeypatch.setenv("RAG_CHUNK_SIZE", "120")
    s = load_settings(config)
    assert (s.chunk_size, s.collection) == (120, "from-file")
    s = load_settings(config, chunk_size=150, collection=None)
    assert (s.chunk_size, s.collection) == (150, "from-file")


def test_rag_toml_in_working_dir_and_rag_config_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rag.toml").write_text('collection = "cwd"\n', encoding="utf-8")
    assert load_settings().collection == "cwd"
    other = tmp_path / "other.toml"
    other.write_text('collection = "env"\n', encoding="utf-8")
    monkeypatch.setenv("RAG_CONFIG", str(other))
    assert load_settings().collection == "env"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 3}, "chunk_size"),
        ({"chunk_size": 50, "chunk_overlap": 50}, "smaller than chunk_size"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_invalid_settings_raise_config_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**kwargs)


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_unknown_embedder_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="fake, openai, sentence-transformers"):
        get_embedder(load_settings(embedder="word2vec"))


def test_openai_embedder_without_key_says_how_to_fix() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_embedder(load_settings(embedder="openai"))


def test_secrets_are_redacted() -> None:
    s = load_settings(embed_api_key="sk-secret-123")
    assert "sk-secret-123" not in str(s.redacted())


def test_fake_embedder_is_deterministic_and_normalised() -> None:
    e = FakeEmbedder()
    a = e.embed_batch(["Karpathy taught CS231n", "Karpathy taught CS231n", "zebras"])
    assert (a[0] == a[1]).all()
    assert abs(float((a[0] ** 2).sum()) - 1.0) < 1e-6
    assert float(a[0] @ a[1]) > float(a[0] @ a[2])
    assert get_embedder(load_settings(embedder="fake")) is get_embedder(load_settings(embedder="fake"))
