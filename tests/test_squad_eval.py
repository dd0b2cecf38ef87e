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


def test_the_paragraph_removed_set_indexes_even_paragraphs_and_asks_about_all() -> None:
    from evals.squad import paragraph_removed, removed_split

    paragraphs = [SquadParagraph(f"{a:02d}-{i}", f"T{a}", f"text {a} {i}") for a in range(18) for i in range(4)]
    questions = [SquadQuestion(f"q{a}-{i}-{k}", "Who?", ("x",), f"{a:02d}-{i}") for a in range(18) for i in range(4)
                 for k in range(3)]
    indexed, asked = paragraph_removed(paragraphs, questions)
    assert {p.pid.split("-")[1] for p in indexed} == {"0", "2"}
    assert {p.pid.split("-")[0] for p in indexed} == {f"{a:02d}" for a in range(16)}  # 16 articles only
    assert len(asked) == 16 * 4 * 3 // 3
    assert all(q.answerable == (int(q.pid.split("-")[1]) % 2 == 0) for q in asked)
    assert {removed_split(q) for q in asked if int(q.article) >= 8} == {"test"}
    assert {removed_split(q) for q in asked if int(q.article) < 8} == {"train"}


def test_the_refusal_curve_moves_only_the_answerability_refusals() -> None:
    from evals.squad_eval import refusal_curve
    from rag.policy import NOT_ANSWERED

    records = [
        {"answerable": True, "refused": False, "refusal_reason": None, "probability": 0.6},
        {"answerable": True, "refused": True, "refusal_reason": NOT_ANSWERED, "probability": 0.2},
        {"answerable": False, "refused": True, "refusal_reason": "the passages do not say which month",
         "probability": 0.9},
        {"answerable": False, "refused": False, "refusal_reason": None, "probability": 0.4},
    ]
    curve = {round(t, 3): (wrong, right) for t, wrong, right in refusal_curve(records)}
    assert curve[0.0] == (0.0, 0.5)  # only the slot refusal stays
    assert curve[0.3] == (0.5, 0.5)
    assert curve[0.5] == (0.5, 1.0)
    assert curve[1.0] == (1.0, 1.0)
