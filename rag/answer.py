"""Grounded answering: retrieve, prompt, stream, then check every sentence.

The model's draft is never shown as the answer. Each sentence must be backed
by the passages it cites (see :mod:`rag.support`); unsupported sentences are
dropped (or marked, by a setting), citations to passages that were not given
are removed and counted, and a sentence without a citation gets the passage
that supports it, if one does. When nothing survives, the answer falls back to
quoting the passage sentence most relevant to the question, labelled as a
quote; when even that is weak, the product says :data:`REFUSAL`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .citations import REFUSAL, format_citations, is_refusal, parse_answer
from .config import Settings
from .embeddings import Embedder, get_embedder
from .errors import BackendError, RagError
from .extract import Relevance, answer_type, best_quotes, has_answer_type
from .llm import LLM, get_llm
from .prompts import build_prompt
from .retrieval import Candidate, Retrieval, Retriever
from .rewrite import standalone_question
from .store import ChunkStore, open_store
from .support import SupportChecker
from .text import content_terms

__all__ = ["Answer", "AnswerEvent", "Answerer", "Citation", "QuestionError", "SentenceVerdict", "REFUSAL"]

Mode = Literal["answer", "quote", "refusal", "error"]


class QuestionError(RagError):
    """The question cannot be asked (empty, or only whitespace/control characters)."""


@dataclass
class SentenceVerdict:
    """One sentence of the model's draft and what the checker made of it."""

    text: str
    citations: list[int]
    supported: bool
    score: float
    reason: str = ""
    note: str = ""  # "citation added" / "citation corrected" when the checker fixed it

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": self.citations,
            "supported": self.supported,
            "score": round(self.score, 4),
            "reason": self.reason,
            "note": self.note,
        }


@dataclass
class Citation:
    """A cited passage, with the evidence span located in its document."""

    n: int
    chunk_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    evidence: str
    evidence_start: int | None
    evidence_end: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    refused: bool
    mode: Mode
    sentences: list[SentenceVerdict]
    citations: list[Citation]
    passages: list[Candidate]
    retrieval: Retrieval | None
    draft: str = ""
    removed_citations: int = 0
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    tokens_generated: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    refusal_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``rag ask --json`` object."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "refusal_reason": self.refusal_reason,
            "error": self.error,
            "warnings": self.warnings,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [
                {
                    "n": i,
                    "source": p.chunk.source,
                    "title": p.chunk.title,
                    "chunk_id": p.chunk.id,
                    "text": p.chunk.text,
                    "start": p.chunk.start,
                    "end": p.chunk.end,
                    "page": p.chunk.page,
                    "score": round(p.fused_score, 6),
                }
                for i, p in enumerate(self.passages, start=1)
            ],
            "sentences": [s.to_dict() for s in self.sentences],
            "draft": self.draft,
            "removed_citations": self.removed_citations,
            "model": self.model,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "tokens_generated": self.tokens_generated,
            "retrieval": {
                "query_coverage": round(self.retrieval.query_coverage, 4),
                "top_dense": round(self.retrieval.top_dense, 4),
                "candidates": [c.to_dict() for c in self.retrieval.candidates],
            }
            if self.retrieval
            else None,
        }


@dataclass
class AnswerEvent:
    """What :meth:`Answerer.stream` yields: retrieval done, a draft token, the final answer."""

    kind: Literal["retrieval", "token", "final"]
    text: str = ""
    retrieval: Retrieval | None = None
    answer: Answer | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DRAFT_MARGIN = 0.05  # relevance a drafted answer may trail the best quote by and still be shown


def clean_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip control characters; refuse empty questions; truncate long ones."""
    warnings: list[str] = []
    text = _CONTROL.sub(" ", str(question or "")).strip()
    if not text:
        raise QuestionError("the question is empty; type a question about the corpus")
    if len(text) > max_chars:
        warnings.append(f"the question was {len(text):,} characters; only the first {max_chars:,} were used")
        text = text[:max_chars].rstrip()
    return text, warnings


class Answerer:
    """The whole question-to-checked-answer pipeline, with injectable parts for tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings)
        self.store = store or open_store(settings, self.embedder)
        self._llm = llm
        self.retriever = Retriever(settings, self.store, self.embedder)
        self.checker = SupportChecker(
            self.embedder, settings.support_threshold, idf=lambda term: self.retriever.lexical.idf(term)
        )

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    # --- public API -----------------------------------------------------------
    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer ``question`` (``history``: the user's earlier questions, oldest first)."""
        final = None
        for event in self.stream(question, history):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[str] = ()) -> Iterator[AnswerEvent]:
        """Yield the retrieval, then draft tokens as generated, then the checked answer."""
        s = self.settings
        started = time.perf_counter()
        text, warnings = clean_question(question, s.max_question_chars)
        standalone = standalone_question(text, history)
        retrieval = self.retriever.retrieve(standalone)
        timings = {"retrieval": sum(retrieval.timings.values())}
        yield AnswerEvent("retrieval", retrieval=retrieval)

        def finish(answer: Answer) -> AnswerEvent:
            answer.timings = {**timings, **answer.timings, "total": time.perf_counter() - started}
            answer.warnings = warnings + answer.warnings
            return AnswerEvent("final", answer=answer)

        base = {"question": text, "standalone_question": standalone, "retrieval": retrieval}
        weak = self._weak_evidence(retrieval)
        if weak:
            yield finish(self._refusal(base, retrieval.passages, weak))
            return

        budget = s.passage_budget or self.llm.passage_budget
        packed = build_prompt(
            standalone, retrieval.passages, self.llm, s.max_answer_tokens, budget, self._focus(standalone)
        )
        if packed.truncated:
            warnings.append("some passages were shortened or left out to fit the model's context window")
        passages = packed.passages
        pieces: list[str] = []
        t0 = time.perf_counter()
        try:
            for piece in self.llm.stream(
                packed.messages, max_tokens=s.max_answer_tokens, temperature=s.temperature
            ):
                if not pieces:
                    timings["first_token"] = time.perf_counter() - t0
                pieces.append(piece)
                yield AnswerEvent("token", text=piece)
        except BackendError as exc:
            timings["generation"] = time.perf_counter() - t0
            yield finish(
                Answer(**base, text="", refused=False, mode="error", sentences=[], citations=[],
                       passages=passages, model=self.llm.name, error=str(exc))
            )
            return
        timings["generation"] = time.perf_counter() - t0
        draft = "".join(pieces)

        t0 = time.perf_counter()
        answer = self._checked(base, draft, passages)
        answer.model = self.llm.name
        answer.tokens_generated = self.llm.count_tokens(draft) if draft else 0
        answer.timings["checking"] = time.perf_counter() - t0
        yield finish(answer)

    # --- steps -------------------------------------------------------------------
    def _weak_evidence(self, retrieval: Retrieval) -> str | None:
        s = self.settings
        if not retrieval.passages:
            return "nothing is indexed yet"
        if retrieval.top_dense < s.min_dense_score:
            return f"no passage is close to the question (best similarity {retrieval.top_dense:.2f})"
        if retrieval.query_coverage < s.min_query_coverage:
            return f"the passages miss most of the question's key terms (coverage {retrieval.query_coverage:.2f})"
        return None

    def _refusal(self, base: dict[str, Any], passages: list[Candidate], reason: str, **extra: Any) -> Answer:
        return Answer(
            **base, text=REFUSAL, refused=True, mode="refusal", sentences=extra.pop("sentences", []),
            citations=[], passages=passages, refusal_reason=reason, **extra,
        )

    def _focus(self, question: str):  # noqa: ANN202 - a ranking callable for build_prompt
        """Rank a passage's sentences by relevance to the question, for prompt trimming."""
        scorer = Relevance(question, self.checker, self.retriever.lexical.idf)

        def rank(cand: Candidate) -> list[str]:
            windows, vectors = self.checker.windows(cand.chunk.text)
            count = (len(windows) + 1) // 2
            scored = [(scorer.score(w, v), w) for w, v in zip(windows[:count], vectors[:count])]
            return [w for _, w in sorted(scored, key=lambda x: -x[0])]

        return rank

    def _off_topic(self, sentence: str, question: str) -> str:
        """Why a supported sentence still does not belong in the answer, or ''."""
        terms = set(content_terms(sentence))
        if len(terms) < 4:
            return "a fragment, not a claim"  # headings like "Karpathy's career profile:"
        if not terms - set(content_terms(question)):
            return "only restates the question"
        if not has_answer_type(sentence, answer_type(question), question):
            return "does not contain the kind of answer asked for"
        qvec = self.embedder.embed_query(question)
        if float(self.embedder.embed_query(sentence) @ qvec) < self.settings.min_sentence_relevance:
            return "not about the question"
        return ""

    def _verdicts(self, draft: str, passages: list[Candidate], question: str) -> tuple[list[SentenceVerdict], int]:
        parsed = parse_answer(draft, len(passages))
        texts = [p.chunk.text for p in passages]
        verdicts: list[SentenceVerdict] = []
        seen: list[set[str]] = []
        for sentence in parsed.sentences:
            terms = set(content_terms(sentence.text))
            repeated = any(len(terms & t) >= 0.8 * max(len(terms | t), 1) for t in seen)
            if repeated or is_refusal(sentence.text):
                continue  # small models repeat themselves; a refusal sentence is not a claim
            seen.append(terms)
            note = ""
            cited = sentence.citations
            support = self.checker.check(sentence.text, [texts[n - 1] for n in cited]) if cited else None
            if cited and support is not None and support.supported and len(cited) > 1:
                # Keep only the citations that carry the sentence on their own, when any do.
                alone = [n for n in cited if self.checker.check(sentence.text, [texts[n - 1]]).supported]
                cited = alone or cited
            if support is None or not support.supported:
                best, best_support = self.checker.best(sentence.text, texts)
                if best_support.supported:
                    note = "citation corrected" if cited else "citation added"
                    cited, support = [best + 1], best_support
                elif support is None:
                    support = best_support
            supported, reason = support.supported, support.reason
            if supported:
                reason = self._off_topic(sentence.text, question)
                supported = not reason
            verdicts.append(SentenceVerdict(sentence.text, cited, supported, support.score, reason, note))
        return verdicts, len(parsed.invalid_citations)

    def _checked(self, base: dict[str, Any], draft: str, passages: list[Candidate]) -> Answer:
        question = base["standalone_question"]
        verdicts, removed = self._verdicts(draft, passages, question)
        supported = [v for v in verdicts if v.supported]
        common = {"draft": draft, "removed_citations": removed, "sentences": verdicts, "passages": passages}
        quotes = self._quotes(question, passages, draft)
        if supported:
            # The model's sentences must answer the question as a quote would have
            # to, and at least as well as the best passage sentence: a small
            # model's checked but beside-the-point sentence loses to a quote.
            scorer = Relevance(question, self.checker, self.retriever.lexical.idf)
            drafted = max(scorer.score(v.text) for v in supported)
            reason = ""
            if drafted < self.settings.min_quote_relevance:
                reason = "does not answer the question closely enough"
            elif quotes and drafted + _DRAFT_MARGIN < quotes[0][2]:
                reason = "a passage sentence answers the question better"
            if reason:
                for v in supported:
                    v.supported, v.reason = False, reason
                supported = []
        if supported:
            shown = verdicts if self.settings.show_unsupported else supported
            text = " ".join(
                f"{v.text} {format_citations(v.citations)}" if v.supported else f"{v.text} [unsupported]"
                for v in shown
            )
            cited = sorted({n for v in supported for n in v.citations})
            return Answer(**base, text=text, refused=False, mode="answer",
                          citations=self._citations(cited, supported, passages), **common)

        if quotes:
            text = "From the sources: " + " ".join(f"“{q}” {format_citations([n])}" for n, q, _ in quotes)
            quote_verdicts = [SentenceVerdict(q, [n], True, score, note="quoted") for n, q, score in quotes]
            common["sentences"] = verdicts + quote_verdicts
            return Answer(**base, text=text, refused=False, mode="quote",
                          citations=self._citations([n for n, _, _ in quotes], quote_verdicts, passages), **common)
        reason = "no sentence of the draft is supported by the passages, and no passage sentence answers the question closely enough"
        return self._refusal(base, passages, reason, **{k: v for k, v in common.items() if k != "passages"})

    def _quotes(self, question: str, passages: list[Candidate], draft: str) -> list[tuple[int, str, float]]:
        """The passage sentence that answers the question, if it is relevant enough to quote."""
        quotes = best_quotes(
            question, [p.chunk.text for p in passages], self.checker, self.retriever.lexical.idf, draft,
            threshold=self.settings.min_quote_relevance,
        )
        return [(q.passage, q.sentence, q.relevance) for q in quotes]

    def _citations(self, numbers: list[int], verdicts: list[SentenceVerdict], passages: list[Candidate]) -> list[Citation]:
        out = []
        for n in numbers:
            chunk = passages[n - 1].chunk
            claims = [v.text for v in verdicts if n in v.citations]
            evidence = ""
            if claims:
                evidence = self.checker.check(claims[0], [chunk.text]).evidence
            offset = chunk.text.find(evidence) if evidence else -1
            out.append(
                Citation(
                    n=n, chunk_id=chunk.id, source=chunk.source, title=chunk.title, text=chunk.text,
                    start=chunk.start, end=chunk.end, page=chunk.page, evidence=evidence,
                    evidence_start=chunk.start + offset if offset >= 0 else None,
                    evidence_end=chunk.start + offset + len(evidence) if offset >= 0 else None,
                )
            )
        return out
