from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import ingest, load_document
from rag.answer import Answerer, QuestionError
from rag.citations import REFUSAL
from rag.config import Settings
from rag.errors import BackendError
from rag.llm import FakeLLM
from tests.conftest import SEEDS

CAREER = "career-profile.txt"


@pytest.fixture
def ask_settings(settings: Settings) -> Settings:
    # The fake embedder's cosine scale differs from MiniLM's; thresholds to match.
    return settings.model_copy(
        update={"llm": "fake", "min_dense_score": 0.1, "min_query_coverage": 0.5, "support_threshold": 0.5,
                "min_quote_relevance": 0.45, "top_k": 4}
    )


@pytest.fixture
def indexed(ask_settings: Settings) -> Settings:
    ingest([SEEDS], ask_settings, progress=False)
    return ask_settings


def answerer(settings: Settings, replies=None) -> Answerer:  # noqa: ANN001
    return Answerer(settings, llm=FakeLLM(replies))


def passage_number(ans, filename: str, phrase: str) -> int:  # noqa: ANN001
    for n, p in enumerate(ans.passages, start=1):
        if Path(p.chunk.source).name == filename and phrase in p.chunk.text:
            return n
    raise AssertionError(f"no passage from {filename} containing {phrase!r}")


QUESTION = "Under whom did Karpathy work at Stanford University?"
FACT = "His work at Stanford University under Fei-Fei Li established his initial reputation."


def test_supported_sentence_is_kept_with_its_citation(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    ans = answerer(indexed, [f"{FACT} [{n}]"]).ask(QUESTION)
    assert ans.mode == "answer" and not ans.refused
    assert ans.text == f"{FACT} [{n}]"
    assert [c.n for c in ans.citations] == [n]
    cit = ans.citations[0]
    doc = load_document(SEEDS / Path(cit.source).name)  # sources are keyed "seeds/<file>"
    assert doc.text[cit.start : cit.end] == cit.text
    assert doc.text[cit.evidence_start : cit.evidence_end] == cit.evidence
    assert "Fei-Fei Li" in cit.evidence
    assert ans.sentences[0].supported and ans.removed_citations == 0


def test_invented_number_and_name_are_dropped(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    draft = f"{FACT} [{n}] He studied there under Geoffrey Hinton [{n}]. It cost 4,000 dollars in 1999 [{n}]."
    ans = answerer(indexed, [draft]).ask(QUESTION)
    assert ans.mode == "answer"
    assert "Hinton" not in ans.text and "1999" not in ans.text
    reasons = [v.reason for v in ans.sentences if not v.supported]
    assert any("geoffrey" in r or "hinton" in r for r in reasons) and any("number" in r for r in reasons)


def test_unsupported_sentences_can_be_shown_marked(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    s = indexed.model_copy(update={"show_unsupported": True})
    ans = answerer(s, [f"{FACT} [{n}] He was born on Mars in 1850 [{n}]."]).ask(QUESTION)
    assert "[unsupported]" in ans.text and "Mars" in ans.text


def test_citation_to_a_missing_passage_is_removed_and_counted(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    ans = answerer(indexed, [f"{FACT} [{n}][9]"]).ask(QUESTION)
    assert ans.removed_citations == 1
    assert "[9]" not in ans.text and f"[{n}]" in ans.text


def test_uncited_or_miscited_sentence_gets_the_right_passage(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    wrong = next(i for i in range(1, len(probe.passages) + 1) if "Fei-Fei" not in probe.passages[i - 1].chunk.text)
    for draft, note in ((FACT, "citation added"), (f"{FACT} [{wrong}]", "citation corrected")):
        ans = answerer(indexed, [draft]).ask(QUESTION)
        assert ans.sentences[0].citations == [n] and ans.sentences[0].note == note
        assert ans.text.endswith(f"[{n}]")


def test_nothing_supported_falls_back_to_a_quote_with_its_short_answer(indexed: Settings) -> None:
    ans = answerer(indexed, ["He worked with Geoffrey Hinton in Toronto in 1980 [1]."]).ask(QUESTION)
    assert ans.mode == "quote" and not ans.refused
    assert ans.short_answer == "Fei-Fei Li"
    assert ans.text.startswith("Fei-Fei Li — “") and "Hinton" not in ans.text
    quoted = ans.sentences[-1]
    assert quoted.note == "quoted" and ans.citations[0].n == quoted.citations[0]


def test_out_of_corpus_question_is_refused_without_calling_the_llm(indexed: Settings) -> None:
    llm = FakeLLM(["Knead the dough and bake it [1]."])
    # No word of it occurs in the corpus (with the hashing test embedder, dense
    # scores say little; the real one also finds no passage about it).
    ans = Answerer(indexed, llm=llm).ask("How do I bake sourdough bread?")
    assert ans.refused and ans.text == REFUSAL and ans.mode == "refusal"
    assert llm.calls == []
    assert ans.passages and ans.refusal_reason


def test_absent_fact_with_invented_answer_is_refused(indexed: Settings) -> None:
    s = indexed.model_copy(update={"min_query_coverage": 0.0, "min_quote_relevance": 0.9})
    ans = answerer(s, ["Karpathy was born on 23 October 1986 [1]."]).ask("When is Karpathy's birthday?")
    assert ans.refused and ans.text == REFUSAL
    assert ans.sentences and not ans.sentences[0].supported


def test_empty_question_is_an_error(indexed: Settings) -> None:
    for q in ("", "   \n\t", "\x00\x01"):
        with pytest.raises(QuestionError, match="empty"):
            answerer(indexed).ask(q)


def test_huge_question_is_truncated_with_a_warning(indexed: Settings) -> None:
    ans = answerer(indexed).ask("Tesla Autopilot " * 10_000)
    assert len(ans.question) <= indexed.max_question_chars
    assert any("characters" in w for w in ans.warnings)


class DeadLLM(FakeLLM):
    def stream(self, messages, **kwargs) -> Iterator[str]:  # noqa: ANN001
        raise BackendError("cannot reach the LLM server at http://127.0.0.1:9/v1; is it running?")
        yield ""  # pragma: no cover


def test_backend_failure_gives_message_and_passages(indexed: Settings) -> None:
    ans = Answerer(indexed, llm=DeadLLM()).ask(QUESTION)
    assert ans.mode == "error" and "cannot reach" in ans.error
    assert ans.passages and not ans.refused


def test_stream_yields_retrieval_tokens_checked_sentences_then_final(indexed: Settings) -> None:
    probe = answerer(indexed).ask(QUESTION)
    n = passage_number(probe, CAREER, FACT)
    draft = f"{FACT} [{n}] He was born on Mars in 1850 [{n}]."
    events = list(answerer(indexed, [draft]).stream(QUESTION))
    kinds = [e.kind for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "final" and set(kinds[1:-1]) == {"token", "sentence"}
    final = events[-1].answer
    assert "".join(e.text for e in events if e.kind == "token") == final.draft
    # Only checked text is offered for display, and it arrives before the draft ends.
    shown = [e.text for e in events if e.kind == "sentence"]
    assert shown == [f"{FACT} [{n}]"] and "Mars" not in " ".join(shown)
    first_sentence = kinds.index("sentence")
    assert first_sentence < max(i for i, k in enumerate(kinds) if k == "token")
    assert final.timings["first_token"] <= final.timings["generation"] <= final.timings["total"]
    assert final.timings["first_sentence"] <= final.timings["total"]


def test_follow_up_is_rewritten_before_retrieval(indexed: Settings) -> None:
    ans = answerer(indexed).ask("and when did he leave?", history=["When did Karpathy join Tesla?"])
    assert "Karpathy" in ans.standalone_question and "tesla" in ans.standalone_question.lower()
    assert any("Tesla" in p.chunk.text for p in ans.passages)


class TinyWindowLLM(FakeLLM):
    @property
    def context_window(self) -> int:
        return 420


def test_prompt_is_packed_into_the_window(indexed: Settings) -> None:
    llm = TinyWindowLLM()
    s = indexed.model_copy(update={"top_k": 8, "max_answer_tokens": 64})
    ans = Answerer(s, llm=llm).ask(QUESTION)
    prompt_tokens = llm.prompt_tokens(llm.calls[0])
    assert prompt_tokens <= llm.context_window - 64
    assert len(ans.passages) < 8
    assert any("context window" in w for w in ans.warnings)


def test_json_shape(indexed: Settings) -> None:
    data = answerer(indexed).ask(QUESTION).to_dict()
    assert {"question", "answer", "refused", "citations", "passages", "model", "timings"} <= set(data)
    assert {"n", "source", "chunk_id", "text", "start", "end"} <= set(data["citations"][0])
    assert {"n", "source", "chunk_id", "text", "score"} <= set(data["passages"][0])
    cand = data["retrieval"]["candidates"][0]
    assert {"dense_score", "lexical_score", "fused_score", "rank"} <= set(cand)


class CondensingLLM(FakeLLM):
    condenses = True  # stands in for a capable model


def test_a_capable_model_condenses_follow_ups(indexed: Settings) -> None:
    def reply(messages) -> str:  # noqa: ANN001
        if "Standalone question:" in messages[-1]["content"]:
            return "When did Karpathy leave Tesla?"
        return FakeLLM()._reply(messages)

    ans = Answerer(indexed, llm=CondensingLLM(reply)).ask("When did he leave?", history=["When did Karpathy join Tesla?"])
    assert ans.standalone_question == "When did Karpathy leave Tesla?"
    # A standalone question is never sent for rewriting.
    llm = CondensingLLM()
    Answerer(indexed, llm=llm).ask("What is minbpe?", history=["When did Karpathy join Tesla?"])
    assert all("Standalone question:" not in call[-1]["content"] for call in llm.calls)


def test_a_model_that_declines_gets_a_refusal_not_a_quote(indexed: Settings) -> None:
    ans = answerer(indexed, ["The passages do not contain the answer to this question."]).ask(QUESTION)
    assert ans.refused and ans.text == REFUSAL and ans.mode == "refusal"
    assert ans.refusal_reason == "the model found no answer in the passages"
    assert ans.passages  # the closest passages come with it


def test_a_drafting_model_reads_eight_passages_and_refusal_reads_its_trained_depth(
        indexed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset, ``top_k`` is 8 for a model that drafts and 5 for the embedded model's quotes;
    answerability (and the quote it scores) reads the depth it was trained at, whatever the
    model is given: more passages would raise its signals for questions nobody answers."""
    import rag.answer
    from rag.policy import passages_for

    unset = indexed.model_copy(update={"top_k": None})
    assert passages_for(unset) == 8
    assert passages_for(unset.model_copy(update={"llm": "llamacpp", "llm_model": None})) == 5
    assert passages_for(unset.model_copy(update={"top_k": 3})) == 3
    invented = ["He worked with Geoffrey Hinton in Toronto in 1980 [1]."]  # unsupported: the quote follows

    def signals(depth: int, top_k: int | None) -> tuple[dict, object]:
        monkeypatch.setattr(rag.answer, "assessed_passages", lambda: depth)
        ans = answerer(indexed.model_copy(update={"top_k": top_k}), invented).ask(QUESTION)
        assert ans.mode == "quote" and len(ans.passages) == (top_k or 8)
        assert all(c.n <= depth for c in ans.citations)  # the quote is from the passages assessed
        return ans.answerability["signals"], ans

    eight, _ = signals(2, None)
    two, _ = signals(2, 2)
    assert eight == two
    assert signals(8, None)[0] != two  # the depth matters: the comparison above can fail
