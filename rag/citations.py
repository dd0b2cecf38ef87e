"""Citations as data: parse an LLM answer into sentences and passage numbers.

The prompt asks for markers like ``[1]`` or ``[2][3]``. Models also write
``[1, 2]``, ``[Passage 1]`` or ``(Source 2)``; those are normalised. A marker
pointing at a passage that was not given is removed and counted: it is an
error, never decoration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import split_sentences

__all__ = ["REFUSAL", "ParsedSentence", "ParsedAnswer", "parse_answer", "is_refusal", "format_citations"]

#: The one refusal phrase the product says, that tests and evals check for.
REFUSAL = "I couldn't find that in the corpus."

_REFUSAL_HINTS = (
    "couldn't find that in the corpus",
    "could not find that in the corpus",
    "not in the corpus",
    "passages do not contain",
    "passages don't contain",
    "no information",
    "not mentioned in the passages",
    "cannot answer",
    "can't answer",
)

# "[Passage 1]", "[source 2]", "[doc 3]", "(Passage 4)" -> "[n]"
_NAMED = re.compile(r"[\[(]\s*(?:passage|source|doc(?:ument)?|ref)\s*#?\s*(\d{1,4})\s*[\])]", re.I)
# "[1, 2]", "[1,2 ,3]", "[1 and 2]", "[1; 2]" -> "[1][2]"
_LIST = re.compile(r"\[\s*(\d{1,4}(?:\s*(?:,|;|and|&)\s*\d{1,4})+)\s*\]")
# "[1-3]" -> "[1][2][3]" (short ranges only)
_RANGE = re.compile(r"\[\s*(\d{1,2})\s*[-–]\s*(\d{1,2})\s*\]")
_MARKER = re.compile(r"\[(\d{1,6})\]")
# "The answer is:", "Answer:", "According to the passages," carry no claim.
_PREAMBLE = re.compile(
    r"^\s*(?:(?:the\s+)?answer(?:\s+is)?\s*[:\-]\s*|according to (?:the )?(?:passages?|sources?)\s*\d*\s*,\s*)",
    re.I,
)


@dataclass
class ParsedSentence:
    text: str  # without citation markers
    citations: list[int] = field(default_factory=list)  # valid passage numbers, in order, unique


@dataclass
class ParsedAnswer:
    sentences: list[ParsedSentence]
    invalid_citations: list[int]  # markers that pointed at no given passage
    said_refusal: bool  # the model itself said it could not answer


# A model declining talks about the passages and what they lack: "The provided passages
# don't mention his birthday", "Nothing in the passages says ...", "they give no figure".
_ABOUT_PASSAGES = re.compile(
    r"\b(?:the|these|those|provided|given|retrieved)\s+(?:provided\s+|given\s+|retrieved\s+)?"
    r"(?:passages?|sources?|context|documents?|excerpts?|text)\b|\bthey\b(?=.*\b(?:passages?|sources?)\b)"
)
_LACK = re.compile(r"\b(not|no|nothing|none|never|neither|without)\b|n't\b")


def is_refusal(text: str) -> bool:
    """Whether ``text`` says the passages do not answer (rather than making a claim)."""
    low = text.lower().replace("’", "'")
    if any(h in low for h in _REFUSAL_HINTS):
        return True
    return any(_ABOUT_PASSAGES.search(s) and _LACK.search(s) for s in re.split(r"(?<=[.!?])\s+", low))


def _normalise_markers(text: str) -> str:
    text = _NAMED.sub(lambda m: f"[{m.group(1)}]", text)
    text = _LIST.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)

    def expand(m: re.Match[str]) -> str:
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a <= 5:
            return "".join(f"[{n}]" for n in range(a, b + 1))
        return m.group(0)

    return _RANGE.sub(expand, text)


def parse_answer(text: str, n_passages: int) -> ParsedAnswer:
    """Split ``text`` into sentences with their citations to passages ``1..n_passages``.

    Accepts any string and never raises; markers outside the range are dropped
    and reported in ``invalid_citations``.
    """
    text = _normalise_markers(str(text).replace("\x00", ""))
    invalid: list[int] = []
    sentences: list[ParsedSentence] = []
    for raw in split_sentences(text):
        cited: list[int] = []
        for m in _MARKER.finditer(raw):
            n = int(m.group(1))
            if 1 <= n <= n_passages:
                if n not in cited:
                    cited.append(n)
            else:
                invalid.append(n)
        clean = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", raw))
        clean = re.sub(r"^\s*(?:\d{1,3}[.)]|[-*•>])\s+", "", clean)  # list and quote markers
        clean = _PREAMBLE.sub("", clean)
        clean = re.sub(r"\s{2,}", " ", clean).strip()
        if re.search(r"\w", clean):
            sentences.append(ParsedSentence(clean, cited))
        elif cited and sentences:
            # A marker alone on its own "sentence" belongs to the one before it.
            sentences[-1].citations.extend(n for n in cited if n not in sentences[-1].citations)
    return ParsedAnswer(sentences, invalid, is_refusal(text))


def format_citations(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)
