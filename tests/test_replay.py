"""The replay backend: scripted answers cited the way a careful model would cite them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import BackendError, ConfigError
from rag.llm import get_llm
from rag.replay import DECLINE, ReplayLLM, question_key

PROMPT = (
    "Passages:\n\n[1] (Career profile)\nHis work at Stanford University under Fei-Fei Li established his initial "
    "reputation.\n\n[2] (Decade)\nI think that Tesla has a software problem and I think Waymo has a hardware "
    "problem.\n\nQuestion: {q}\nAnswer with citations:"
)


def _messages(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "rules"}, {"role": "user", "content": PROMPT.format(q=question)}]


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    rows = [
        {"question": "Who supervised him?", "variant": "correct", "sentences": [
            {"text": "Fei-Fei Li supervised his work at Stanford.", "evidence": "under Fei-Fei Li established"},
            {"text": "He says Tesla's problem is software.", "evidence": "TESLA HAS A   software problem"},
            {"text": "He was born in Bratislava.", "evidence": "born in Bratislava, Slovakia"},
        ]},
        {"question": "Who supervised him?", "variant": "fabricated", "sentences": [
            {"text": "Andrew Ng supervised his work.", "evidence": "under Fei-Fei Li established", "fabricated": True},
        ]},
        {"question": "When is his birthday?", "variant": "correct", "declines": True,
         "decline_text": "The passages do not say when he was born."},
        {"question": "What is minbpe?", "answer": "Free text, cited by hand [2]."},
    ]
    path = tmp_path / "replay.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_each_sentence_cites_the_passage_holding_its_evidence(replay_file: Path) -> None:
    reply = ReplayLLM(replay_file).reply(_messages("Who supervised him?"))
    # The third sentence's evidence is in no passage: a model that only sees these passages would not write it.
    assert reply == "Fei-Fei Li supervised his work at Stanford [1]. He says Tesla's problem is software [2]."


def test_variants_declines_and_free_text(replay_file: Path) -> None:
    assert ReplayLLM(replay_file, "fabricated").reply(_messages("who supervised HIM")) == \
        "Andrew Ng supervised his work [1]."
    assert ReplayLLM(replay_file).reply(_messages("When is his birthday?")) == \
        "The passages do not say when he was born."
    assert ReplayLLM(replay_file).reply(_messages("What is minbpe?")) == "Free text, cited by hand [2]."


def test_no_evidence_in_the_prompt_means_declining(replay_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"question": "Q?", "sentences": [{"text": "X.", "evidence": "not there"}]}) + "\n")
    assert ReplayLLM(path).reply(_messages("Q?")) == DECLINE


def test_unknown_question_and_bad_files_are_clear_errors(replay_file: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no answer"):
        list(ReplayLLM(replay_file).stream(_messages("Something else?")))
    with pytest.raises(ConfigError, match="not found"):
        ReplayLLM(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(ConfigError, match="bad.jsonl:1"):
        ReplayLLM(bad)


def test_chosen_by_name_from_settings(settings, replay_file: Path) -> None:  # noqa: ANN001
    llm = get_llm(settings.model_copy(update={"llm": "replay", "replay_file": replay_file}))
    assert isinstance(llm, ReplayLLM) and llm.name.startswith("replay:")
    with pytest.raises(ConfigError, match="RAG_REPLAY_FILE"):
        get_llm(settings.model_copy(update={"llm": "replay"}))


def test_question_keys_ignore_case_space_and_punctuation() -> None:
    assert question_key("  Who  supervised HIM? ") == question_key("who supervised him")
