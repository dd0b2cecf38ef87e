from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main


def run(*args: str) -> int:
    return main(list(args))


def test_ingest_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--data-dir", str(tmp_path / "d"), "--embedder", "fake"]
    assert run("ingest", *common) == 0
    out = capsys.readouterr().out
    assert "5 added" in out and "chunks:" in out
    assert run("status", "--json", *common) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["documents"] == 5 and status["chunks"] > 5
    assert status["embedder"] == "fake:hash-64"
    assert run("status", *common) == 0
    assert "last ingest" in capsys.readouterr().out


def test_missing_path_exits_nonzero_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run("ingest", str(tmp_path / "missing"), "--data-dir", str(tmp_path), "--embedder", "fake")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error:") and "does not exist" in err and "Traceback" not in err


def test_status_on_empty_store_says_to_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("status", "--data-dir", str(tmp_path), "--embedder", "fake") == 1
    assert "rag ingest" in capsys.readouterr().err


def test_bad_setting_from_env_is_a_clean_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAG_CHUNK_SIZE", "lots")
    assert run("status") == 1
    assert "chunk_size" in capsys.readouterr().err


def test_python_dash_m_rag_works(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "status", "--data-dir", str(tmp_path), "--embedder", "fake"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1 and "rag ingest" in proc.stderr and "Traceback" not in proc.stderr


def _indexed(tmp_path: Path) -> list[str]:
    common = ["--data-dir", str(tmp_path / "d"), "--embedder", "fake"]
    assert run("ingest", *common) == 0
    return common


def test_ask_json_has_the_documented_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = _indexed(tmp_path)
    capsys.readouterr()
    assert run("ask", "--json", "--llm", "fake", "Under whom did Karpathy work at Stanford University?", *common) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "refused", "citations", "passages", "model", "timings"} <= set(data)
    assert data["model"] == "fake:extractive" and data["passages"]


def test_ask_prints_answer_then_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = _indexed(tmp_path)
    capsys.readouterr()
    assert run("ask", "--llm", "fake", "Under whom did Karpathy work at Stanford University?", *common) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out or "Closest passages:" in out
    assert re.search(r"^\[\d+\] .+ — .+, chars \d+–\d+$", out, re.M)  # numbered source with its location


def test_ask_empty_question_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = _indexed(tmp_path)
    capsys.readouterr()
    assert run("ask", "--llm", "fake", "   ", *common) == 1
    err = capsys.readouterr().err
    assert "empty" in err and "Traceback" not in err


def test_ask_with_a_dead_server_explains_and_shows_passages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.servers import free_port

    common = _indexed(tmp_path)
    capsys.readouterr()
    code = run(
        "ask", "--llm", "openai", "--llm-base-url", f"http://127.0.0.1:{free_port()}/v1", "--llm-timeout", "5",
        "Under whom did Karpathy work at Stanford University?", *common,
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: cannot reach the LLM server") and "Traceback" not in captured.err
    assert "Retrieved passages:" in captured.out
