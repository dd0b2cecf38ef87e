from __future__ import annotations

import json
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
