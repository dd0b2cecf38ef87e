"""The ``replay`` LLM backend: prewritten answers, cited the way a careful model would.

For tests, demos, and for checking the pipeline against answers you wrote
yourself (for instance a strong model's answers, true and fabricated), without
calling a model. A replay file is JSON Lines, one scripted answer per line:

    {"question": "Who supervised his PhD?",
     "sentences": [{"text": "Fei-Fei Li supervised it.", "evidence": "under Fei-Fei Li"}]}
    {"question": "When is his birthday?", "declines": true,
     "decline_text": "The passages do not say when he was born."}
    {"question": "What is minbpe?", "answer": "Free text with its own [1] markers."}

Each sentence is written with the number of the passage (in this prompt) that
contains its ``evidence`` phrase (case- and space-insensitive); a sentence
whose evidence is in no passage is left out, and when no sentence's evidence
is in the prompt the model says it cannot answer, as a model that only sees
these passages would. ``answer`` is replayed verbatim. A file may hold several
``variant``s per question (``correct``, ``fabricated``); ``replay_variant``
picks one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import BackendError, ConfigError
from .llm import LLM, Message
from .prompts import parse_prompt
from .text import normalise_for_match

__all__ = ["ReplayLLM", "DECLINE", "question_key"]

#: What the replay model says when the prompt's passages hold none of its evidence.
DECLINE = "The provided passages do not contain the answer to this question."

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def question_key(question: str) -> str:
    """Questions match case-, space- and punctuation-insensitively."""
    return re.sub(r"[^\w ]+", "", normalise_for_match(question)).strip()


class ReplayLLM(LLM):
    """Answers from a JSONL file of scripted answers keyed by question."""

    condenses = False  # it only knows the scripted questions

    def __init__(self, path: str | Path, variant: str = "correct") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"replay file {self.path} not found; set RAG_REPLAY_FILE to a JSONL of scripted answers")
        self.variant = variant
        self.name = f"replay:{self.path.name}:{variant}"
        self._answers: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = question_key(row["question"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{self.path}:{number}: not a scripted answer ({exc})") from None
            if row.get("variant", variant) == variant:
                self._answers[key] = row

    @property
    def context_window(self) -> int:
        return 8192

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def reply(self, messages: Sequence[Message]) -> str:
        """The whole scripted reply to a grounded-answer prompt."""
        question, passages = parse_prompt(messages)
        row = self._answers.get(question_key(question))
        if row is None:
            raise BackendError(f"the replay file {self.path.name} has no answer for {question!r}")
        if row.get("answer"):
            return str(row["answer"])
        if row.get("declines"):
            return str(row.get("decline_text") or DECLINE)
        normalised = {n: normalise_for_match(text) for n, text in passages.items()}
        out = []
        for sentence in row.get("sentences", []):
            phrase = normalise_for_match(str(sentence.get("evidence", "")))
            cited = [n for n, text in normalised.items() if phrase and phrase in text]
            if cited:
                text = str(sentence["text"]).strip()
                end = text[-1] if text[-1:] in ".!?" else "."
                out.append(f"{text.rstrip('.!?')} [{cited[0]}]{end}")
        return " ".join(out) if out else DECLINE

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Iterator[str]:
        yield from re.findall(r"\S+\s*", self.reply(messages))
