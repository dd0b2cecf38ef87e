"""End to end with scripted strong-model answers (the replay backend), on the real MiniLM
embedder, the bundled claim scorer and the committed verifier: what a user of a capable
model gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import ingest
from rag.answer import Answerer
from rag.citations import REFUSAL
from rag.config import Settings, load_settings

pytestmark = pytest.mark.integration

CORRECT = [
    {"text": "He recommends math, physics and computer science, because they build the best thinking skills.",
     "evidence": "math, physics, CS kind of disciplines"},
]
FABRICATED = [
    {"text": "He recommends math, physics and biology, because they build the best thinking skills.",
     "evidence": "math, physics, CS kind of disciplines", "fabricated": True},
]
YES_NO = [
    {"text": "No, he does not think Tesla is a car company; he calls it a robotics at scale company.",
     "evidence": "I don't think it's a car company"},
]
SWAPPED = [
    {"text": "He says Tesla has a hardware problem while Waymo has a software problem.",
     "evidence": "Tesla has a software problem and I think Waymo has a hardware problem", "fabricated": True},
]
STUDY = "Which disciplines does Karpathy recommend studying, and why?"
TESLA = "Does Karpathy think Tesla is a car company?"
WAYMO = "What did Karpathy say about Tesla and Waymo?"
BIRTHDAY = "When is Andrej Karpathy's birthday?"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("replay-data")
    settings = load_settings(data_dir=data, reader="rules")
    ingest(None, settings, progress=False)
    return settings


def _replay(tmp_path: Path, variant: str, rows: list[dict]) -> Path:
    path = tmp_path / f"{variant}.jsonl"
    path.write_text("".join(json.dumps({**r, "variant": variant}) + "\n" for r in rows), encoding="utf-8")
    return path


def _answerer(seeded: Settings, path: Path, variant: str) -> Answerer:
    return Answerer(seeded.model_copy(update={"llm": "replay", "replay_file": path, "replay_variant": variant}))


def test_correct_answers_reach_the_user_and_verbatim_ones_as_answers(seeded: Settings, tmp_path: Path) -> None:
    verbatim = [{"text": "Tesla, I don't think it's a car company.", "evidence": "I don't think it's a car company"}]
    path = _replay(tmp_path, "correct", [{"question": STUDY, "sentences": CORRECT},
                                         {"question": TESLA, "sentences": YES_NO},
                                         {"question": "Is Tesla a car company, according to Karpathy?",
                                          "sentences": verbatim}])
    answerer = _answerer(seeded, path, "correct")
    # A correct paraphrase is shown as the model wrote it, or replaced by the extractive answer
    # that holds the same fact; it is never refused.
    for question, expected in ((STUDY, "math, physics"), (TESLA, "robotics")):
        answer = answerer.ask(question)
        assert answer.mode in ("answer", "quote"), (question, [s.to_dict() for s in answer.sentences])
        assert expected in answer.text and answer.citations
    # What the passage says word for word is shown as the model's answer.
    answer = answerer.ask("Is Tesla a car company, according to Karpathy?")
    assert answer.mode == "answer" and "car company" in answer.text


def test_fabricated_answers_are_not_shown(seeded: Settings, tmp_path: Path) -> None:
    path = _replay(tmp_path, "fabricated", [{"question": STUDY, "sentences": FABRICATED},
                                            {"question": WAYMO, "sentences": SWAPPED}])
    answerer = _answerer(seeded, path, "fabricated")
    for question, invented in ((STUDY, "biology"), (WAYMO, "Tesla has a hardware problem")):
        answer = answerer.ask(question)
        assert invented not in answer.text, (question, answer.text)
        assert answer.mode in ("quote", "refusal")


def test_a_model_that_declines_is_respected(seeded: Settings, tmp_path: Path) -> None:
    path = _replay(tmp_path, "correct", [{"question": BIRTHDAY, "declines": True,
                                          "decline_text": "The passages do not mention his birthday."},
                                         {"question": WAYMO, "declines": True}])
    answerer = _answerer(seeded, path, "correct")
    for question in (BIRTHDAY, WAYMO):  # even where a loosely related quote exists
        answer = answerer.ask(question)
        if answer.refusal_reason == "the passages do not mention the main terms of the question":
            continue  # refused before the model was asked: also a refusal
        assert answer.refused and answer.text == REFUSAL
        assert answer.passages, "the closest passages are offered with the refusal"
