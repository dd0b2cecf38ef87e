from __future__ import annotations

from hypothesis import given, settings as hsettings, strategies as st

from rag.citations import REFUSAL, is_refusal, parse_answer
from rag.text import has_negation, names, numbers, split_sentences


def test_sentences_and_their_citations() -> None:
    parsed = parse_answer("Karpathy taught CS231n [1]. He joined Tesla in 2017 [2][3]. Plain claim.", 3)
    assert [(s.text, s.citations) for s in parsed.sentences] == [
        ("Karpathy taught CS231n.", [1]),
        ("He joined Tesla in 2017.", [2, 3]),
        ("Plain claim.", []),
    ]
    assert parsed.invalid_citations == [] and not parsed.said_refusal


def test_citation_after_the_full_stop_belongs_to_the_sentence() -> None:
    parsed = parse_answer("He led Autopilot. [2] Then he left.[1]", 2)
    assert [(s.text, s.citations) for s in parsed.sentences] == [("He led Autopilot.", [2]), ("Then he left.", [1])]


def test_variant_marker_styles_are_normalised() -> None:
    parsed = parse_answer("A [1, 2]. B [Passage 3]. C (source 1). D [1-3].", 3)
    assert [s.citations for s in parsed.sentences] == [[1, 2], [3], [1], [1, 2, 3]]


def test_citations_to_missing_passages_are_removed_and_counted() -> None:
    parsed = parse_answer("Claim one [1][7]. Claim two [0]. Claim three [99999].", 2)
    assert [s.citations for s in parsed.sentences] == [[1], [], []]
    assert sorted(parsed.invalid_citations) == [0, 7, 99999]


def test_refusal_phrase_is_recognised() -> None:
    assert parse_answer(REFUSAL, 3).said_refusal
    assert is_refusal("Sorry, the passages do not contain that.")
    assert not is_refusal("Karpathy joined OpenAI.")


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=0, max_value=12))
def test_property_any_string_parses_within_range(text: str, n: int) -> None:
    parsed = parse_answer(text, n)
    for sentence in parsed.sentences:
        assert all(1 <= c <= n for c in sentence.citations)
        assert "[" not in sentence.text or "]" not in sentence.text or not any(
            f"[{c}]" in sentence.text for c in range(0, 50)
        )


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["Claim", " about", " Tesla", ".", " [1]", " [4]", "[2, 9]", " [x]", "\n", "[", "]"]), max_size=40))
def test_property_marker_soup_never_escapes_range(parts: list[str]) -> None:
    parsed = parse_answer("".join(parts), 3)
    assert all(1 <= c <= 3 for s in parsed.sentences for c in s.citations)


def test_split_sentences_keeps_abbreviations_together() -> None:
    text = "He was on No Priors Ep. 80 with Sarah. It aired in 2024! Was it good? Yes, e.g. for robotics."
    assert split_sentences(text) == [
        "He was on No Priors Ep. 80 with Sarah.",
        "It aired in 2024!",
        "Was it good?",
        "Yes, e.g. for robotics.",
    ]


def test_numbers_names_negation() -> None:
    assert numbers("In 2017 he had 2,000 GPUs and ten ideas, 3.50 each") >= {"2017", "2000", "10", "3.5"}
    assert {"karpathy", "tesla", "fei-fei"} <= names("The work of Karpathy at Tesla with Fei-Fei Li.")
    assert "the" not in names("The car drove.")
    assert has_negation("Tesla does not use LiDAR") and has_negation("He didn't go")
    assert not has_negation("Tesla uses cameras")


def test_the_many_ways_a_model_declines_are_recognised() -> None:
    from rag.citations import is_refusal

    for text in ("The provided passages don't mention Andrej Karpathy's birthday.",
                 "Nothing in the provided passages mentions Karpathy's first pet.",
                 "The passages say he left OpenAI in 2024, but they don't give the month it launched.",
                 "The passages are about AI and contain no instructions for baking bread.",
                 "I couldn't find that in the corpus."):
        assert is_refusal(text), text
    for text in ("Karpathy does not think Tesla is a car company.",
                 "Those costs are context engineering and evals: everything around it isn't solved.",
                 "No, he calls it a robotics company."):
        assert not is_refusal(text), text
