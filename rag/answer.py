"""Grounded answering: retrieve, then answer by the policy in :mod:`rag.policy`.

This module orchestrates and streams; every decision about what is shown,
quoted or refused is :class:`~rag.policy.AnswerPolicy`'s. The model's draft is
never shown as such: with a generative model each sentence appears once it has
passed the check (``sentence`` events), and the raw draft stays available for
the inspector and ``--json``; with the bundled tiny model the answer is
extractive (the passage sentences that answer, with the short answer found in
them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .citations import REFUSAL, format_citations, parse_answer
from .config import Settings
from .embeddings import Embedder, get_embedder
from .errors import BackendError, RagError
from .extract import Extract, Relevance, display_text, locate
from .llm import LLM, get_llm
from .policy import NOT_ANSWERED, AnswerPolicy, SentenceCheck, Strategy, passages_for, strategy_for
from .answerability import assessed_passages
from .prompts import build_prompt
from .reader import Reader, get_reader
from .retrieval import Candidate, Retrieval, Retriever, first_passages
from .rewrite import accept_condensed, condense_prompt, standalone_question
from .store import ChunkStore, open_store
from .verifier import Verifier

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
    note: str = ""  # "citation added" / "citation corrected" when the checker fixed it; "quoted"

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
    short_answer: str | None = None  # quote mode: the answer span, verbatim from the cited passage
    strategy: str = ""
    answerability: dict[str, Any] = field(default_factory=dict)  # the learned decision's inputs and output

    def to_dict(self) -> dict[str, Any]:
        """The ``rag ask --json`` object."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "refusal_reason": self.refusal_reason,
            "short_answer": self.short_answer,
            "strategy": self.strategy,
            "answerability": self.answerability,
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


    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Answer":
        """Rebuild an answer from :meth:`to_dict` output (a saved conversation turn).

        What ``to_dict`` leaves out stays empty: the query vector, and the text
        of retrieval candidates that were not passages. That is enough to show
        the answer, its sources and the inspector again.
        """
        from .documents import Chunk

        def chunk(d: dict[str, Any], text: str = "") -> Chunk:
            return Chunk(id=str(d.get("chunk_id", "")), source=str(d.get("source", "")), title=str(d.get("title", "")),
                         index=0, start=int(d.get("start") or 0), end=int(d.get("end") or 0),
                         text=str(d.get("text", text) or text), doc_hash="", doc_chunks=0, page=d.get("page"))

        passages = [Candidate(chunk=chunk(p), fused_score=float(p.get("score") or 0.0), rank=int(p.get("n") or 0))
                    for p in data.get("passages") or []]
        by_id = {p.chunk.id: p for p in passages}
        retrieval = None
        if data.get("retrieval"):
            r = data["retrieval"]
            candidates = []
            for c in r.get("candidates") or []:
                known = by_id.get(c.get("chunk_id"))
                candidates.append(Candidate(
                    chunk=known.chunk if known else chunk(c, c.get("snippet", "")),
                    dense_score=c.get("dense_score"), dense_rank=c.get("dense_rank"),
                    lexical_score=c.get("lexical_score"), lexical_rank=c.get("lexical_rank"),
                    fused_score=float(c.get("fused_score") or 0.0), rank=int(c.get("rank") or 0),
                    duplicate_of=c.get("duplicate_of")))
            for p in passages:  # the passages carry the dense score the inspector's summary shows
                match = next((c for c in candidates if c.chunk.id == p.chunk.id), None)
                if match is not None:
                    p.dense_score = match.dense_score
            retrieval = Retrieval(query=str(data.get("standalone_question", "")), passages=passages,
                                  candidates=candidates, query_coverage=float(r.get("query_coverage") or 0.0))
        fields = set(Citation.__dataclass_fields__)
        return cls(
            question=str(data.get("question", "")),
            standalone_question=str(data.get("standalone_question", data.get("question", ""))),
            text=str(data.get("answer", "")),
            refused=bool(data.get("refused")),
            mode=data.get("mode") or "answer",
            sentences=[SentenceVerdict(text=s.get("text", ""), citations=list(s.get("citations") or []),
                                       supported=bool(s.get("supported")), score=float(s.get("score") or 0.0),
                                       reason=s.get("reason", ""), note=s.get("note", ""))
                       for s in data.get("sentences") or []],
            citations=[Citation(**{k: v for k, v in c.items() if k in fields}) for c in data.get("citations") or []],
            passages=passages,
            retrieval=retrieval,
            draft=str(data.get("draft", "")),
            removed_citations=int(data.get("removed_citations") or 0),
            model=str(data.get("model", "")),
            timings=dict(data.get("timings") or {}),
            tokens_generated=int(data.get("tokens_generated") or 0),
            warnings=list(data.get("warnings") or []),
            error=data.get("error"),
            refusal_reason=data.get("refusal_reason"),
            short_answer=data.get("short_answer"),
            strategy=str(data.get("strategy", "")),
            answerability=dict(data.get("answerability") or {}),
        )


@dataclass
class AnswerEvent:
    """What :meth:`Answerer.stream` yields.

    ``retrieval`` (passages found), ``token`` (a piece of the raw, unchecked
    draft: for the inspector, never for the chat), ``sentence`` (a checked
    sentence or quote, ready to show, with its citations) and ``final``.
    """

    kind: Literal["retrieval", "token", "sentence", "final"]
    text: str = ""
    retrieval: Retrieval | None = None
    answer: Answer | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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


def quote_text(extracts: list[Extract]) -> str:
    """How an extractive answer reads: the short answer, then the evidence it is in, cited."""
    quotes = " ".join(f"“{e.text}” {format_citations([e.passage])}" for e in extracts)
    span = extracts[0].span if extracts else None
    return f"{span} — {quotes}" if span else f"From the sources: {quotes}"


class Answerer:
    """The whole question-to-checked-answer pipeline, with injectable parts for tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings)
        self.store = store or open_store(settings, self.embedder)
        self._llm = llm
        self._reader = reader
        self.retriever = Retriever(settings, self.store, self.embedder)
        self.strategy: Strategy = strategy_for(settings) if llm is None else (
            settings.answer_style if settings.answer_style != "auto" else "generative"
        )
        self.verifier = Verifier(
            self.embedder, idf=lambda term: self.retriever.lexical.idf(term), threshold=settings.support_threshold
        )

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    @property
    def reader(self) -> Reader:
        """The span reader; a missing bundled model degrades to the rule-based one."""
        if self._reader is None:
            s = self.settings
            try:
                # Assembled once per machine (~/.cache), not per data dir: it is 253 MB.
                self._reader = get_reader(s.reader, s.reader_model, None, s.llm_threads)
            except RagError:
                self._reader = get_reader("rules")
        return self._reader

    # --- public API -----------------------------------------------------------
    def ask(self, question: str, history: Sequence[str] = (), *, top_k: int | None = None,
            temperature: float | None = None) -> Answer:
        """Answer ``question`` (``history``: the user's earlier questions, oldest first).

        ``top_k`` and ``temperature`` override the settings for this question only:
        one pipeline serves every user of a server, whatever they chose.
        """
        final = None
        for event in self.stream(question, history, top_k=top_k, temperature=temperature):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[str] = (), *, top_k: int | None = None,
               temperature: float | None = None) -> Iterator[AnswerEvent]:
        """Yield the retrieval, draft tokens, checked sentences, then the final answer."""
        s = self.settings
        started = time.perf_counter()
        text, warnings = clean_question(question, s.max_question_chars)
        standalone = self._standalone(text, history)
        retrieval = self.retriever.retrieve(standalone, k=max(1, int(top_k)) if top_k else passages_for(s))
        timings = {"retrieval": sum(retrieval.timings.values())}
        yield AnswerEvent("retrieval", retrieval=retrieval)

        def finish(answer: Answer) -> AnswerEvent:
            answer.timings = {**timings, **answer.timings, "total": time.perf_counter() - started}
            answer.warnings = warnings + answer.warnings
            answer.strategy = self.strategy
            return AnswerEvent("final", answer=answer)

        base = {"question": text, "standalone_question": standalone, "retrieval": retrieval}
        # Early refusal asks whether the evidence is absent from every passage the model will
        # read; the learned answerability model (the quote's fallback) reads its trained depth.
        weak = AnswerPolicy.early_refusal(s, retrieval)
        if weak:
            yield finish(self._refusal(base, retrieval.passages, weak))
            return
        if self.strategy == "extractive":
            policy = self._policy(standalone, retrieval.passages, retrieval)
            t0 = time.perf_counter()
            answer = self._extractive(base, policy, retrieval.passages, [], "", 0)
            answer.timings["reading"] = time.perf_counter() - t0
            if answer.mode == "quote":
                timings["first_sentence"] = time.perf_counter() - started
                yield AnswerEvent("sentence", text=answer.text)
            yield finish(answer)
            return
        temp = s.temperature if temperature is None else float(temperature)
        yield from self._generative(base, retrieval, timings, warnings, started, finish, temp)

    def _standalone(self, question: str, history: Sequence[str]) -> str:
        """The follow-up made standalone: by a capable model when there is one, else by the rules."""
        rules = standalone_question(question, history)
        if rules == question or self.strategy != "generative" or not self.llm.condenses:
            return rules
        try:
            reply = self.llm.complete(condense_prompt(question, history), max_tokens=80, temperature=0.0)
        except BackendError:
            return rules  # answering will report the backend's trouble
        return accept_condensed(reply, question) or rules

    def assess(self, question: str) -> dict[str, Any]:
        """Answerability of ``question`` without any model: early refusal, signals, probability.

        For calibration and evaluation (``rag calibrate``, ``evals.train_answerability``).
        """
        text, _ = clean_question(question, self.settings.max_question_chars)
        retrieval = self.retriever.retrieve(text, k=assessed_passages())
        early = AnswerPolicy.early_refusal(self.settings, retrieval)
        policy = self._policy(text, retrieval.passages, retrieval)
        candidates, signals, probability = policy.assess(retrieval)
        return {"early": early, "signals": signals, "probability": probability,
                "answerable": early is None and policy.answerable(candidates, probability),
                "quote": candidates[0].text if candidates else "",
                "passages": [p.chunk.source for p in retrieval.passages],
                "passage_texts": [p.chunk.text for p in retrieval.passages]}

    # --- strategies ------------------------------------------------------------------
    def _assessed(self, retrieval: Retrieval) -> Retrieval:
        """The retrieval as answerability reads it: its first passages, to the depth the
        answerability model was trained at, however many the model is given."""
        return first_passages(retrieval, assessed_passages(), self.retriever.lexical)

    def _policy(self, question: str, passages: list[Candidate], retrieval: Retrieval | None = None) -> AnswerPolicy:
        qvec = retrieval.vector if retrieval is not None and retrieval.query == question else None
        if retrieval is not None:
            retrieval = self._assessed(retrieval)
        return AnswerPolicy(
            self.settings, self.verifier, question,
            [display_text(p.chunk.text, keep_lines=True) for p in passages], [p.chunk.title for p in passages],
            Relevance(question, self.embedder, self.retriever.lexical.idf, qvec=qvec),
            self.retriever.lexical.doc_freq,
            retrieval,
        )

    def _generative(self, base, retrieval, timings, warnings, started, finish, temperature):  # noqa: ANN001, ANN202
        s = self.settings
        question = base["standalone_question"]
        budget = s.passage_budget or self.llm.passage_budget
        packed = build_prompt(question, retrieval.passages, self.llm, s.max_answer_tokens, budget,
                              self._focus(question))
        if packed.truncated:
            warnings.append("some passages were shortened or left out to fit the model's context window")
        passages = packed.passages
        policy = self._policy(question, passages, retrieval)
        checks: list[SentenceCheck] = []
        pieces: list[str] = []
        done = 0  # drafted sentences already checked
        t0 = time.perf_counter()
        try:
            for piece in self.llm.stream(packed.messages, max_tokens=s.max_answer_tokens, temperature=temperature):
                if not pieces:
                    timings["first_token"] = time.perf_counter() - t0
                pieces.append(piece)
                yield AnswerEvent("token", text=piece)
                parsed = parse_answer("".join(pieces), len(passages))
                # A sentence is complete once the next one has begun (its citations may trail it).
                for sentence in parsed.sentences[done:-1]:
                    yield from self._check(policy, sentence, checks, timings, started)
                done = max(done, len(parsed.sentences) - 1)
        except BackendError as exc:
            timings["generation"] = time.perf_counter() - t0
            yield finish(
                Answer(**base, text="", refused=False, mode="error", sentences=[], citations=[],
                       passages=passages, model=self.llm.name, error=str(exc))
            )
            return
        timings["generation"] = time.perf_counter() - t0
        draft = "".join(pieces)
        parsed = parse_answer(draft, len(passages))
        for sentence in parsed.sentences[done:]:
            yield from self._check(policy, sentence, checks, timings, started)

        t0 = time.perf_counter()
        common = {"draft": draft, "removed_citations": len(parsed.invalid_citations)}
        shown = [c for c in checks if c.shown]
        if shown:
            listed = checks if s.show_unsupported else shown
            text = " ".join(
                f"{c.text} {format_citations(c.citations)}" if c.shown else f"{c.text} [unsupported]" for c in listed
            )
            numbers = sorted({n for c in shown for n in c.citations})
            answer = Answer(**base, text=text, refused=False, mode="answer", sentences=self._verdicts(checks),
                            citations=self._citations(numbers, shown, passages), passages=passages, **common)
        elif AnswerPolicy.declined(draft, checks):
            answer = self._refusal(base, passages, "the model found no answer in the passages",
                                   sentences=self._verdicts(checks), **common)
        else:
            answer = self._extractive(base, policy, passages, checks, **common)
            if answer.mode == "quote":
                yield AnswerEvent("sentence", text=answer.text)
        answer.model = self.llm.name
        answer.tokens_generated = self.llm.count_tokens(draft) if draft else 0
        answer.timings["checking"] = time.perf_counter() - t0
        yield finish(answer)

    def _check(self, policy: AnswerPolicy, sentence, checks, timings, started) -> Iterator[AnswerEvent]:  # noqa: ANN001
        check = policy.check_sentence(sentence.text, sentence.citations)
        if check is None:
            return
        checks.append(check)
        if check.shown:
            timings.setdefault("first_sentence", time.perf_counter() - started)
            yield AnswerEvent("sentence", text=f"{check.text} {format_citations(check.citations)}")

    def _extractive(self, base: dict[str, Any], policy: AnswerPolicy, passages: list[Candidate],
                    checks: list[SentenceCheck], draft: str = "", removed_citations: int = 0) -> Answer:
        """The quote that answers the question, with its short answer; else the refusal."""
        candidates, signals, probability = policy.assess(policy.retrieval or base["retrieval"])
        verdicts = self._verdicts(checks)
        common = {"draft": draft, "removed_citations": removed_citations,
                  "answerability": {"probability": probability, "signals": signals}}
        if not policy.answerable(candidates, probability):
            reason = NOT_ANSWERED
            if checks:
                reason = "no sentence of the draft is supported by the passages, and " + reason
            return self._refusal(base, passages, reason, sentences=verdicts, **common)
        extracts = policy.extracts(candidates, self.reader)
        missing = policy.unfilled(extracts)
        if missing:
            return self._refusal(base, passages, missing, sentences=verdicts, **common)
        quoted = [SentenceVerdict(e.text, [e.passage], True, e.relevance, note="quoted") for e in extracts]
        citations = [self._citation(e.passage, e.window, passages) for e in extracts]
        return Answer(**base, text=quote_text(extracts), refused=False, mode="quote", sentences=verdicts + quoted,
                      citations=citations, passages=passages, short_answer=extracts[0].span, **common)

    # --- steps -------------------------------------------------------------------
    def _refusal(self, base: dict[str, Any], passages: list[Candidate], reason: str, **extra: Any) -> Answer:
        return Answer(
            **base, text=REFUSAL, refused=True, mode="refusal", sentences=extra.pop("sentences", []),
            citations=[], passages=passages, refusal_reason=reason, **extra,
        )

    @staticmethod
    def _verdicts(checks: list[SentenceCheck]) -> list[SentenceVerdict]:
        return [
            SentenceVerdict(c.text, c.citations, c.shown, c.support.score if c.support else 0.0, c.reason, c.note)
            for c in checks
        ]

    def _focus(self, question: str):  # noqa: ANN202 - a ranking callable for build_prompt
        """Rank a passage's sentences by relevance to the question, for prompt trimming."""
        scorer = Relevance(question, self.embedder, self.retriever.lexical.idf)

        def rank(cand: Candidate) -> list[str]:
            windows, vectors = self.verifier.windows(cand.chunk.text)
            count = (len(windows) + 1) // 2
            scored = [(scorer.score(w, v), w) for w, v in zip(windows[:count], vectors[:count])]
            return [w for _, w in sorted(scored, key=lambda x: -x[0])]

        return rank

    def _citation(self, n: int, evidence: str, passages: list[Candidate]) -> Citation:
        chunk = passages[n - 1].chunk
        where = locate(evidence, chunk.text) if evidence else None
        return Citation(
            n=n, chunk_id=chunk.id, source=chunk.source, title=chunk.title, text=chunk.text,
            start=chunk.start, end=chunk.end, page=chunk.page,
            evidence=chunk.text[where[0]:where[1]] if where else evidence,
            evidence_start=chunk.start + where[0] if where else None,
            evidence_end=chunk.start + where[1] if where else None,
        )

    def _citations(self, numbers: list[int], checks: list[SentenceCheck], passages: list[Candidate]) -> list[Citation]:
        out = []
        for n in numbers:
            claim = next((c for c in checks if n in c.citations), None)
            evidence = ""
            if claim is not None:
                chunk = passages[n - 1].chunk
                evidence = self.verifier.check(claim.text, [display_text(chunk.text)], [chunk.title]).evidence
            out.append(self._citation(n, evidence, passages))
        return out
