"""The answer policy's decisions on drafted sentences, with stand-ins for the verifier and
the relevance scorer so each rule is seen on its own."""

from __future__ import annotations

from rag.config import load_settings
from rag.extract import Extract
from rag.policy import AnswerPolicy
from rag.verifier import Support

PASSAGES = ["Waymo passage.", "Tesla passage."]


class Verifier:
    """Supports a claim only against the passages listed for it; may mark a contradiction."""

    def __init__(self, supports: dict[str, set[int]], contradicts: dict[str, set[int]] | None = None) -> None:
        self.supports, self.contradicts = supports, contradicts or {}

    def check(self, claim, passages, titles=(), question=""):  # noqa: ANN001, ANN201
        idx = {PASSAGES.index(p) for p in passages}
        if idx & self.supports.get(claim, set()):
            return Support(0.9, True, "", passages[0], {"x": 1.0})
        contradicted = bool(idx & self.contradicts.get(claim, set()))
        return Support(0.2, False, "the passage says the opposite" if contradicted else "missing", "", {"x": 0.0},
                       contradicted)

    def best(self, claim, passages, titles=(), question=""):  # noqa: ANN001, ANN201
        results = [self.check(claim, [p]) for p in passages]
        i = max(range(len(results)), key=lambda j: (results[j].supported, results[j].score))
        return i, results[i]


class Relevance:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def score(self, text: str, vector=None) -> float:  # noqa: ANN001
        return self.scores.get(text, 0.0)


def _policy(verifier: Verifier, relevance: Relevance, answerable: bool = True) -> AnswerPolicy:
    policy = AnswerPolicy(load_settings(), verifier, "Who has the software problem, Tesla or Waymo?", PASSAGES,
                          ["Waymo", "Tesla"], relevance)
    policy._answerable = answerable  # the answerability model's verdict, decided elsewhere
    return policy


def test_a_miscited_sentence_moves_to_the_passage_that_carries_it() -> None:
    claim = "Tesla has a software problem, which is easier to solve."
    check = _policy(Verifier({claim: {1}}), Relevance({claim: 0.9})).check_sentence(claim, [1])
    assert check.shown and check.citations == [2] and check.note == "citation corrected"


def test_a_sentence_its_own_passage_contradicts_is_not_rescued_by_another() -> None:
    claim = "Waymo has a software problem, which is easier to solve."
    verifier = Verifier({claim: {1}}, contradicts={claim: {0}})
    check = _policy(verifier, Relevance({claim: 0.9})).check_sentence(claim, [1])
    assert not check.shown and check.citations == [1] and "opposite" in check.reason


def test_the_models_first_claim_is_its_answer_when_the_corpus_answers() -> None:
    """"It's called Vibe Coding." shares few words with the question, yet it is the answer."""
    first, later = "It is called the software problem thesis.", "He expects the gap to close within years."
    verifier = Verifier({first: {0}, later: {0}})
    policy = _policy(verifier, Relevance({first: 0.1, later: 0.1}))
    assert policy.check_sentence(first, [1]).shown
    # When the corpus does not seem to answer, a supported but unrelated first claim is not an answer.
    assert not _policy(verifier, Relevance({first: 0.1}), answerable=False).check_sentence(first, [1]).shown


def test_a_later_claim_is_not_shown_first_unless_it_is_about_the_question() -> None:
    first, later = "Tesla invented the software problem in 1990.", "He expects the gap to close within years."
    verifier = Verifier({later: {0}})
    policy = _policy(verifier, Relevance({first: 0.9, later: 0.1}))
    assert not policy.check_sentence(first, [1]).shown  # unsupported: dropped
    check = policy.check_sentence(later, [1])
    assert not check.shown and check.reason == "not about the question"


class Reader:
    """Finds "CS231n" only when given the one sentence that holds it, like a reader lost in long text."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def span(self, question: str, evidence: str) -> str | None:
        self.read.append(evidence)
        return "CS231n" if evidence == "The class was designated CS231n." else None


def test_the_quotes_sentences_are_read_one_at_a_time_when_the_whole_fails() -> None:
    passage = ("He moved to Stanford in 2011. There he designed the first course on vision. "
               "The class was designated CS231n. It taught thousands.")
    window = "There he designed the first course on vision. The class was designated CS231n."
    policy = AnswerPolicy(load_settings(), Verifier({}), "Which course did he design?", [passage], ["Career"],
                          Relevance({}))
    reader = Reader()
    [quote] = policy.extracts([Extract(1, window, 0.6)], reader)
    assert quote.span == "CS231n" and quote.window.startswith(window)
    assert reader.read[0].startswith("He moved to Stanford") and reader.read[-1] == "The class was designated CS231n."


def test_a_second_quote_never_repeats_a_sentence_and_leads_when_it_holds_the_answer() -> None:
    passage = ("He moved to Stanford in 2011. There he designed the first course on vision. "
               "The class was designated CS231n. It taught thousands.")
    first, second = "He moved to Stanford in 2011.", "There he designed the first course on vision. " \
        "The class was designated CS231n."
    policy = AnswerPolicy(load_settings(), Verifier({}), "Where did he go, and which course did he design?",
                          [passage], ["Career"], Relevance({}))
    quotes = policy.extracts([Extract(1, first, 0.6), Extract(1, second, 0.5)], Reader())
    # The first quote took its next sentence along; the second keeps only what is new,
    # and leads because the short answer is in it.
    assert [q.window for q in quotes] == ["The class was designated CS231n.",
                                          "He moved to Stanford in 2011. There he designed the first course on vision."]
    assert quotes[0].span == "CS231n"


def test_a_short_sentence_is_a_claim_and_a_heading_is_not() -> None:
    sentence, heading = "He says we are in the 1960s of LLMs.", "Karpathy's career:"
    verifier = Verifier({sentence: {1}, heading: {1}})
    policy = _policy(verifier, Relevance({sentence: 0.9, heading: 0.9}))
    assert policy.check_sentence(sentence, [2]).shown
    check = policy.check_sentence(heading, [2])
    assert not check.shown and check.reason == "a fragment, not a claim"
