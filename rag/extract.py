"""Extractive answers: the passage sentence(s) that answer a question, and the answer in them.

The embedded default answers this way (a tiny model cannot write reliable
sentences, but the corpus can be quoted), and every strategy falls back to it
when no generated sentence survives the check. The evidence window, a sentence
or two neighbouring sentences, is chosen by classic extractive QA signals:

- closeness in meaning to the question (the embedding model);
- how much of the question's IDF-weighted vocabulary it holds;
- whether it holds the kind of answer asked for (:mod:`rag.qtypes`): when the
  best sentence lacks it and its neighbour has it, the pair is taken ("...the
  first deep learning course on computer vision. The class was designated
  CS231n.");
- a small bonus for what a draft echoed (a small model often points at the
  right sentence while garbling it).

Quotes are shown in display form (:func:`display_text`): the articles' own
footnote markers and list numbers are stripped, and page chrome and runs of
sentence-split table cells are never quoted; a whole table row is, as its
cells between bars.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .qtypes import answer_type, fills_slot
from .text import STOPWORDS, content_terms, split_sentences

__all__ = ["Extract", "Relevance", "best_extracts", "display_text", "is_quotable", "locate", "question_parts"]

_PAIR_PENALTY = 0.03
# A second extract must bring this share of the question's (IDF-weighted)
# terms that the first lacks: "Where did he study, and where did he work?".
_SECOND_GAIN = 0.25
_MISSING_TYPE = 0.7  # relevance kept by a window that lacks the kind of answer asked for
# A window answers one part of a compound question "clearly better" than the first
# quote when it is this much more relevant to that part.
_PART_GAIN = 0.05
# "..., and what did he major in?" / "..., and if so, when?": a second question in one.
_SECOND_CLAUSE = re.compile(
    r",?\s+and\s+(?=(?:what|who|whom|whose|where|when|which|why|how|if|in what|does|do|did|is|are|was|were)\b)", re.I
)

_FOOTNOTE = re.compile(r"(?<=[\w.,;:!?\"”’)])(?:\[\d{1,3}\])+")
_LIST_NUMBER = re.compile(r"(?m)^\s*\d{1,3}[.)]\s+")
_CHROME = re.compile(r"^(published on|authors?|name|twitter|• ?avatar|avatar|share|tweet|follow|subscribe)$", re.I)


def display_text(text: str, keep_lines: bool = False) -> str:
    """``text`` as a reader should see it: no footnote markers, no list numbers, single spaces.

    The corpus's own "[10]" must never look like one of our citations.
    ``keep_lines`` keeps the line breaks (one per line, blank lines dropped), so
    that a heading stays apart from the sentence after it: the policy reads
    passages this way, and a quote never opens with "Why This Matters Karpathy's ...".
    """
    text = _FOOTNOTE.sub("", text)
    text = _LIST_NUMBER.sub("", text)
    stripped = text.strip()
    if stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3:
        text = stripped[1:-1]  # a table row: its cells, between bars
    if keep_lines:
        paragraphs = (_lines(p) for p in re.split(r"\n\s*\n", text))
        return "\n\n".join(p for p in paragraphs if p)
    return " ".join(text.split())


# A quote says something: at least this many distinct content words.
_MIN_QUOTE_TERMS = 4
_TERMINAL = ".!?\"”’)]"
_BLOCK_START = re.compile(r"^(?:#{1,6}\s|>|[-*•]\s|\|)")


def _short_open(line: str) -> bool:
    """A line of at most ten words that no punctuation ends: what a heading looks like."""
    return len(line.split()) <= 10 and line[-1:] not in tuple(_TERMINAL + ",;:")


def _heading(line: str) -> bool:
    """A short line without end punctuation whose words are mostly capitalised ("Why This Matters")."""
    words = line.split()
    if not _short_open(line):
        return False
    content = [w for w in words if w.lower() not in STOPWORDS]
    return bool(content) and sum(w[0].isupper() or w[0].isdigit() for w in content) >= 0.6 * len(content)


def _titled(lines: list[str], i: int) -> bool:
    """``lines[i]`` is a heading in sentence case ("1 Data quality trumps model size"): a
    short line without end punctuation between a finished sentence and a new one. A
    soft-wrapped line of prose is not: it is long, or the text runs on from it."""
    line = lines[i]
    if not _short_open(line) or line.split()[-1].lower() in STOPWORDS:
        return False  # cut mid-phrase ("His advisor there was")
    before = lines[i - 1] if i else ""
    after = lines[i + 1] if i + 1 < len(lines) else ""
    return (not before or before[-1] in _TERMINAL) and after[:1].isupper()


def _lines(paragraph: str) -> str:
    """A paragraph's lines: soft-wrapped prose joined, headings and block lines kept apart."""
    lines = [line for line in (" ".join(raw.split()) for raw in paragraph.splitlines()) if line]
    apart = [_heading(line) or _titled(lines, i) for i, line in enumerate(lines)]
    out: list[str] = []
    for i, line in enumerate(lines):
        # A line ending in ":" leads into what follows and stays with it ("Useful
        # subjects for a post-AGI world:" / "> I would say math, physics, CS ...").
        if out and (out[-1].endswith(":") or not (apart[i - 1] or apart[i] or _BLOCK_START.match(line))):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def locate(evidence: str, raw: str) -> tuple[int, int] | None:
    """Where ``evidence`` (possibly in display form) lies in ``raw``, as character offsets."""
    at = raw.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    tokens = re.findall(r"\w+", evidence)
    if not tokens:
        return None
    gap = r"(?:\W|\[\d{1,3}\]|^\s*\d{1,3}[.)])*?"
    match = re.search(gap.join(re.escape(t) for t in tokens), raw, re.M)
    return (match.start(), match.end()) if match else None


def question_parts(question: str) -> list[str]:
    """The separate things a compound question asks, or ``[]`` for a simple one.

    "Karpathy says Waymo has a hardware problem. Does Tesla use LiDAR at all?"
    states a premise the user already knows, then asks; "Where did he study, and
    what did he major in?" asks twice. The quote that best matches the whole
    question often only restates the premise, so each asked part may bring its
    own quote.
    """
    sentences = [s.strip() for s in split_sentences(" ".join(question.split())) if s.strip()]
    asked = [s for s in sentences if s.endswith("?")]
    if not asked:
        return []
    parts: list[str] = []
    for sentence in asked:
        pieces = [p.strip(" ,") for p in _SECOND_CLAUSE.split(sentence) if p.strip(" ,")]
        # A piece with nothing of its own ("…, and if so, when?", "Why and how …?") is
        # not a separate question: it stays with the piece it belongs to.
        merged: list[str] = []
        for piece in pieces:
            if merged and (not content_terms(piece) or not content_terms(merged[-1])):
                merged[-1] = f"{merged[-1]}, and {piece}"
            else:
                merged.append(piece)
        parts.extend(merged)
    if len(parts) == 1 and len(sentences) == 1:
        return []
    return parts


def is_quotable(window: str) -> bool:
    """Prose worth quoting: not a heading, lead-in, table row or page chrome."""
    text = window.strip()
    if text.count("|") > 1 or re.search(r"(?m)^\s*\||\|\s*$", text) or "\t" in text:
        # Sentence-split table cells read as nonsense once joined (one "|" between words is a
        # separator); whole rows are candidates of their own (best_extracts).
        return False
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(_CHROME.match(line) for line in lines):
        return False
    if len(set(content_terms(text))) < _MIN_QUOTE_TERMS:
        return False
    if text.endswith(":"):
        return False
    return text[-1:] in _TERMINAL or len(text.split()) >= 12


@dataclass(frozen=True)
class Extract:
    passage: int  # 1-based passage number
    window: str  # the sentence(s) as in the passage text
    relevance: float
    span: str | None = None  # the short answer inside, verbatim, when the question asks for one

    @property
    def text(self) -> str:
        return display_text(self.window)


class Relevance:
    """Scores how well texts answer one question, on one scale for quotes and drafts."""

    def __init__(
        self, question: str, embedder, idf: Callable[[str], float], draft: str = "",  # noqa: ANN001
        qvec: np.ndarray | None = None,
    ) -> None:
        self.question = question
        self.embedder = embedder
        self.idf = idf
        # The retriever has usually embedded this exact question already.
        self.qvec = embedder.embed_query(question) if qvec is None else qvec
        terms = set(content_terms(question))
        self.weights = {t: idf(t) for t in terms}
        self.total = sum(self.weights.values()) or 1.0
        self.draft_terms = set(content_terms(draft))
        self.kind = answer_type(question)

    def score(self, text: str, vector: np.ndarray | None = None) -> float:
        """0..1: closeness in meaning (0.55) and question-term coverage (0.45), times
        0.7 when the text lacks the kind of answer asked for."""
        terms = set(content_terms(text))
        if not terms:
            return 0.0
        if vector is None:
            vector = self.embedder.embed_query(text)
        sim = float(np.asarray(vector) @ self.qvec)
        relevance = 0.55 * max(sim, 0.0) + 0.45 * self.coverage(terms)
        if not fills_slot(text, self.kind, self.question):
            relevance *= _MISSING_TYPE
        return relevance

    def for_text(self, text: str) -> "Relevance":
        """The same scale, for another text standing in for the question (one part of it)."""
        return Relevance(text, self.embedder, self.idf)

    def coverage(self, terms: set[str]) -> float:
        """IDF-weighted share of the question's terms among ``terms``."""
        return sum(w for t, w in self.weights.items() if t in terms) / self.total

    def echo(self, text: str) -> float:
        """Share of the text the draft repeated: a tie-breaker for ranking only."""
        terms = set(content_terms(text))
        return len(terms & self.draft_terms) / len(terms) if terms and self.draft_terms else 0.0


def best_extracts(
    question: str,
    passages: Sequence[str],
    windows: Callable[[str], tuple[list[str], np.ndarray]],
    scorer: Relevance,
    threshold: float = 0.0,
    rows: Callable[[str], tuple[list[str], np.ndarray]] | None = None,
) -> list[Extract]:
    """The window that best answers ``question``, plus a second one from another
    passage when it covers question terms the first does not.

    ``windows(passage)`` gives a passage's sentences then its neighbour pairs,
    with embeddings; ``rows(passage)``, when given, its whole table rows, with
    embeddings. Only windows whose relevance reaches ``threshold`` count.
    """
    ranked: list[tuple[float, Extract, np.ndarray]] = []
    asked = set(content_terms(question))
    for n, passage in enumerate(passages, start=1):
        texts, vectors = windows(passage)
        count = (len(texts) + 1) // 2  # n sentences come before n - 1 pairs
        for i, (window, vector) in enumerate(zip(texts, vectors)):
            if i >= count and texts[i - count].rstrip()[-1:] not in _TERMINAL \
                    and len(asked & (set(content_terms(texts[i - count])) - set(content_terms(texts[i - count + 1])))) < 2:
                # A heading glued to the sentence after it, unless the heading says what the
                # question asks and the sentence does not ("3 Agents are the next frontier" /
                # "The conversation turns to AI agents ..." for "What is the next frontier?";
                # not "Why This Matters" for "Why does data quality matter?").
                continue
            if not is_quotable(window):
                continue
            # A pair is quoted only when it answers clearly better than one sentence.
            relevance = scorer.score(window, vector) - (_PAIR_PENALTY if i >= count else 0.0)
            ranked.append((relevance + 0.1 * scorer.echo(window), Extract(n, window, relevance), vector))
        # A table row says in one line what its sentence-split cells cannot ("| 2016 - 2017 |
        # OpenAI Research Scientist | Generative Models, RL Experiments |").
        for row, vector in zip(*rows(passage)) if rows else ():
            if len(set(content_terms(row))) >= _MIN_QUOTE_TERMS:
                relevance = scorer.score(row, vector)
                ranked.append((relevance + 0.1 * scorer.echo(row), Extract(n, row, relevance), vector))
    ranked.sort(key=lambda x: -x[0])
    chosen = [e for _, e, _ in ranked if e.relevance >= threshold][:1]
    if not chosen:
        return []
    first_terms = set(content_terms(chosen[0].window))
    part = _part_extract(question, chosen[0], ranked, scorer, threshold)
    if part is not None:
        return chosen + [part]
    for _, extract, _ in ranked:
        if extract.passage == chosen[0].passage or extract.relevance < threshold:
            continue
        if scorer.coverage(set(content_terms(extract.window)) - first_terms) >= _SECOND_GAIN:
            chosen.append(extract)
        break  # only the best candidate from another passage is considered
    return chosen


def _part_extract(
    question: str, first: Extract, ranked: list[tuple[float, Extract, np.ndarray]], scorer: Relevance,
    threshold: float,
) -> Extract | None:
    """For a compound question, the window that answers one asked part clearly better than the first quote."""
    parts = [scorer.for_text(text) for text in question_parts(question) if content_terms(text)]
    if not parts:
        return None
    first_vector = next(v for _, e, v in ranked if e is first)
    taken = set(split_sentences(first.window))
    best: tuple[float, Extract] | None = None
    for part in parts:
        typed = part.kind in ("date", "number", "person", "name")
        if part.kind in ("date", "number", "person") and fills_slot(first.window, part.kind, part.question):
            # "who supervised his PhD?" is answered by the "under Fei-Fei Li" already quoted
            # (a "name" is read too loosely, any quoted phrase, to rule a part out this way).
            continue
        baseline = part.score(first.window, first_vector)
        for _, extract, vector in ranked:
            if taken & set(split_sentences(extract.window)):
                continue  # the first quote already shows this sentence
            if typed and not fills_slot(extract.window, part.kind, part.question):
                continue
            pair = len(split_sentences(extract.window)) > 1
            relevance = part.score(extract.window, vector) - (_PAIR_PENALTY if pair else 0.0)
            if relevance >= threshold and (best is None or relevance - baseline > best[0]):
                best = (relevance - baseline, Extract(extract.passage, extract.window, relevance))
    return best[1] if best is not None and best[0] >= _PART_GAIN else None
