"""The grounded-answer prompt, packed to the model's real context window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
import re
from dataclasses import dataclass

from .citations import REFUSAL
from .extract import display_text
from .llm import LLM, Message
from .retrieval import Candidate
from .text import split_sentences

__all__ = ["SYSTEM_PROMPT", "PackedPrompt", "build_prompt", "parse_prompt"]

# Short and concrete on purpose: a 135M-parameter model follows a plain rule
# and one example far better than a page of policy.
SYSTEM_PROMPT = f"""You answer questions using ONLY the numbered passages the user gives you.
Rules:
- Answer in one to three short sentences, using words from the passages.
- End every sentence with the number of the passage it comes from, like [1] or [2][3].
- Do not use anything you know that is not in the passages.
- If the passages do not answer the question, reply exactly: {REFUSAL}
Example: Karpathy led the Autopilot vision team at Tesla [2]."""

_MARGIN = 16  # tokens of slack for the chat template around each message


@dataclass
class PackedPrompt:
    messages: list[Message]
    passages: list[Candidate]  # the ones that made it into the prompt, numbered 1..n
    truncated: bool  # the model's window forced a passage to be shortened or left out
    prompt_tokens: int


def _passage_block(n: int, cand: Candidate, text: str | None = None) -> str:
    title = cand.chunk.title or "untitled"
    where = f", page {cand.chunk.page}" if cand.chunk.page else ""
    # Display form: the corpus's own "[10]" footnotes would read as citations.
    return f"[{n}] ({title}{where})\n{display_text(text if text is not None else cand.chunk.text)}"


def _user_message(blocks: Sequence[str], question: str) -> str:
    passages = "\n\n".join(blocks) if blocks else "(no passages)"
    return f"Passages:\n\n{passages}\n\nQuestion: {question}\nAnswer with citations:"


_PASSAGE_RE = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=^\[\d+\] \(|^Question:|\Z)", re.M | re.S)
_QUESTION_RE = re.compile(r"^Question:\s*(.+)$", re.M)


def parse_prompt(messages: Sequence[Message]) -> tuple[str, dict[int, str]]:
    """The question and the numbered passages of a prompt made by :func:`build_prompt`.

    Scripted backends (``fake``, ``replay``) read their prompt back this way.
    """
    prompt = messages[-1]["content"] if messages else ""
    question = _QUESTION_RE.search(prompt)
    passages = {int(m.group(1)): m.group(2).strip() for m in _PASSAGE_RE.finditer(prompt)}
    return (question.group(1).strip() if question else ""), passages


def build_prompt(
    question: str,
    passages: Sequence[Candidate],
    llm: LLM,
    max_answer_tokens: int,
    passage_budget: int | None = None,
    focus: Callable[[Candidate], list[str]] | None = None,
) -> PackedPrompt:
    """Number the passages and add them in rank order while they fit.

    The hard limit is the model's window minus the answer, the system prompt,
    the question and template slack: the prompt never overflows it. Within
    ``passage_budget`` tokens of passage text (when given), each passage gets
    an equal share of what is left; one that does not fit its share is cut to
    its most relevant sentences, as ranked by ``focus`` (kept in text order),
    else to its opening sentences. The top passage always goes in: when not
    even its best sentence fits its share, it takes what the others would have
    had, and a sentence longer than the whole budget is cut to fit.
    """
    window = llm.context_window - max_answer_tokens - _MARGIN
    fixed = llm.count_tokens(SYSTEM_PROMPT) + llm.count_tokens(_user_message([], question)) + 2 * _MARGIN
    budget = window - fixed
    # Trimming to a chosen passage budget is by design; only the window forcing
    # it is worth a warning.
    window_binding = passage_budget is None or passage_budget >= budget
    if passage_budget is not None:
        budget = min(budget, passage_budget)
    blocks: list[str] = []
    used: list[Candidate] = []
    truncated = False
    for i, cand in enumerate(passages):
        share = budget // (len(passages) - i)
        if not used:
            share = _top_share(cand, llm, budget, share, focus)
        block = _passage_block(len(used) + 1, cand)
        cost = llm.count_tokens(block) + 4
        if cost > share:
            truncated = truncated or window_binding
            ranked = focus(cand) if focus else split_sentences(cand.chunk.text)
            order = {sent: k for k, sent in enumerate(split_sentences(cand.chunk.text))}
            kept: list[str] = []
            for sentence in ranked:
                trial = sorted(kept + [sentence], key=lambda x: order.get(x, 0))
                trial_block = _passage_block(len(used) + 1, cand, " ".join(trial))
                trial_cost = llm.count_tokens(trial_block) + 4
                if trial_cost > share:
                    break
                kept, block, cost = trial, trial_block, trial_cost
            if not kept and not used:
                block, cost = _cut_to_fit(cand, llm, ranked[0] if ranked else cand.chunk.text, share)
                kept = [block]
            if not kept:
                continue  # not even one sentence fits; its share goes to the next passage
        blocks.append(block)
        used.append(cand)
        budget -= cost
    messages: list[Message] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": _user_message(blocks, question)},
    ]
    return PackedPrompt(messages, used, truncated, llm.prompt_tokens(messages))


def _top_share(cand: Candidate, llm: LLM, budget: int, share: int,
               focus: Callable[[Candidate], list[str]] | None) -> int:
    """The top passage's share: enough for its most relevant sentence when the equal share is not."""
    ranked = focus(cand) if focus else split_sentences(cand.chunk.text)
    if not ranked:
        return share
    need = llm.count_tokens(_passage_block(1, cand, ranked[0])) + 4
    return max(share, min(need, budget))


def _cut_to_fit(cand: Candidate, llm: LLM, sentence: str, share: int) -> tuple[str, int]:
    """The top passage's best sentence, cut word by word to ``share`` tokens."""
    words = sentence.split()
    while words:
        block = _passage_block(1, cand, " ".join(words) + " …")
        cost = llm.count_tokens(block) + 4
        if cost <= share:
            return block, cost
        words = words[: max(1, int(len(words) * 0.8))] if len(words) > 1 else []
    block = _passage_block(1, cand, "…")
    return block, llm.count_tokens(block) + 4
