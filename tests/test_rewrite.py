from __future__ import annotations

from rag.rewrite import is_follow_up, standalone_question


def test_follow_up_detection() -> None:
    assert is_follow_up("and when did he leave?")
    assert is_follow_up("What about robotics?")
    assert is_follow_up("Why?")
    assert not is_follow_up("When did Karpathy join Tesla?")
    assert not is_follow_up("What is Software 2.0 according to Karpathy?")


def test_pronoun_resolved_and_topic_carried() -> None:
    q = standalone_question("and when did he leave?", ["When did Karpathy join Tesla?"])
    assert "Karpathy" in q and "tesla" in q.lower() and "leave" in q
    assert not q.lower().startswith("and")


def test_standalone_question_is_left_alone() -> None:
    assert standalone_question("Who is Fei-Fei Li?", ["When did Karpathy join Tesla?"]) == "Who is Fei-Fei Li?"
    assert standalone_question("and when did he leave?", []) == "and when did he leave?"


def test_latest_question_is_the_context() -> None:
    q = standalone_question("What about his PhD?", ["What did Karpathy do at Tesla?", "Where did Karpathy study?"])
    assert "Karpathy" in q and "study" in q


def test_questions_that_stand_alone_are_not_rewritten() -> None:
    history = ["Which course did Karpathy design at Stanford?"]
    for question in ("What is minbpe?", "Is there a course on computer vision?",
                     "Why does a demo take a decade to become a product?",
                     "How long did it take Waymo to go from demo to product?"):
        assert not is_follow_up(question)
        assert standalone_question(question, history) == question


def test_short_follow_up_after_tesla_keeps_the_topic() -> None:
    q = standalone_question("When did he leave?", ["When did Karpathy join Tesla?"])
    assert q.startswith("When did Karpathy leave") and "Tesla" in q


def test_condensed_rewrite_is_checked() -> None:
    from rag.rewrite import accept_condensed

    assert accept_condensed("When did Karpathy leave Tesla?", "When did he leave?") == "When did Karpathy leave Tesla?"
    assert accept_condensed("Standalone question: When did Karpathy leave Tesla?", "x?") == "When did Karpathy leave Tesla?"
    assert accept_condensed("", "When did he leave?") is None
    assert accept_condensed("Sure! Here are some ideas?\nA? B?", "When did he leave?") is None
