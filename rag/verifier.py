"""Is a claim backed by the passages it cites? A learned, deterministic verifier.

Used to check every generated answer sentence against its citations. The
verdict has two layers:

- **Vetoes** that are right every time: a number or a date in the claim that the
  passages do not contain (or state only about something else: a 2022 that ends
  his Tesla tenure is not Eureka Labs' launch year), or a name that neither the
  passages nor their documents' titles mention ("Geoffrey Hinton" when the
  passage says Fei-Fei Li).
  And the converse: a claim the passage states word for word is supported.
- **A logistic model** over features a careful reader would look at, learned
  from the labelled claim–passage pairs in ``evals/datasets/verification.jsonl``
  (``python -m evals.train_verifier`` refits it; the weights live in
  ``rag/params/verifier.json``):

  - how much of the claim's IDF-weighted vocabulary the best evidence window (a
    sentence or two neighbours) and the whole passage hold, and how rare the
    rarest missing word is ("schools will *close*"); words the claim takes
    from a wh-question count as held (:func:`licensed_terms`), and so do
    rewordings WordNet relates to a passage word ("developed" for "formulated",
    :mod:`rag.lexicon`);
  - how many missing words are *specific* (rarer than Zipf 5 in general
    English): "creativity" in place of "attention to detail" is a new fact,
    "the next step" is glue;
  - closeness in meaning to the best window (the embedding model);
  - negation that one side has and the other lacks, scoped so that "No, he does
    not think it is a car company" answering "Is Tesla a car company?" agrees
    with "I don't think it's a car company";
  - quantifiers and modal words the evidence lacks ("all", "first", "will");
  - whether key terms keep their order and pairing (a swapped relation: "Tesla
    has a hardware problem, Waymo a software one").

The probability the model gives is the support score; the operating threshold
is chosen on the training split for a stated precision (see the params file).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .embeddings import Embedder
from .lexicon import commonness, related
from .text import content_terms, names, negated_terms, numbers, split_sentences, stem, words

__all__ = ["FEATURES", "Support", "Verifier", "VerifierParams", "claim_features", "strip_citations"]

PARAMS_FILE = Path(__file__).with_name("params") / "verifier.json"

_CITATION = re.compile(r"\s*\[\d+\]")
# Words whose presence changes what a claim asserts although they are stopwords
# to retrieval: quantity, order, certainty.
_QUALIFIERS = frozenset(
    "all every always never only first second third last most least best worst largest smallest "
    "biggest many few some none entire whole must will might may could should would can cannot "
    "sole single exclusively entirely completely fully partly mostly rarely often".split()
)
# A yes/no answer's opener carries the polarity of the question, not a claim.
_OPENER = re.compile(r"^\s*(?:yes|no)\s*[,.;:!—–-]+\s*", re.I)

FEATURES = (
    "recall_window",  # IDF share of claim terms in the best window
    "recall_passage",  # IDF share of claim terms anywhere in the cited passages (and titles)
    "missing_rarest",  # IDF of the rarest claim term the passages lack, over the corpus maximum
    "missing_count",  # number of claim terms the passages lack, squashed
    "cosine",  # embedding similarity of claim and best window
    "negation",  # one side negates what the other asserts
    "qualifier",  # a quantifier/modal word of the claim that the window lacks
    "order",  # share of the claim's key-term pairs whose order the window reverses
    "length",  # content terms in the claim, squashed
    "novel_specific",  # claim words the passages lack (even reworded) that are not common English, squashed
)

# Words at least this common in general English (Zipf scale: "step" 5.1, "though" 5.6)
# seldom carry a fact on their own; rarer missing words ("creativity" 4.0) usually do.
_COMMON_ZIPF = 5.0


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


@dataclass(frozen=True)
class VerifierParams:
    """The learned model: weights per feature, bias, and the decision threshold."""

    weights: dict[str, float]
    bias: float
    threshold: float
    mean: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> "VerifierParams":
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["weights"], raw["bias"], raw["threshold"], raw.get("mean", {}), raw.get("scale", {}),
                   raw.get("meta", {}))

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias
        for name, w in self.weights.items():
            x = (features.get(name, 0.0) - self.mean.get(name, 0.0)) / (self.scale.get(name, 1.0) or 1.0)
            z += w * x
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@lru_cache(maxsize=1)
def default_params() -> VerifierParams:
    return VerifierParams.load()


@dataclass(frozen=True)
class Support:
    """Verdict for one claim against one or more passages."""

    score: float  # probability that the passages support the claim (0 when vetoed)
    supported: bool
    reason: str  # empty when supported; otherwise why not, in words
    evidence: str  # the passage sentence(s) that match the claim best
    features: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"score": round(self.score, 4), "supported": self.supported, "reason": self.reason}


def _windows(passage: str) -> list[str]:
    sentences = split_sentences(passage) or [passage]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
    return sentences + pairs


def _acronyms(text: str) -> set[str]:
    """Initials of runs of capitalised words: "Full Self Driving Beta" -> "fsdb", "fsd", ..."""
    out = set()
    for run in re.findall(r"(?:\b[A-Z][\w-]*(?:\s+|$)){2,}", text):
        initials = "".join(w[0] for w in run.split()).lower()
        out.update(initials[i:j] for i in range(len(initials)) for j in range(i + 2, len(initials) + 1))
    return out


def missing_names(claim: str, evidence_text: str) -> list[str]:
    """Names in the claim that the evidence never mentions.

    Names are compared part by part ("Fei-Fei" -> "fei") and by stem ("LiDARs"),
    and an all-capitals name may stand for a run of capitalised words in the
    evidence ("NHTSA" for "National Highway Traffic Safety Administration").
    """
    present = set()
    for w in words(evidence_text):
        w = w.removesuffix("'s")
        present.update((w, stem(w)))
    acronyms = None
    missing = []
    for name in sorted(names(claim)):
        parts = [p for p in re.split(r"[-'’]", name.removesuffix("'s").removesuffix("’s")) if p and p != "s"]
        if not parts or all(p in present or stem(p) in present for p in parts):
            continue
        if acronyms is None:
            acronyms = _acronyms(evidence_text)
        if name in acronyms:
            continue
        missing.append(name)
    return missing


def _numbers_out_of_context(claim: str, texts: Sequence[str]) -> str | None:
    """A number of the claim that the passages state only about something else.

    "Eureka Labs launched in 2022" against a passage whose 2022 ends his Tesla
    tenure: the number must occur in a sentence that shares at least two of the
    claim's other content terms (or all of them, for a short claim).
    """
    wanted = numbers(claim)
    if not wanted:
        return None
    terms = {t for t in content_terms(_core(claim)) if not numbers(t)}
    need = min(2, len(terms))
    for number in sorted(wanted):
        if not any(
            number in numbers(sentence) and len(terms & set(content_terms(sentence))) >= need
            for text in texts
            for sentence in (split_sentences(text) or [text])
        ):
            return number
    return None


def _words_line(text: str) -> str:
    return " " + " ".join(words(text)) + " "


def _verbatim(claim: str, passage: str) -> bool:
    """The claim's words occur as one contiguous run in the passage (case and punctuation aside)."""
    core = _words_line(_core(claim))
    return len(core.split()) >= 4 and core in _words_line(passage)


def _core(claim: str) -> str:
    """The claim without a yes/no opener."""
    return _OPENER.sub("", claim, count=1)


def negation_conflict(claim: str, window: str) -> bool:
    """One side denies what the other asserts.

    Polarity is compared, not the exact scope: "he does not think Tesla is a car
    company" and "Tesla, I don't think it's a car company" both deny, so they
    agree even though the scopes reach different words.
    """
    core = _core(claim)
    neg_claim, neg_window = negated_terms(core), negated_terms(window)
    claim_terms, window_terms = set(content_terms(core)), set(content_terms(window))
    if neg_claim and not neg_window:
        return bool(neg_claim & window_terms)
    if neg_window and not neg_claim:
        return bool(neg_window & claim_terms)
    return False


def _order_reversals(claim_terms: list[str], window_terms: list[str]) -> float:
    """Share of the claim's pairs of distinct key terms that the window holds in reverse order.

    Only terms occurring once in each are compared, so repetition cannot fake
    a reversal; a swapped relation ("A trained B" for "B trained A") reverses
    the pairs around the verb.
    """
    first = {}
    for i, t in enumerate(window_terms):
        first.setdefault(t, i)
    counts = {t: window_terms.count(t) for t in first}
    seq = [t for t in dict.fromkeys(claim_terms) if counts.get(t) == 1 and claim_terms.count(t) == 1]
    pairs = reversed_ = 0
    for i in range(len(seq)):
        for j in range(i + 1, min(i + 4, len(seq))):  # nearby pairs carry the relation
            pairs += 1
            reversed_ += first[seq[i]] > first[seq[j]]
    return reversed_ / pairs if pairs else 0.0


_YES_NO = re.compile(r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|may|might)\b", re.I)


def licensed_terms(question: str) -> set[str]:
    """Terms an answer may take from a wh-question without the passage repeating them.

    "Who supervised his doctoral work?" answered by "Under Fei-Fei Li ...": the
    answer "Fei-Fei Li supervised his doctoral work" restates the question's
    premise, it does not invent "supervised". A yes/no question asserts
    nothing, so its terms license nothing ("Did he found Tesla?").
    """
    if not question or _YES_NO.match(question):
        return set()
    return set(content_terms(question))


_CONTRACTIONS = {"'ll": "will", "'d": "would", "n't": "not", "'re": "are", "'ve": "have"}


def _expanded(text: str) -> set[str]:
    """Words of ``text`` with contractions spelled out ("you'll" also gives "will")."""
    out = set(words(text))
    for w in list(out):
        for suffix, full in _CONTRACTIONS.items():
            if w.endswith(suffix):
                out.add(full)
    if "can't" in out or "cannot" in out:
        out.add("can")
    return out


def grounded(term: str, held: set[str]) -> bool:
    """The passage holds ``term`` itself or a word WordNet relates to it ("formul" for "develop")."""
    return term in held or not related(term).isdisjoint(held)


def claim_features(
    claim: str,
    windows: Sequence[str],
    sims: Sequence[float],
    passage_text: str,
    idf: Callable[[str], float],
    max_idf: float,
    question: str = "",
) -> tuple[dict[str, float], str]:
    """The feature vector of ``claim`` against windows with their cosines, and the best window."""
    core = _core(claim)
    terms = list(dict.fromkeys(content_terms(core)))
    weight = {t: idf(t) for t in terms}
    total = sum(weight.values()) or 1.0
    passage_terms = set(content_terms(passage_text)) | licensed_terms(question)
    best, best_key, best_recall, best_sim = "", -1.0, 0.0, 0.0
    for window, sim in zip(windows, sims):
        wt = set(content_terms(window))
        recall = sum(weight[t] for t in terms if grounded(t, wt)) / total
        key = 0.5 * recall + 0.5 * max(float(sim), 0.0)
        if key > best_key:
            best, best_key, best_recall, best_sim = window, key, recall, float(sim)
    missing = [t for t in terms if not grounded(t, passage_terms)]
    specific = {
        w for w in words(core)
        if (c := content_terms(w)) and c[0] in missing and commonness(w) < _COMMON_ZIPF
    }
    claim_words = set(words(core))
    window_words = _expanded(best)
    window_stems = {stem(w) for w in window_words}
    features = {
        "recall_window": best_recall,
        "recall_passage": sum(weight[t] for t in terms if t not in missing) / total,
        "missing_rarest": max((weight[t] for t in missing), default=0.0) / (max_idf or 1.0),
        "missing_count": 1.0 - 1.0 / (1.0 + len(missing)),
        "cosine": max(best_sim, 0.0),
        "negation": float(negation_conflict(claim, best)),
        "qualifier": float(any(not grounded(stem(q), window_stems) for q in (claim_words & _QUALIFIERS) - window_words)),
        "order": _order_reversals(content_terms(core), content_terms(best)),
        "length": 1.0 - 1.0 / (1.0 + len(terms) / 4.0),
        "novel_specific": 1.0 - 1.0 / (1.0 + len(specific)),
    }
    return features, best


class Verifier:
    """Scores claims against passages: vetoes, then the learned model."""

    def __init__(
        self,
        embedder: Embedder,
        idf: Callable[[str], float] | None = None,
        params: VerifierParams | None = None,
        threshold: float | None = None,
        cache_size: int = 512,
    ) -> None:
        """``idf`` weights words by rarity (the corpus's BM25 statistics), so a missing
        specific term ("minbpe") costs more than a missing common one; ``threshold``
        overrides the learned operating point."""
        self.embedder = embedder
        self.idf = idf or (lambda term: 1.0)
        self.params = params or default_params()
        self.threshold = self.params.threshold if threshold is None else threshold
        self._cache: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def windows(self, passage: str) -> tuple[list[str], np.ndarray]:
        """The passage's sentences, then its sentence pairs, with their embeddings (cached)."""
        with self._lock:
            hit = self._cache.get(passage)
            if hit is not None:
                self._cache.move_to_end(passage)
                return hit
        windows = _windows(passage)
        vectors = self.embedder.embed_batch(windows)
        with self._lock:
            self._cache[passage] = (windows, vectors)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return windows, vectors

    def _max_idf(self) -> float:
        # The rarest possible word in this corpus: what an unseen word would score.
        return max(self.idf("\x00unseen\x00"), 1e-6)

    def check(self, claim: str, passages: Sequence[str], titles: Sequence[str] = (), question: str = "") -> Support:
        """Support of ``claim`` by the passages taken together.

        ``titles`` are the passages' document titles; ``question`` is what the
        claim answers: a name the question itself uses may be restated although
        the passage only says "he" (it is then weighed, not vetoed).
        """
        claim = strip_citations(claim)
        terms = set(content_terms(_core(claim)))
        if not terms:
            return Support(0.0, False, "no content to check", "")
        if not passages:
            return Support(0.0, False, "no passage cited", "")
        joined = "\n".join(passages)
        with_titles = "\n".join([*titles, joined])
        missing_numbers = numbers(claim) - numbers(with_titles)
        if missing_numbers:
            return Support(0.0, False, f"the number {sorted(missing_numbers)[0]} is not in the cited passages", "")
        stray = _numbers_out_of_context(claim, [*titles, *passages])
        if stray:
            return Support(0.0, False, f"the number {stray} is not stated with what the claim says", "")
        missing = missing_names(claim, with_titles)
        asked = names(question) if question else set()
        vetoed = [n for n in missing if n not in asked]
        if vetoed:
            return Support(0.0, False, f"the name {vetoed[0]!r} is not in the cited passages", "")

        if _verbatim(claim, joined):
            # The passage says it word for word: supported by construction (a quote).
            return Support(1.0, True, "", _core(claim), {"verbatim": 1.0})

        claim_vec = self.embedder.embed_query(claim)
        all_windows: list[str] = []
        sims: list[float] = []
        for passage in passages:
            windows, vectors = self.windows(passage)
            all_windows.extend(windows)
            sims.extend(float(s) for s in np.asarray(vectors @ claim_vec, dtype=float))
        features, evidence = claim_features(claim, all_windows, sims, with_titles, self.idf, self._max_idf(),
                                            question)
        p = self.params.probability(features)
        if p >= self.threshold:
            return Support(p, True, "", evidence, features)
        return Support(p, False, _explain(features), evidence, features)

    def best(
        self, claim: str, passages: Sequence[str], titles: Sequence[str] = (), question: str = ""
    ) -> tuple[int, Support]:
        """Index and verdict of the single passage that supports ``claim`` best."""
        results = [self.check(claim, [p], titles[i : i + 1], question) for i, p in enumerate(passages)]
        if not results:
            return -1, Support(0.0, False, "no passage", "")
        i = max(range(len(results)), key=lambda j: (results[j].supported, results[j].score))
        return i, results[i]


def _explain(f: dict[str, float]) -> str:
    """The most telling failed feature, in words."""
    if f.get("negation"):
        return "the passage says the opposite (negation differs)"
    if f.get("missing_rarest", 0) > 0.5:
        return "it says something the cited passages do not mention"
    if f.get("order", 0) > 0.5:
        return "the passage relates these terms differently"
    if f.get("qualifier"):
        return "a quantifier or modal word is not in the passage"
    return "too little of it is in the cited passages"
