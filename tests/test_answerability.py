"""The answerability decision and its operating point (the model's training is issue 12's
reproducible script; these test the machinery on constructed signal vectors)."""

from __future__ import annotations

from pathlib import Path

from evals.calibrate import write_threshold
from rag.answerability import FEATURES, AnswerabilityModel
from rag.config import load_settings


def _model() -> AnswerabilityModel:
    weights = {f: 0.0 for f in FEATURES} | {"quote_relevance": 2.0, "coverage": 1.0, "unseen": -1.0}
    return AnswerabilityModel(weights, 0.0, {f: 0.5 for f in FEATURES}, {f: 0.1 for f in FEATURES},
                              quantiles=[i / 100 for i in range(100)])


def test_stronger_evidence_means_more_answerable() -> None:
    model = _model()
    weak = {f: 0.5 for f in FEATURES} | {"quote_relevance": 0.3, "coverage": 0.4, "unseen": 0.5}
    strong = weak | {"quote_relevance": 0.7, "coverage": 0.9, "unseen": 0.0}
    assert model.probability(strong) > 0.9 > 0.1 > model.probability(weak)


def test_operating_point_follows_the_stated_target() -> None:
    model = _model()
    assert model.threshold_for(0.10) == 0.10 and model.threshold_for(0.25) == 0.25
    assert model.threshold_for(0.0) == 0.0 and model.threshold_for(5.0) == 0.99  # clamped


def test_the_threshold_calibrate_writes_is_the_one_the_settings_load(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('data_dir = "/srv/rag"\ntop_k = 4\n', encoding="utf-8")
    write_threshold(config, 0.4321)
    write_threshold(config, 0.3123)  # rewritten, not appended twice
    text = config.read_text(encoding="utf-8")
    assert text.count("answerability_threshold") == 1 and 'data_dir = "/srv/rag"' in text
    settings = load_settings(config)
    assert settings.answerability_threshold == 0.3123 and settings.top_k == 4


def test_the_training_report_scores_the_quote_by_whether_it_holds_a_reference_answer() -> None:
    from evals.train_answerability import quote_holds_answer

    rows = [
        {"answerable": True, "answers": ["Eureka  Labs"], "quote": "He departed to launch eureka labs in 2024."},
        {"answerable": True, "answers": ["2017", "in 2017"], "quote": "He serves as a founding member of OpenAI."},
        {"answerable": False, "answers": [], "quote": "Anything at all."},  # unanswerable: not counted
        {"answerable": True, "answers": [""], "quote": "An empty reference never matches."},
    ]
    assert quote_holds_answer(rows) == round(1 / 3, 4)
    assert quote_holds_answer(rows[2:3]) is None
