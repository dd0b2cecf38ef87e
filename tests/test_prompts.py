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


def test_the_top_passage_always_goes_in_even_when_its_share_is_too_small() -> None:
    from rag.documents import Chunk
    from rag.llm import FakeLLM
    from rag.prompts import build_prompt
    from rag.retrieval import Candidate

    long_sentence = "The Waymo demo in 2014 was a flawless ride " + "around the block " * 60 + "."
    top = Candidate(Chunk(id="a", source="a.txt", title="A", text=long_sentence, start=0, end=len(long_sentence),
                          index=0, doc_hash="h", doc_chunks=1), fused_score=1.0)
    others = [Candidate(Chunk(id=f"b{i}", source="b.txt", title="B", text=f"Short passage number {i}.", start=0,
                              end=24, index=i, doc_hash="h", doc_chunks=1), fused_score=0.5) for i in range(4)]
    packed = build_prompt("Which demo, and what year?", [top, *others], FakeLLM(), 64, passage_budget=120)
    assert packed.passages[0].chunk.id == "a"  # cut to fit, never dropped
    assert "[1] (A)" in packed.messages[-1]["content"] and "2014" in packed.messages[-1]["content"]
