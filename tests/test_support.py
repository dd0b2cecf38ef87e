from __future__ import annotations

import pytest

from rag.embeddings import FakeEmbedder
from rag.extract import answer_type, has_answer_type
from rag.support import SupportChecker

PASSAGE = (
    "Elon Musk recruited Karpathy in 2017 to lead computer vision at Tesla. "
    "The National Highway Traffic Safety Administration recorded 758 complaints. "
    "Tesla does not use LiDARs in its cars."
)


@pytest.fixture(scope="module")
def checker() -> SupportChecker:
    return SupportChecker(FakeEmbedder(dimension=256), threshold=0.45)


def test_copied_claim_is_supported(checker: SupportChecker) -> None:
    result = checker.check("Elon Musk recruited Karpathy in 2017 to lead computer vision at Tesla. [1]", [PASSAGE])
    assert result.supported and result.score > 0.9
    assert "2017" in result.evidence


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Elon Musk recruited Karpathy in 2019 to lead computer vision at Tesla.", "number 2019"),
        ("Sam Altman recruited Karpathy in 2017 to lead computer vision at Tesla.", "name"),
        ("The safety administration recorded 900 complaints about Tesla.", "number 900"),
        ("Tesla uses LiDARs in its cars.", "negation"),
        ("Karpathy did not lead computer vision at Tesla.", "negation"),
        ("Tesla.", "too short"),
        ("Bananas grow on tall tropical plants near beaches in summer.", "overlap"),
    ],
)
def test_hallucinations_are_caught(checker: SupportChecker, claim: str, reason: str) -> None:
    result = checker.check(claim, [PASSAGE])
    assert not result.supported and reason in result.reason


def test_acronyms_plurals_and_hyphens_are_not_false_alarms(checker: SupportChecker) -> None:
    assert checker.check("NHTSA recorded 758 complaints.", [PASSAGE]).supported
    assert checker.check("Tesla does not use LiDAR in its cars.", [PASSAGE]).supported


def test_claim_is_scored_within_one_window_not_the_whole_passage() -> None:
    checker = SupportChecker(FakeEmbedder(dimension=256), threshold=0.45)
    claim = "He designed the minbpe course at Stanford in 2015."
    rows = ["Project | Year", "minbpe | 2024", "nanoGPT | 2023", "micrograd | 2020", "Education | Notes",
            "Zero to Hero | YouTube", "He designed courses at Stanford in 2015."]
    scattered = checker.check(claim, ["\n".join(rows)])
    together = checker.check(claim, ["He designed the minbpe course at Stanford in 2015, for students."])
    assert together.supported
    assert scattered.score < together.score - 0.15
    assert "minbpe" not in scattered.evidence


def test_best_picks_the_supporting_passage(checker: SupportChecker) -> None:
    index, result = checker.best("Tesla does not use LiDARs in its cars.", ["Unrelated text about bread.", PASSAGE])
    assert index == 1 and result.supported


def test_answer_types() -> None:
    assert answer_type("When did he join Tesla?") == "date"
    assert answer_type("How many complaints were there?") == "number"
    assert answer_type("Who recruited Karpathy?") == "name"
    assert answer_type("Why does data matter?") is None
    assert has_answer_type("He joined in 2017.", "date", "When did he join?")
    assert not has_answer_type("He joined Tesla.", "date", "When did he join?")
    assert has_answer_type("Elon Musk recruited him.", "name", "Who recruited Karpathy?")
    assert not has_answer_type("Karpathy was recruited.", "name", "Who recruited Karpathy?")
