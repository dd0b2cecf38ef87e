"""A small language model as a reader of claims: does the evidence make the claim likely?

Word overlap cannot see a swapped relation ("Tesla has a hardware problem,
Waymo a software one" over a passage saying the reverse), a flipped negation
or a changed quantifier: the words are all there. A language model reading
the evidence first can, because small models copy well: given the passage,
the claim that repeats its relations is more likely than one that swaps them.

:class:`ClaimScorer` gives the verifier two features:

- ``lm_pmi``: how much more likely the claim becomes once the evidence is read
  (mean log-probability per token, with evidence minus without);
- ``lm_contrast``: how much more likely the best *minimal edit* of the claim is
  than the claim itself (two of its terms swapped, its negation toggled, a
  quantifier changed). A true claim beats its edits; a swapped or negated one
  loses to the edit that undoes the error.

The model is the bundled SmolLM2-135M (its small vocabulary keeps the
per-token logits cheap); any GGUF works. Deterministic: no sampling.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from pathlib import Path

import numpy as np

from .errors import BackendError, ConfigError
from .text import STOPWORDS, stem, words

__all__ = ["ClaimScorer", "perturbations"]

_NEGATIONS = {"not", "never", "no"}
_CONTRACTED = re.compile(r"\b(is|are|was|were|do|does|did|has|have|had|can|could|would|should|wo)n[’']t\b", re.I)
_AUX = re.compile(r"\b(is|are|was|were|can|will|would|could|should|does|do|did|has|have|had|must)\b", re.I)
_QUANTIFIERS = {
    "all": "some", "some": "all", "always": "sometimes", "sometimes": "always", "never": "sometimes",
    "first": "second", "second": "first", "most": "few", "few": "most", "many": "few", "only": "also",
    "will": "might", "might": "will", "more": "less", "less": "more", "before": "after", "after": "before",
    "best": "worst", "largest": "smallest", "higher": "lower", "lower": "higher",
}
_MAX_SWAPS = 6


def perturbations(claim: str, evidence: str) -> list[str]:
    """Minimal edits of ``claim`` that a careless writer might have made of the evidence.

    Swaps of two content words that the evidence also uses (their relation
    reversed), the negation toggled, a quantifier changed.
    """
    tokens = re.findall(r"[\w’'-]+|[^\w’'-]+", claim)
    present = {stem(w) for w in words(evidence)}
    slots = [
        i for i, t in enumerate(tokens)
        if re.match(r"\w", t) and t.lower() not in STOPWORDS and stem(t.lower()) in present and not t.isdigit()
    ]
    pairs = [
        (slots[a], slots[b]) for a in range(len(slots)) for b in range(a + 1, len(slots))
        # Not neighbours (that only garbles a phrase), not too far apart, same capitalisation.
        if 4 <= slots[b] - slots[a] <= 20 and tokens[slots[a]].lower() != tokens[slots[b]].lower()
        and tokens[slots[a]][:1].isupper() == tokens[slots[b]][:1].isupper()
    ]
    # Names first: a swapped pair of names is the classic reversed relation.
    pairs.sort(key=lambda p: (not tokens[p[0]][:1].isupper(), p[1] - p[0]))
    out: list[str] = []
    for i, j in pairs[:_MAX_SWAPS]:
        swapped = list(tokens)
        swapped[i], swapped[j] = tokens[j], tokens[i]
        out.append("".join(swapped))
    negated = _toggle_negation(claim)
    if negated:
        out.append(negated)
    for i, t in enumerate(tokens):
        low = t.lower()
        if low in _QUANTIFIERS:
            changed = list(tokens)
            changed[i] = _QUANTIFIERS[low] if t.islower() else _QUANTIFIERS[low].capitalize()
            out.append("".join(changed))
    return [p for p in dict.fromkeys(out) if p != claim]


def _toggle_negation(claim: str) -> str | None:
    if _CONTRACTED.search(claim):
        return _CONTRACTED.sub(lambda m: {"wo": "will", "do": "do", "does": "does", "did": "did"}.get(
            m.group(1).lower(), m.group(1)), claim, count=1)
    m = re.search(r"\b(not|never)\s+", claim, re.I)
    if m:
        return claim[: m.start()] + claim[m.end():]
    m = _AUX.search(claim)
    if m:
        return claim[: m.end()] + " not" + claim[m.end():]
    return None


class ClaimScorer:
    """Log-probabilities of claims after evidence, from a local GGUF model."""

    def __init__(self, model_path: Path, n_ctx: int = 512, n_threads: int | None = None) -> None:
        self._path = Path(model_path)
        if not self._path.is_file():
            raise ConfigError(f"claim scorer model {self._path} not found")
        self._n_ctx = n_ctx
        self._threads = n_threads or os.cpu_count() or 1
        self._model = None
        self._lock = threading.Lock()
        self.name = f"llamacpp:{self._path.stem}"

    def _load(self):  # noqa: ANN202 - llama_cpp.Llama
        if self._model is None:
            from llama_cpp import Llama

            from .llm import quiet_llama

            quiet_llama()
            try:
                self._model = Llama(model_path=str(self._path), n_ctx=self._n_ctx, n_threads=self._threads,
                                    logits_all=True, seed=0, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise BackendError(f"cannot load the claim scorer {self._path.name}: {exc}") from None
            atexit.register(self.close)
        return self._model

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None

    def _mean_logprobs(self, prefix: str, continuations: list[str]) -> list[float]:
        """Mean log-probability per token of each continuation after ``prefix`` (prefix evaluated once)."""
        model = self._load()
        head = model.tokenize(prefix.encode("utf-8"), add_bos=True, special=False)
        budget = self._n_ctx - 8
        tails = [model.tokenize((" " + c).encode("utf-8"), add_bos=False, special=False)[:64] for c in continuations]
        longest = max((len(t) for t in tails), default=0)
        head = head[: 1] + head[max(1, len(head) - (budget - longest)):] if len(head) + longest > budget else head
        model.reset()
        model.eval(head)
        out = []
        for tail in tails:
            model.n_tokens = len(head)  # drop the previous continuation, keep the evidence
            model.eval(tail)
            logits = np.asarray(model.scores[len(head) - 1 : len(head) + len(tail) - 1], dtype=np.float64)
            top = logits.max(axis=1, keepdims=True)
            logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
            out.append(float(np.mean(logits[np.arange(len(tail)), tail] - logz)) if tail else 0.0)
        return out

    def features(self, claim: str, evidence: str) -> dict[str, float]:
        """``lm_pmi`` and ``lm_contrast`` of ``claim`` given ``evidence`` (see the module doc)."""
        edits = perturbations(claim, evidence)
        with self._lock:
            given = self._mean_logprobs(f"Text: {' '.join(evidence.split())}\nStatement:", [claim, *edits])
            alone = self._mean_logprobs("Statement:", [claim])[0]
        contrast = max((e - given[0] for e in given[1:]), default=-1.0)
        return {"lm_pmi": given[0] - alone, "lm_contrast": max(min(contrast, 1.0), -1.0)}
