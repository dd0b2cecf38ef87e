"""The answer policy, in one place: what is shown, quoted or refused.

Every decision between retrieval and the screen lives here, with the numbers
it uses:

1. **Strategy.** A capable model writes the answer (``generative``); the
   bundled tiny model only picks and copies (``extractive``): its sentences
   are not shown at all, so it cannot put an invented fact on screen. A model
   that drafts reads 8 passages unless ``top_k`` says otherwise, the quotes 5;
   the answerability model reads the first 5 either way (:func:`passages_for`).
2. **Early refusal**, before any model runs, only when the evidence is
   clearly absent (nothing indexed, nothing close, most key terms missing).
3. **Each generated sentence** is shown once it is checked: its citations must
   point at given passages, the :class:`~rag.verifier.Verifier` must find it
   supported by them (a wrong citation is replaced by the passage that does
   support it), it must not repeat an earlier sentence or merely restate the
   question, and the first shown sentence must be about the question.
   Supported, on-topic sentences are never replaced by a quote.
4. **The outcome**: the shown sentences (``answer``); else, when the model
   itself said the passages do not answer, a refusal with the closest
   passages; else the extractive answer (``quote``) if the learned
   answerability model (:mod:`rag.answerability`) finds the question answered
   by the corpus at the configured operating point and the quote fills the
   slot a precise question names ("which month"); else the refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .citations import is_refusal
from .config import Settings
from .answerability import answerability_signals, assessed_passages, default_model
from .extract import Extract, Relevance, best_extracts
from .qtypes import answer_type, exact_slot, fills_slot
from .reader import Reader
from .retrieval import Retrieval
from .text import content_terms, normalise_for_match, split_sentences
from .verifier import Support, Verifier

__all__ = ["NOT_ANSWERED", "AnswerPolicy", "SentenceCheck", "Strategy", "operating_threshold", "passages_for",
           "strategy_for", "unfilled_slot"]

Strategy = Literal["generative", "extractive"]

# A sentence sharing this share of its terms with an earlier one repeats it
# (small models loop; strong ones restate their first sentence as a summary).
_REPEAT_OVERLAP = 0.8
# Fewer content terms than this is a heading or a fragment ("Karpathy's career:"),
# unless it is a short sentence of its own ("He says we are in the 1960s of LLMs.").
_MIN_CLAIM_TERMS = 3
# A quote shorter than this (in words) takes the next sentence of its paragraph along
# (the seeds' sentences run 10-20 words; a 60-word quote is already two long ones).
_SHORT_WINDOW = 60
# Why a question is refused when the answerability model finds the corpus does not answer it.
NOT_ANSWERED = "the passages do not seem to answer this question"
_UNFILLED = {"month": "the passages do not say which month", "year": "the passages do not say which year",
             "count": "the passages do not give that count", "amount": "the passages do not give that amount"}


def unfilled_slot(question: str, texts: Sequence[str]) -> str | None:
    """Why none of ``texts`` can answer a question that names a precise slot, or None.

    "In which month of 2024 ...?" is not answered by "in 2024", nor "How many
    GitHub stars ...?" by "millions of views" (:func:`rag.qtypes.fills_slot`).
    """
    slot = exact_slot(question)
    if slot is None:
        return None
    kind = answer_type(question)
    return None if any(fills_slot(t, kind, question) for t in texts) else _UNFILLED[slot]


def operating_threshold(settings: Settings) -> float | None:
    """The answerability threshold in force: the configured one (``rag calibrate``), else
    the learned model's for ``max_wrong_refusals``; None without a trained model."""
    model = default_model()
    if model is None:
        return None
    if settings.answerability_threshold is not None:
        return settings.answerability_threshold
    return model.threshold_for(settings.max_wrong_refusals)


def strategy_for(settings: Settings) -> Strategy:
    """``answer_style = auto``: extractive for the bundled tiny model, generative otherwise."""
    if settings.answer_style != "auto":
        return settings.answer_style
    tiny = settings.llm == "llamacpp" and settings.llm_model is None
    return "extractive" if tiny else "generative"


# Passages a drafting model reads when ``top_k`` is unset. A capable model answers a
# compound question from its second passage, which often ranks sixth to eighth (replay
# dev set: correct answers shown 85 % at 5, 89 % at 8; BENCHMARKS.md, session 39).
DRAFTED_TOP_K = 8


def passages_for(settings: Settings) -> int:
    """How many passages the model is given: ``top_k`` when set; else 8 for a model that
    drafts, and for the embedded model's quotes the depth answerability reads (5)."""
    if settings.top_k:
        return settings.top_k
    return DRAFTED_TOP_K if strategy_for(settings) == "generative" else assessed_passages()


@dataclass
class SentenceCheck:
    """One drafted sentence and the policy's verdict."""

    text: str
    citations: list[int]
    shown: bool
    support: Support | None
    reason: str = ""
    note: str = ""  # "citation added" / "citation corrected"


@dataclass
class AnswerPolicy:
    """Decisions for one question, given its passages."""

    settings: Settings
    verifier: Verifier
    question: str
    passages: Sequence[str]
    titles: Sequence[str]
    relevance: Relevance
    doc_freq: dict[str, int] | None = None  # the corpus's term counts, for answerability
    retrieval: Retrieval | None = None  # what the passages came from, for answerability
    _seen: list[set[str]] = field(default_factory=list)
    _shown: int = 0
    _claims: int = 0  # drafted claims checked so far
    _answerable: bool | None = None
    _assessment: tuple[list[Extract], dict[str, float], float | None] | None = None

    # --- before any model runs ------------------------------------------------------
    @staticmethod
    def early_refusal(settings: Settings, retrieval: Retrieval) -> str | None:
        """Why the question cannot be answered from these passages at all, or None.

        Only for evidence that is clearly absent; borderline questions go on to
        the answerability model, the model and the verifier. The default bars
        are learned with the answerability model (each refuses about 0.2 % of
        the answerable training questions).
        """
        if not retrieval.passages:
            return "nothing is indexed yet"
        model = default_model()
        early = model.meta.get("early", {}) if model is not None else {}
        min_dense = settings.min_dense_score if settings.min_dense_score is not None else early.get("top_dense", 0.24)
        min_coverage = (settings.min_query_coverage if settings.min_query_coverage is not None
                        else early.get("coverage", 0.35))
        if retrieval.top_dense < min_dense:
            return "no passage is about this question"
        if retrieval.query_coverage < min_coverage:
            return "the passages do not mention the main terms of the question"
        return unfilled_slot(retrieval.query, [f"{p.chunk.title}\n{p.chunk.text}" for p in retrieval.passages])

    # --- generated sentences, one at a time ----------------------------------------------
    def check_sentence(self, text: str, citations: list[int]) -> SentenceCheck | None:
        """The verdict on one drafted sentence; None for what is not a claim at all."""
        terms = set(content_terms(text))
        if is_refusal(text) or not terms:
            return None  # "The passages do not say." is the model declining, not a claim
        if any(len(terms & t) >= _REPEAT_OVERLAP * max(len(terms | t), 1) for t in self._seen):
            return None
        self._seen.append(terms)
        self._claims += 1
        texts = list(self.passages)
        note = ""
        cited = citations
        support = self._verify(text, cited) if cited else None
        if support is not None and support.supported and len(cited) > 1:
            # Keep only the citations that carry the sentence on their own, when any do.
            alone = [n for n in cited if self._verify(text, [n]).supported]
            cited = alone or cited
        if support is None or (not support.supported and not support.contradicted):
            # A miscited sentence keeps its place when another passage carries it; one
            # that its own passage contradicts does not.
            best, best_support = self.verifier.best(text, texts, self.titles, self.question)
            if best_support.supported:
                note = "citation corrected" if cited else "citation added"
                cited, support = [best + 1], best_support
            elif support is None:
                support = best_support
        check = SentenceCheck(text, cited, support.supported, support, support.reason, note)
        if check.shown:
            check.reason = self._off_topic(text, terms)
            check.shown = not check.reason
        if check.shown:
            self._shown += 1
        return check

    def _verify(self, text: str, numbers: list[int]) -> Support:
        return self.verifier.check(
            text, [self.passages[n - 1] for n in numbers], [self.titles[n - 1] for n in numbers], self.question
        )

    def _off_topic(self, text: str, terms: set[str]) -> str:
        """Why a supported sentence still does not belong in the answer, or ''."""
        if len(terms) < _MIN_CLAIM_TERMS and not _short_sentence(text, terms):
            return "a fragment, not a claim"
        if not terms - set(content_terms(self.question)):
            return "only restates the question"
        if self._shown == 0 and self.relevance.score(text) < self.settings.min_answer_relevance:
            # A capable model leads with its answer, often in words of its own ("It's
            # called Vibe Coding."): its first claim is shown when the corpus does answer
            # the question (the answerability model). A later one may only elaborate
            # ("He expects Tesla to follow this path.") and is not shown first.
            if self._claims > 1 or not self._corpus_answers():
                return "not about the question"
        return ""

    def _corpus_answers(self) -> bool:
        if self._answerable is None:
            if self.retrieval is None:
                self._answerable = False
            else:
                candidates, _, probability = self.assess(self.retrieval)
                self._answerable = self.answerable(candidates, probability)
        return self._answerable

    # --- the extractive answer ---------------------------------------------------------
    def assess(self, retrieval: Retrieval) -> tuple[list[Extract], dict[str, float], float | None]:
        """The best quotable windows, the answerability signals and the learned probability.

        Without a trained model (no params file) the probability is None and the
        quote's relevance alone decides (``min_quote_relevance``).
        """
        if self._assessment is not None and retrieval is self.retrieval:
            return self._assessment  # the first-claim check already asked
        # ``retrieval`` is cut to the depth answerability reads (:func:`passages_for`), and
        # the quote comes from the same passages: the quote's scores are signals too.
        candidates = best_extracts(self.question, self.passages[:len(retrieval.passages)], self.verifier.windows,
                                   self.relevance, threshold=-1.0, rows=self.verifier.rows)
        signals = answerability_signals(retrieval, candidates[0] if candidates else None, self.relevance,
                                        self.doc_freq)
        model = default_model()
        assessment = candidates, signals, (model.probability(signals) if model is not None else None)
        if retrieval is self.retrieval:
            self._assessment = assessment
        return assessment

    def answerable(self, candidates: list[Extract], probability: float | None) -> bool:
        """The operating point: the learned model's threshold, or the quote relevance bar."""
        if not candidates:
            return False
        threshold = operating_threshold(self.settings)
        if probability is None or threshold is None:
            return candidates[0].relevance >= self.settings.min_quote_relevance
        return probability >= threshold

    def extracts(self, candidates: list[Extract], reader: Reader | None) -> list[Extract]:
        """The quote to show (with its short answer), from the assessed candidates.

        The reader looks for the short answer in the chosen window and its
        neighbouring sentences; when a neighbour holds it, the neighbour joins
        the quote ("...course on computer vision. The class was designated CS231n.").
        A second window from another passage joins only if it reaches the quote bar.
        """
        if not candidates:
            return []
        chosen = [candidates[0]] + [e for e in candidates[1:] if e.relevance >= self.settings.min_quote_relevance]
        if reader is not None:
            first = chosen[0]
            before, after, continues = _neighbours(self.passages[first.passage - 1], first.window)
            span = reader.span(self.question, " ".join(x for x in (before, first.window, after) if x))
            if span is None and (before or after or len(split_sentences(first.window)) > 1):
                # The tiny reader loses its way in a long text more often than in one
                # sentence: read the quote's own sentences one at a time (on SQuAD
                # 1.1 this found 45 more short answers in 200, 27 of them right).
                span = next(filter(None, (reader.span(self.question, s) for s in split_sentences(first.window))),
                            None)
            window = first.window
            if span and not _holds(window, span):
                if after and _holds(after, span):
                    window = f"{window} {after}"
                elif before and _holds(before, span):
                    window = f"{before} {window}"
                else:
                    span = None  # it spans the seams; not a clean short answer
            if window == first.window and after and continues and len(window.split()) < _SHORT_WINDOW:
                # The sentence that matches the question best often only sets up the
                # answer: "This massive neural network processes video from eight
                # external cameras." / "It creates a vector space representation of
                # the road in real time." A short quote takes the sentence after it.
                window = f"{window} {after}"
            chosen[0] = Extract(first.passage, window, first.relevance, span)
            chosen = chosen[:1] + [e for e in (_unshown(e, window) for e in chosen[1:]) if e is not None]
            if span is None and len(chosen) > 1:
                # A compound question's first quote often restates its premise; the
                # asked part's quote may hold the short answer, and then leads.
                second = chosen[1]
                found = reader.span(self.question, second.window)
                if found:
                    chosen = [Extract(second.passage, second.window, second.relevance, found), chosen[0], *chosen[2:]]
        return chosen

    def unfilled(self, extracts: Sequence[Extract]) -> str | None:
        """Why the quote does not answer a question naming a precise slot ("which month"), or None."""
        return unfilled_slot(self.question, [" ".join(e.window for e in extracts)])

    @staticmethod
    def declined(draft: str, checks: Sequence[SentenceCheck]) -> bool:
        """The model said the passages do not answer, and nothing it wrote was shown."""
        return is_refusal(draft) and not any(c.shown for c in checks)


def _short_sentence(text: str, terms: set[str]) -> bool:
    """Two content terms in a sentence of four words or more that ends like one: a claim."""
    return len(terms) >= 2 and len(text.split()) >= 4 and text.rstrip()[-1:] in ".!"


def _unshown(extract: Extract, shown_window: str) -> Extract | None:
    """``extract`` without the sentences the (widened) first quote already shows, or None.

    A later quote may only lose a sentence at its edge; what is left is one
    sentence of the passage, quoted as it stands."""
    shown = set(split_sentences(shown_window))
    sentences = split_sentences(extract.window)
    left = [s for s in sentences if s not in shown]
    if len(left) == len(sentences):
        return extract
    if len(left) == 1:
        return Extract(extract.passage, left[0], extract.relevance, extract.span)
    return None


def _plain(sentence: str) -> bool:
    """A neighbour may be short ("The class was designated CS231n.") but not a table row or heading."""
    return bool(sentence) and "|" not in sentence and sentence.rstrip()[-1:] in ".!?\"”’)"


def _holds(text: str, span: str) -> bool:
    return normalise_for_match(span) in normalise_for_match(text)


def _neighbours(passage: str, window: str) -> tuple[str, str, bool]:
    """The sentences just before and after ``window`` in ``passage`` ('' at the edges), and
    whether the one after goes on in the same paragraph."""
    sentences = split_sentences(passage)
    first = split_sentences(window)
    if not first:
        return "", "", False
    starts, pos = [], 0
    for sentence in sentences:
        at = passage.find(sentence, pos)
        starts.append(at if at >= 0 else pos)
        pos = starts[-1] + len(sentence)
    for i, sentence in enumerate(sentences):
        if sentence == first[0]:
            j = i + len(first)
            before = sentences[i - 1] if i > 0 else ""
            after = sentences[j] if j < len(sentences) else ""
            same = bool(after) and "\n\n" not in passage[starts[j - 1] + len(sentences[j - 1]):starts[j]]
            return (before if _plain(before) else ""), (after if _plain(after) else ""), same
    return "", "", False
