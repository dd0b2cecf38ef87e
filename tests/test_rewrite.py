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
