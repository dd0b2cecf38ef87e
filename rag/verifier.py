"""Is a claim backed by the passages it cites? A deterministic, calibrated verifier.

Used to check every generated answer sentence against its citations. The
verdict has three layers:

- **Vetoes** that are right every time: a number or a date in the claim that the
  passages do not contain (or state only about something else: a 2022 that ends
  his Tesla tenure is not Eureka Labs' launch year, nor a 1972 that another clause of
  the sentence gives to something else while a 1978 goes with the claim's fact), a
  date whose month the passages give another year ("February 7, 2015" for "February
  7, 2016"), or a name that neither the
  passages nor their documents' titles mention ("Geoffrey Hinton" when the
  passage says Fei-Fei Li).
- **Word for word**: a claim the passage states verbatim is supported.
- **Alignment checks** (:mod:`rag.alignment`), each a reason a careful reader
  would reject the sentence for: a specific word the evidence lacks even
  reworded ("creativity" for "attention to detail"); more than a few missing
  glue words or framing verbs; too little of the claim in one window of the
  passage; meaning too far from it; a negation, a strong qualifier, a
  reversed relation or a swapped "from ... to" that the evidence does not
  share. The limits are learned (``python -m evals.train_verifier``) and live
  in ``rag/params/verifier.json``: the most permissive setting that passes at
  most a stated share of the dev replay set's scripted fabricated sentences
  while keeping the labelled training split's precision.

The support score orders verdicts (which passage supports a sentence best):
1.0 for a verbatim claim, 0 for a veto, otherwise half the evidence strength
(window recall and closeness) below 0.5 for a rejected claim, and 0.5 plus
half of it for an accepted one. ``support_threshold`` (a setting) can ask for
more than the checks do.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .alignment import (
    Alignment,
    align,
    grounded,
    licensed_terms,
    negation_conflict,
    table_headers,
    table_rows,
    windows,
)
from .relations import core
from .embeddings import Embedder
from .lexicon import related
from .text import (
    NUMBER_RE, STOPWORDS, clauses, content_terms, has_finite_verb, names, numbers, split_sentences, stem,
    unpossessed, words,
)

__all__ = [
    "Support",
    "Verifier",
    "VerifierParams",
    "decide",
    "grounded",
    "licensed_terms",
    "missing_names",
    "name_runs",
    "scattered_names",
    "negation_conflict",
    "strip_citations",
]

PARAMS_FILE = Path(__file__).with_name("params") / "verifier.json"

_CITATION = re.compile(r"\s*\[\d+\]")


# A claim wholly inside brackets, a full stop allowed after them.
_ASIDE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*\.?\s*")


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


@dataclass(frozen=True)
class VerifierParams:
    """The learned limits of the alignment checks (``rag/params/verifier.json``)."""

    common_zipf: float = 5.0  # a missing word at least this common in English (Zipf) is glue
    max_common: int = 2  # missing glue words a claim may have
    max_framing: int = 1  # missing framing verbs ("argues") and source nouns ("the author")
    min_recall: float = 0.5  # IDF-weighted share of the claim its evidence window must hold
    min_cosine: float = 0.4  # embedding similarity to the closest window
    max_order: float = 0.35  # share of key-term pairs the window may hold in reverse order
    # A claim this close to its window in meaning (cosine) may miss up to ``max_common_close``
    # glue words: a rewording of a whole sentence ("people drive using optical input" for
    # "humans navigate via optical input") changes several common words at once.
    close_cosine: float = 1.01  # above 1: off
    max_common_close: int = 2
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> "VerifierParams":
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**raw.get("limits", {}), meta=raw.get("meta", {}))

    def to_json(self) -> dict:
        limits = asdict(self)
        meta = limits.pop("meta")
        return {"limits": limits, "meta": meta}


@lru_cache(maxsize=1)
def default_params() -> VerifierParams:
    return VerifierParams.load()


def decide(a: Alignment, params: VerifierParams) -> str:
    """Why the claim is not supported by its evidence window, in words; '' when it is."""
    if a.negation:
        return "the passage says the opposite (negation differs)"
    if a.qualifiers:
        return f"the passage does not say {a.qualifiers[0]!r}"
    specific = a.words("specific")
    if specific:
        return f"it says something the cited passages do not mention ({', '.join(specific[:3])})"
    if a.count("framing") + a.count("source") > params.max_framing:
        return "it attributes or frames more than the passage says"
    common = a.count("common")
    close = a.cosine >= params.close_cosine and common <= params.max_common_close
    if (common > params.max_common and not close) or a.recall < params.min_recall:
        return "too little of it is in the cited passages"
    if a.cosine < params.min_cosine:
        return "it is not close in meaning to the cited passages"
    if a.swapped or a.order > params.max_order:
        return "the passage relates these terms differently"
    return ""


def _score(a: Alignment, supported: bool) -> float:
    strength = 0.5 * a.recall + 0.5 * max(a.cosine, 0.0)
    return 0.5 + 0.5 * strength if supported else 0.5 * strength


@dataclass(frozen=True)
class Support:
    """Verdict for one claim against one or more passages."""

    score: float  # support score: 1 verbatim, 0 vetoed, >= 0.5 when the checks pass
    supported: bool
    reason: str  # empty when supported; otherwise why not, in words
    evidence: str  # the passage sentence(s) that match the claim best
    features: dict[str, float] = field(default_factory=dict)
    # The passage speaks of the same thing but says otherwise (a negation, a qualifier,
    # a reversed relation): another passage that happens to fit is no rescue.
    contradicted: bool = False

    def to_dict(self) -> dict:
        return {"score": round(self.score, 4), "supported": self.supported, "reason": self.reason}


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
    evidence ("NHTSA" for "National Highway Traffic Safety Administration"). A
    name WordNet derives from one the evidence has is that name: "Irish" for
    "Ireland", "Pakistani" for "Pakistan".
    """
    present = set()
    for w in words(evidence_text):
        w = w.removesuffix("'s")
        present.update((w, stem(w)))
    evidence_names: set[str] | None = None  # read only for a name the evidence lacks, as acronyms are

    def derived(part: str) -> bool:
        # A name WordNet derives from one of the evidence's names, spelt alike at the start:
        # "Irish" for "Ireland", not "Chinese" for "Taiwan" nor "American" for "us".
        nonlocal evidence_names
        if evidence_names is None:
            evidence_names = {stem(n.lower()) for n in names(evidence_text)}
        return any(r[:2] == part[:2] for r in related(stem(part)) & evidence_names)

    acronyms = None
    missing = []
    for name in sorted(names(claim)):
        parts = [p for p in re.split(r"[-'’]", unpossessed(name)) if p and p != "s"]
        if not parts or all(p in present or stem(p) in present or derived(p) for p in parts):
            continue
        if acronyms is None:
            acronyms = _acronyms(evidence_text)
        if name in acronyms:
            continue
        missing.append(name)
    return missing


# Words a name of several words may hold between its capitalised parts.
_NAME_LINKS = frozenset({"of", "the", "de", "del", "da", "von", "van", "der", "la", "le"})


def _parts(word: str) -> list[str]:
    """A lower-cased word's stems, split at hyphens and apostrophes, a possessive dropped."""
    return [stem(p) for p in re.split(r"[-']", re.sub(r"'s$", "", word)) if p]


def _part_tokens(text: str, pattern: str) -> list[str]:
    return [p for w in re.findall(pattern, text.lower().replace("’", "'")) for p in _parts(w)]


def name_runs(text: str) -> list[list[str]]:
    """Names of two or more capitalised words, as their parts' stems: "the Stanford Vision
    Lab" -> [["stanford", "vision", "lab"]]. A possessive ends a run ("Tesla's Autopilot"
    is two names)."""
    known = names(text)
    runs: list[list[str]] = []
    current: list[str] = []
    pending: list[str] = []  # linking words seen since the last part
    for m in re.finditer(r"[A-Za-z0-9\u00C0-\u024F]+(?:[-'’][A-Za-z0-9]+)*|[^\sA-Za-z0-9]", text):
        token = m.group(0)
        low = token.lower().replace("’", "'")
        bare = re.sub(r"'s$", "", low)
        if token[:1].isupper() and bare in known:
            current += _parts(bare)
            pending = []
            if bare != low:  # "Tesla's": the run ends here
                runs.append(current)
                current = []
            continue
        if current and low in _NAME_LINKS and not pending:
            pending.append(low)
            continue
        runs.append(current)
        current, pending = [], []
    runs.append(current)
    return [r for r in runs if len(r) >= 2]


def _run_stated(run: list[str], tokens: list[str], slack: int = 2) -> bool:
    """The parts of ``run`` appear in order in ``tokens`` within a stretch of at most
    ``slack`` extra words ("President Kennedy" in "President John F. Kennedy")."""
    for i, t in enumerate(tokens):
        if t != run[0]:
            continue
        j, k = i + 1, 1
        while k < len(run) and j < len(tokens) and j - i < len(run) + slack:
            if tokens[j] == run[k]:
                k += 1
            j += 1
        if k == len(run):
            return True
    return False


def scattered_names(claim: str, evidence_text: str, question: str = "") -> list[str]:
    """Names of several words whose parts the evidence has, but never together: "the
    Stanford Vision Lab" where the passages speak of Stanford, of computer vision and of
    Eureka Labs. One name is no three facts. Not a name the question uses itself."""
    # Sentence and cell ends stay as tokens: a name does not run across them (an initial's
    # full stop is no end: "John F. Kennedy").
    evidence_text = re.sub(r"\b([A-Z])\.", r"\1", evidence_text)
    tokens = _part_tokens(evidence_text, r"[\w'’-]+|[.!?;:|()]")
    asked = _part_tokens(question, r"[\w'’-]+")
    out = []
    for run in name_runs(claim):
        if not _run_stated(run, tokens) and not _run_stated(run, asked, 0):
            out.append(" ".join(run))
    return out


_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())
_YEARLIKE = re.compile(r"1[5-9]\d\d|20\d\d")
_LABELLED_NUMBER = re.compile(r"\b([A-Z][A-Za-z]+)[ -](\d+(?:\.\d+)?)\b")
# Capitalised at a sentence start, these qualify an amount; they never name a thing.
_APPROXIMATORS = frozenset(
    "nearly roughly almost around about approximately circa some over under exactly precisely only just top "
    "up least fewer more less another".split()
)


def _label_key(label: str, value: str) -> tuple[str, str] | None:
    """("software", "3") for "Software 3.0"; None when the word before the number names nothing."""
    low = label.lower()
    # A year after a word is a date, not part of a name ("March 2017", "Tesla 2017").
    if low in STOPWORDS or low in _APPROXIMATORS or low in _MONTHS or _YEARLIKE.fullmatch(value):
        return None
    return low, next(iter(numbers(value)), value)


def _labelled_numbers(text: str) -> set[tuple[str, str]]:
    """Numbers that are part of a name, with the name: "Software 3.0" -> ("software", "3")."""
    keys = (_label_key(label, value) for label, value in _LABELLED_NUMBER.findall(text))
    return {k for k in keys if k is not None}


def _shared(terms: set[str], sentence: str) -> int:
    """How many of ``terms`` the sentence holds, itself or reworded ("rejoined" for "returned")."""
    present = set(content_terms(sentence))
    return sum(grounded(t, present) for t in terms)


def _statements(text: str, rows: bool = True) -> list[str]:
    """The units a number is stated in: sentences, and the rows of a table (a row
    states its period with each of its cells: "| 2017 - 2022 | Tesla Sr. Director of AI
    | ... | Deployed FSD Beta to 400k+ Users |"). ``rows`` False for a claim that copies
    table bars itself: a whole table pasted as one "sentence" shares terms with every
    row, and would have every number of it in context (BENCHMARKS.md, session 29)."""
    sentences = split_sentences(text) or [text]
    return sentences + table_rows(text) if rows else sentences


def _in_context(number: str, terms: set[str], need: int, sentence: str, focus: set[str],
                stated: frozenset[str] = frozenset()) -> bool:
    """The sentence states ``number`` with at least ``need`` of the claim's ``terms``, and
    no other clause of it says what the claim's clause holding the number says
    (``focus``, its terms) with a rival number of the same kind, a year for a year:
    "brought to a stop in 1972" is not "In 1972 almost all episodes existed, while by
    1978 the practice had been brought to a stop". A number the claim also ``stated`` is
    no rival ("founded in 2010 and shipped its first product in 2014")."""
    if number not in numbers(sentence) or _shared(terms, sentence) < need:
        return False
    parts = clauses(sentence)
    if len(parts) < 2:
        return True
    year = bool(_YEARLIKE.fullmatch(number))
    own = max((_shared(focus, c) for c in parts if number in numbers(c)), default=0)
    for clause in parts:
        rivals = {n for n in numbers(clause) - {number} - stated if bool(_YEARLIKE.fullmatch(n)) == year}
        if rivals and number not in numbers(clause) and _shared(focus, clause) >= max(need, own + 1):
            return False
    return True


# Words between a number and what it counts: "2.666 million residents", "50 percent of".
_MULTIPLIERS = frozenset("hundred thousand million billion trillion percent per cent".split())
# Units measure, they do not name what is counted: "77 years" and "80 years" are two
# people's life expectancies, "€5000 a year" and "€25,000 per year" two fees.
_UNITS = frozenset(stem(w) for w in (
    "second minute hour day week month year decade century annual annually times time "
    "km kilometre kilometer metre meter mile ft feet foot inch cm mm kg kilogram gram pound lb ton tonne "
    "litre liter ml gallon acre hectare sq square cubic degree dollar euro yen usd mph kph point"
).split())


def _counts(text: str, reach: int = 2) -> list[tuple[str, list[str]]]:
    """Each number that is not a year, with the stems of the words after it (up to ``reach``
    words, multipliers skipped): "8000 CDs and 10,000 LPs" -> [("8000", ["cd"]), ("10000",
    ["lp"])]."""
    out = []
    for m in NUMBER_RE.finditer(text):
        value = next(iter(numbers(m.group(0))), None)
        if value is None or _YEARLIKE.fullmatch(value):
            continue
        # Part of a name ("Software 2.0 is code ...") or a list item's number ("48. AI Will
        # Eat the Stack"): it counts nothing.
        label = re.search(r"\b([A-Z][A-Za-z]+)[ -]$", text[max(0, m.start() - 40):m.start()])
        if label and _label_key(label.group(1), value) is not None:
            continue
        head = text[:m.start()].rstrip(" \t")
        if (not head or head.endswith("\n")) and text[m.end(1):m.end(1) + 2] == ". ":
            continue
        # From the digits on ("6.04 mL" is no "6.04 m"), a lone suffix letter skipped ("400k").
        after = [w for w in words(text[m.end(1):m.end(1) + 80]) if w not in _MULTIPLIERS and len(w) > 1][:reach]
        out.append((value, [stem(w) for w in after if w not in STOPWORDS and not w[0].isdigit()]))
    return out


def _recounted(claim: str, texts: Sequence[str]) -> str | None:
    """A number the claim gives to what the passages count with another of their numbers,
    while they give the claim's number to what the claim counts with another: "10,000
    CDs and 8,000 LPs" where the passage says "8000 CDs and 10,000 LPs" (a swap). Never
    when the passages also state the number with the claim's word ("6.04 mL" restates
    "6.04 milliliters (mL)"), nor when they give it to nothing the claim counts ("even 1
    billion parameters" for "3 billion parameters, 20 billion? I think even 1 billion
    suffices")."""
    stated = [c for t in texts for c in _counts(t)]
    near = [c for t in texts for c in _counts(t, reach=4)]
    counted = _counts(claim)
    recounts = {value: {n[0] for v, n in counted if v != value and n} for value, _ in counted}
    for value, after in counted:
        if not after or after[0] in _UNITS:
            continue
        noun = after[0]
        if any(v == value and noun in n for v, n in near):
            continue
        # A swap: the passage's word for this number is one the claim counts with another
        # ("8,000 LPs"), not merely a word it uses ("30 percent used R").
        others = {n[0] for v, n in stated if v == value and n} - {noun}
        if others & recounts.get(value, set()) and any(v != value and n[:1] == [noun] for v, n in stated):
            return value
    return None


# A month (capitalised: "march 2000 soldiers" is no date), an optional day, a year.
_DATE = re.compile(r"\b(" + "|".join(sorted((m.capitalize() for m in _MONTHS), key=len, reverse=True))
                   + r")\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+(\d{4})\b")


def _changed_date(claim: str, texts: Sequence[str]) -> str | None:
    """A date of the claim whose month the passages give another year, and never the
    claim's: "February 7, 2015" where the passage says "February 7, 2016"."""
    stated: dict[str, set[str]] = {}
    for text in texts:
        for m in _DATE.finditer(text):
            stated.setdefault(m.group(1).lower()[:3], set()).add(m.group(2))
    joined = "\n".join(texts)
    for m in _DATE.finditer(claim):
        month, year = m.group(1).lower()[:3], m.group(2)
        years = stated.get(month)
        # "In February of 2016", "February 7-9, 2016" state the claim's "February 2016" in
        # another form: the year a few characters after the month.
        if years and year not in years and not re.search(rf"\b{month}\w*\.?[^.;\n]{{0,15}}?\b{year}\b", joined, re.I):
            return m.group(0)
    return None


def _numbers_out_of_context(claim: str, texts: Sequence[str]) -> str | None:
    """A number of the claim that the passages state only about something else.

    "Eureka Labs launched in 2022" against a passage whose 2022 ends his Tesla
    tenure: the number must occur in a sentence that shares at least two of the claim's
    other content terms, itself or reworded (or all of them, for a short claim).
    """
    wanted = numbers(claim)
    if not wanted:
        return None
    terms = {t for t in content_terms(core(claim)) if not numbers(t)}
    need = min(2, len(terms))
    # Lines apart, so a title's last word never labels the passage's first number.
    labelled = _labelled_numbers("\n".join(texts))
    shared = _labelled_numbers(claim) & labelled

    def unnamed(match: re.Match[str]) -> str:
        named = _label_key(match.group(1), match.group(2)) in shared
        return " " if named else match.group(0)

    # The claim with the named things both sides share taken out: the same number used
    # again as an amount ("Software 3.0 took 3 years") is still checked in context.
    rest = numbers(_LABELLED_NUMBER.sub(unnamed, claim))
    for number in sorted(wanted):
        if number not in rest:
            continue  # only ever part of the same named thing: "Software 3.0", "GPT-4" in both
        # What the claim says with the number is its own clause: "…, though quite a few
        # arrived as late as 1700" (the other clause's terms are another statement's).
        focus = {t for c in clauses(core(claim)) if number in numbers(c)
                 for t in content_terms(c) if not numbers(t)} or terms
        if not any(
            _in_context(number, terms, need, sentence, focus, frozenset(wanted))
            for text in texts
            for sentence in _statements(text, rows="|" not in claim)
        ):
            return number
    return None


def _words_line(text: str) -> str:
    return " " + " ".join(words(text)) + " "


def _verbatim(claim: str, passage: str) -> bool:
    """The claim's words occur as one contiguous run in the passage (case and punctuation aside)."""
    core_words = _words_line(core(claim))
    return len(core_words.split()) >= 4 and core_words in _words_line(passage)


class Verifier:
    """Scores claims against passages: vetoes, word for word, then the alignment checks."""

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
        is a minimum support score on top of the checks (``support_threshold``)."""
        self.embedder = embedder
        self.idf = idf or (lambda term: 1.0)
        self.params = params or default_params()
        self.threshold = threshold
        self._cache: OrderedDict[tuple[str, int, bool], tuple[list[str], np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _embedded(self, key: tuple, make: Callable[[], list[str]]) -> tuple[list[str], np.ndarray]:
        """``make()``'s texts with their embeddings, cached under ``key``."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        texts = make()
        vectors = self.embedder.embed_batch(texts)
        with self._lock:
            self._cache[key] = (texts, vectors)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return texts, vectors

    def _windows(self, passage: str, size: int, tables: bool = False) -> tuple[list[str], np.ndarray]:
        return self._embedded((passage, size, tables), lambda: windows(passage, size, tables))

    def windows(self, passage: str) -> tuple[list[str], np.ndarray]:
        """The passage's sentences, then its sentence pairs, with their embeddings (cached):
        the quotable windows of the extractive answer."""
        return self._windows(passage, 2)

    def rows(self, passage: str) -> tuple[list[str], np.ndarray]:
        """The passage's whole table rows, with their embeddings (cached): quotable too."""
        return self._embedded((passage, "rows"), lambda: table_rows(passage))

    def align(self, claim: str, passages: Sequence[str], question: str = "", titles: Sequence[str] = ()) -> Alignment:
        """How ``claim`` lines up with the best window of each passage (:func:`rag.alignment.align`)."""
        size = 3
        if question and not has_finite_verb(claim):
            # "University of Toronto", "Tesla's self-driving cars": a phrase says only that it
            # answers the question, so it is read as the question's statement of it, and the
            # sentence that holds it must hold what the question asks too ("not very
            # entrepreneurial"): nothing is taken from the question on trust.
            claim, question, size = f"{claim}: {question.rstrip('?').strip()}", "", 1
        evidence = [self._windows(p, size, tables=True) for p in passages]
        headers = {row: header for p in passages for row, header in table_headers(table_rows(p)).items()}
        return align(claim, evidence, self.embedder.embed_query(claim), self.idf, question, self.params.common_zipf,
                     titles, headers)

    def check(self, claim: str, passages: Sequence[str], titles: Sequence[str] = (), question: str = "") -> Support:
        """Support of ``claim`` by the passages taken together.

        ``titles`` are the passages' document titles; ``question`` is what the
        claim answers: a name the question itself uses may be restated although
        the passage only says "he" (it is then checked, not vetoed).
        """
        claim = strip_citations(claim)
        if not content_terms(core(claim)):
            return Support(0.0, False, "no content to check", "")
        if _ASIDE.fullmatch(claim):
            # "(Andrej Karpathy on No Priors 80)": a small model's pseudo-citation. Its words
            # are all in the title, but it states nothing that could be supported.
            return Support(0.0, False, "a parenthetical aside, not a claim", "")
        if not passages:
            return Support(0.0, False, "no passage cited", "")
        joined = "\n".join(passages)
        with_titles = "\n".join([*titles, joined])
        # The articles' own footnote markers ("datasets.[3][5]") state no number.
        unmarked = [strip_citations(p) for p in passages]
        missing_numbers = numbers(claim) - numbers("\n".join([*titles, *unmarked]))
        if missing_numbers:
            return Support(0.0, False, f"the number {sorted(missing_numbers)[0]} is not in the cited passages", "")
        stray = _numbers_out_of_context(claim, [*titles, *unmarked])
        if stray:
            return Support(0.0, False, f"the number {stray} is not stated with what the claim says", "")
        recounted = _recounted(claim, unmarked)
        if recounted:
            return Support(0.0, False, f"the number {recounted} counts something else in the cited passages", "")
        changed = _changed_date(claim, [*titles, *unmarked])
        if changed:
            return Support(0.0, False, f"the date {changed!r} is not in the cited passages (another year is)", "")
        missing = missing_names(claim, with_titles)
        asked = names(question) if question else set()
        vetoed = [n for n in missing if n not in asked]
        if vetoed:
            return Support(0.0, False, f"the name {vetoed[0]!r} is not in the cited passages", "")
        scattered = scattered_names(claim, with_titles, question)
        if scattered:
            return Support(0.0, False, f"the cited passages never name {scattered[0]!r} as one name", "")

        if _verbatim(claim, joined):
            # The passage says it word for word: supported by construction (a quote).
            return Support(1.0, True, "", core(claim), {"verbatim": 1.0})

        a = self.align(claim, passages, question, titles)
        reason = decide(a, self.params)
        score = _score(a, not reason)
        if not reason and self.threshold is not None and score < self.threshold:
            reason = "the evidence is weaker than the configured support threshold"
        contradicted = bool(reason) and (a.negation or bool(a.qualifiers) or a.swapped
                                         or a.order > self.params.max_order)
        return Support(score, not reason, reason, a.window, _features(a), contradicted)

    def best(
        self, claim: str, passages: Sequence[str], titles: Sequence[str] = (), question: str = ""
    ) -> tuple[int, Support]:
        """Index and verdict of the single passage that supports ``claim`` best."""
        results = [self.check(claim, [p], titles[i : i + 1], question) for i, p in enumerate(passages)]
        if not results:
            return -1, Support(0.0, False, "no passage", "")
        i = max(range(len(results)), key=lambda j: (results[j].supported, results[j].score))
        return i, results[i]


def _features(a: Alignment) -> dict[str, float]:
    """The alignment as numbers, for the inspector and ``--json``."""
    return {
        "recall_window": round(a.recall, 4),
        "cosine": round(a.cosine, 4),
        "missing_specific": float(a.count("specific")),
        "missing_common": float(a.count("common")),
        "missing_framing": float(a.count("framing") + a.count("source")),
        "negation": float(a.negation),
        "qualifier": float(bool(a.qualifiers)),
        "order": round(a.order, 4),
        "swapped": float(a.swapped),
    }
