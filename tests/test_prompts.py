from __future__ import annotations

from rag.citations import REFUSAL
from rag.documents import Chunk
from rag.llm import FakeLLM
from rag.prompts import SYSTEM_PROMPT, build_prompt
from rag.retrieval import Candidate


def cand(i: int, sentences: int = 12) -> Candidate:
    text = " ".join(f"Sentence {j} of passage {i} talks about topic{j}." for j in range(sentences))
    return Candidate(Chunk(f"c{i}", f"s{i}.txt", f"Title {i}", 0, 0, len(text), text, "h", 1), fused_score=1.0 / (i + 1))


def test_prompt_shows_numbered_passages_and_the_citation_format() -> None:
    packed = build_prompt("What about topic3?", [cand(0, 2), cand(1, 2)], FakeLLM(), 100)
    user = packed.messages[1]["content"]
    assert "[1] (Title 0)" in user and "[2] (Title 1)" in user and "Question: What about topic3?" in user
    assert "[1]" in SYSTEM_PROMPT and "[2][3]" in SYSTEM_PROMPT and REFUSAL in SYSTEM_PROMPT
    assert not packed.truncated and len(packed.passages) == 2


def test_budget_trims_passages_to_their_most_relevant_sentences() -> None:
    llm = FakeLLM()
    passages = [cand(i) for i in range(4)]

    def focus(c: Candidate) -> list[str]:  # pretend sentence 7 is the relevant one
        from rag.text import split_sentences

        sentences = split_sentences(c.chunk.text)
        return [sentences[7]] + [s for k, s in enumerate(sentences) if k != 7]

    packed = build_prompt("topic7?", passages, llm, 100, passage_budget=160, focus=focus)
    user = packed.messages[1]["content"]
    assert not packed.truncated and len(packed.passages) == 4  # trimmed by budget, not by the window
    assert user.count("topic7") == 5  # once per passage, plus the question
    assert llm.count_tokens(user) - llm.count_tokens("topic7?") < 160 + 40


class Tiny(FakeLLM):
    @property
    def context_window(self) -> int:
        return 300


def test_prompt_never_overflows_the_window() -> None:
    llm = Tiny()
    packed = build_prompt("topic1?", [cand(i, 30) for i in range(6)], llm, 64)
    assert llm.prompt_tokens(packed.messages) <= llm.context_window - 64
