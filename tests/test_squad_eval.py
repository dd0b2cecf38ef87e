"""The scripted strong model used to measure how far a capable model's own refusals move the curve."""

from __future__ import annotations

import json
from pathlib import Path

from evals.squad import SquadParagraph, SquadQuestion
from evals.squad_eval import scripted_decliner

PARAGRAPH = SquadParagraph("00-0", "Normans", "The Normans came from Normandy. Rollo was their first ruler. "
                                              "They fought at Hastings in 1066.")


def _questions() -> list[SquadQuestion]:
    answerable = [SquadQuestion("a", "Who was the first ruler?", ("Rollo",), "00-0")]
    unanswerable = [SquadQuestion(f"u{i}", f"Who was the last ruler {i}?", (), "00-0", False, ("Rollo",))
                    for i in range(10)]
    return answerable + unanswerable


def test_the_scripted_model_cites_the_answer_sentence_and_declines_otherwise(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in scripted_decliner([PARAGRAPH], _questions(), tmp_path / "s.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert rows[0]["sentences"] == [{"text": "Rollo was their first ruler.", "evidence": "Rollo was their first ruler."}]
    assert all(r.get("declines") for r in rows[1:])


def test_a_fooled_share_answers_that_many_unanswerable_questions_with_the_plausible_sentence(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in scripted_decliner([PARAGRAPH], _questions(), tmp_path / "s.jsonl", 0.3)
            .read_text(encoding="utf-8").splitlines()]
    answered = [r for r in rows[1:] if "sentences" in r]
    assert len(answered) == 3
    assert all(r["sentences"][0]["text"] == "Rollo was their first ruler." for r in answered)
