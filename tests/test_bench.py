"""The benchmarks run and write well-formed output (no timing is ever asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from rag.cli import main


def mini_squad(path: Path) -> Path:
    paragraphs = [
        ("Zebras", "Zebras have black and white stripes that confuse biting flies.", "What do zebra stripes confuse?"),
        ("Volcanoes", "Mount Etna in Sicily is one of the most active volcanoes in Europe.", "Where is Mount Etna?"),
        ("Rivers", "The Danube flows through ten countries before reaching the Black Sea.", "Where does the Danube end?"),
    ]
    data = {"data": [
        {"title": t, "paragraphs": [{"context": c, "qas": [{"id": f"q{i}", "question": q,
                                                             "answers": [{"text": c.split()[-1], "answer_start": 0}]}]}]}
        for i, (t, c, q) in enumerate(paragraphs)
    ]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_quick_benchmark_writes_all_sections(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    squad = mini_squad(tmp_path / "squad.json")
    out = tmp_path / "out"
    code = main(["bench", "all", "--quick", "--squad", str(squad), "--out", str(out),
                 "--data-dir", str(tmp_path / "d"), "--embedder", "fake", "--llm", "fake"])
    assert code == 0
    printed = capsys.readouterr().out
    for heading in ("== ingest", "== retrieval quality", "== retrieval latency vs corpus size", "== answering"):
        assert heading in printed
    result = json.loads((out / "bench_all_quick.json").read_text())
    assert result["environment"]["cpu_count"] >= 1 and result["quick"] is True
    assert result["ingest"]["paragraphs"] == 3 and result["ingest"]["chunks"] >= 3
    assert result["retrieval"]["questions"] == 3
    assert set(result["retrieval"]["rankings"]) == {"bm25", "dense", "rrf", "weighted (default)"}
    assert [int(s) for s in result["scale"]["p50_ms"]] == [2000, 5000]
    assert {"embed", "dense", "lexical", "fuse", "total"} <= set(result["scale"]["p50_ms"]["2000"])
    assert result["answer"]["questions"] > 0 and result["answer"]["model"] == "fake:extractive"
    assert Path(result["scale_plot"]).stat().st_size > 1000
