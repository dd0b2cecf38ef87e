"""How a claim lines up with the passage sentences that should carry it.

The verifier (:mod:`rag.verifier`) decides from what this module finds, the
way a careful reader checks a sentence against its source:

- **Every word of the claim, accounted for.** Each content word is either in
  the evidence window (itself, by stem, or reworded as WordNet relates it:
  "developed" for "formulated", or a verb naming a way of doing it: "revealed"
  for "showed"), taken from the question it answers, or
  *missing*. A missing word is one of four kinds (:func:`word_kind`):

  - ``framing``: a verb that reports or judges ("argues", "describes",
    "likens"), or says how something is put ("frames it as", "adds that",
    :func:`_construals`); a strong model frames what a passage says, and that is
    not a new fact (:func:`rag.lexicon.is_framing`);
  - ``source``: the document itself ("the author", "the profile", "the
    summary");
  - ``common``: glue words of general English (Zipf >= 5: "next", "step",
    "during");
  - ``specific``: anything else, and a new fact until shown otherwise
    ("creativity" for "attention to detail", "weekly audits", "hospitals").

- **Polarity**: a negation one side has and the other lacks, counted on the
  terms both sides share, so "No, he does not think Tesla is a car company"
  agrees with "Tesla, I don't think it's a car company"; what a "rather than"
  sets aside ("instead of writing explicit C++") is not asserted.
- **Strong qualifiers** the evidence lacks ("all", "only", "never", "will").
- **Parties** (:mod:`rag.parties`): the window's clause that says what the claim's
  clause says is led by another name ("Temüjin horrified people" where the passage
  says Jamukha did), or another name owns it ("Karpathy's famous observation" for
  "Sutton's"), or the two sides of a contrast trade places ("While Tesla relied on
  lidar, its competitors bet on cameras").
- **Relations** (:mod:`rag.relations`): key terms in reverse order ("Tesla has a hardware problem,
  Waymo a software one"), except across a change of voice ("OpenAI was founded
  by Altman" / "Altman founded OpenAI") or a fronted part that keeps its
  connective ("Because technology changes, people return to school" / "people
  return to school as technology changes"); and the two sides of an asymmetric
  connective swapped ("from training to deployment", "data quality over model
  size").

The evidence window is the run of one to three consecutive sentences of a
cited passage that holds most of the claim; a claim citing several passages is
read against the union of each passage's best window ("combined" facts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .lexicon import antonyms, commonness, construes, has_noun_use, is_framing, narrower, related, verb_lemma
from .parties import (
    displaced_agent,
    displaced_name,
    speaking_voice,
    substituted_name,
    substituted_possessor,
    swapped_names,
    swapped_sides,
    unvoiced_emphasis,
)
from .relations import CLAIM_TOKEN, SUBJECTS, core, order_reversals, swapped_relation
from .text import (
    NUMBER_RE,
    STOPWORDS,
    clauses,
    content_terms,
    contrasted_terms,
    names,
    negated_terms,
    numbers,
    split_sentences,
    stem,
    words,
)

__all__ = [
    "Alignment",
    "SOURCE_NOUNS",
    "STRONG_QUALIFIERS",
    "align",
    "compounds",
    "grounded",
    "licensed_terms",
    "negation_conflict",
    "opposite_terms",
    "restated_numbers",
    "spelled_out",
    "table_headers",
    "table_rows",
    "windows",
    "word_kind",
]

# Nouns that name the document or its speaker, not a fact in it.
SOURCE_NOUNS = frozenset(
    "author authors writer article post blog piece profile summary interview talk podcast episode conversation "
    "discussion timeline table section page text passage source document essay report paper transcript".split()
)
# Prepositions the stopword list lacks; glue, like the common words.
_FUNCTION_WORDS = frozenset("toward towards onto upon alongside amid amidst via whilst whereas whenever per plus".split())
# Units of time are common words but never glue: "a few years later" for "a few months
# later" changes the fact.
_TIME_UNITS = frozenset(
    "second seconds minute minutes hour hours day days week weeks month months year years decade decades "
    "century centuries".split()
)
# Nor are amounts in words: "cut its costs in half" states a figure. ("percent" is not
# one: "60 percent" restates "60%", and the number itself is checked.)
_NEVER_GLUE = _TIME_UNITS | frozenset(
    "half halves quarter quarters double doubled triple tripled twice thrice majority".split()
)
# Light words, glue whatever their commonness: verbs whose complement says what happens
# ("a platform *lets* the network transfer what it learns", "*ties* his philosophy to the
# crashes", "*happens* to live in the cloud", "*putting* commands out"), and nouns that
# only gather what follows them ("a *collection of* one billion backgrounds"). The words
# around them carry the fact, and those are checked. A closed list: frequency cannot tell
# "putting" from "killing" (BENCHMARKS.md).
_LIGHT_VERBS = frozenset("let happen put".split())  # stems; "tie" only as "tied to" (a drawn match is a fact)
_PARTITIVES = frozenset("collection set range variety array kind type sort group bunch".split())
_TIED = ("to", "into")
# "lets the merger proceed" is no light word where the passage says "blocked the merger".
_PREVENTING = frozenset(stem(w) for w in
                        "block prevent prohibit forbid ban bar stop halt deny refuse reject disallow veto".split())
# Words that change what a claim asserts although retrieval ignores them: a claim
# that says "all", "only" or "will" where the evidence does not says more than it.
STRONG_QUALIFIERS = frozenset(
    "all every always never only most least none entire whole must will cannot sole exclusively entirely "
    "completely fully first second third last best worst largest smallest biggest "
    # Certainty: "definitely comes from" where the passage says "not clear, but perhaps".
    "definitely certainly undoubtedly unquestionably definitively conclusively indisputably surely".split()
)
_THAN_ANY = re.compile(r"\bthan\s+any\b", re.IGNORECASE)
_UNIVERSAL = re.compile(r"\bthan\s+(?:any|all|every)\b|\bof\s+all\b", re.IGNORECASE)
_SUPERLATIVES = frozenset("best worst largest smallest biggest most least".split())
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5"}
_YES_NO = re.compile(r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|may|might)\b", re.I)
_CONTRACTIONS = {"'ll": "will", "'d": "would", "n't": "not", "'re": "are", "'ve": "have"}
_AT_ALL = re.compile(r"\bat all\b", re.I)
# "only" on a number: "only about 0.001%", "just three". ("all three pads were finished"
# says more than "three pads were planned": not this.)
_COUNTED = re.compile(r"\b(?:only|just)\s+(?=(?:(?:about|around|roughly|some|nearly|almost)\s+)?([\w.,%]+))",
                      re.I)

# "-only" in a compound ("vision-only", "camera-only") is what "pure vision" or "cameras
# alone" says; "only after that" what a sequence ("once ..., then ...") says.
_ONLY_COMPOUND = re.compile(r"(?<=\w)-only\b", re.I)
_EXCLUSIVE = re.compile(r"\b(?:alone|pure|purely|solely|exclusively|only)\b|\w-only\b", re.I)
_ONLY_THEN = re.compile(r"\bonly\b(?=\s+(?:after|then|once|when)\b)", re.I)
_SEQUENCE = re.compile(r"\b(?:then|once|after|before|until)\b", re.I)

WINDOW_SENTENCES = 3


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


def grounded(term: str, held: set[str], narrower_verbs: bool = True) -> bool:
    """The passage holds ``term`` itself, a word WordNet relates to it ("formul" for
    "develop") or, with ``narrower_verbs``, a verb naming a way of doing it ("reveal"
    for "show")."""
    if term in held or not related(term).isdisjoint(held):
        return True
    return narrower_verbs and not narrower(term).isdisjoint(held)


def expanded(text: str) -> set[str]:
    """Words of ``text`` with contractions spelled out ("you'll" also gives "will")."""
    out = set(words(text))
    for w in list(out):
        for suffix, full in _CONTRACTIONS.items():
            if w.endswith(suffix):
                out.add(full)
    if "can't" in out or "cannot" in out:
        out.add("can")
    if "won't" in out:
        out.add("will")
    return out


def spelled_out(claim: str, window: str) -> set[str]:
    """Stems of the claim's word runs that the window abbreviates: "computer science" for "CS",
    "high definition" for "HD"."""
    # An abbreviation is written in capitals in the window ("CS", "HD", "RL").
    short = {w.lower() for w in re.findall(r"\b[A-Z]{2,5}\b", window)}
    tokens = words(claim)
    out: set[str] = set()
    for n in range(2, 5):
        for i in range(len(tokens) - n + 1):
            run = tokens[i:i + n]
            if not any(w in STOPWORDS for w in run) and "".join(w[0] for w in run) in short:
                out.update(stem(w) for w in run)
    return out


def compounds(claim: str, window: str) -> set[str]:
    """Stems of claim words that the window writes as one word or as two: "data set" for
    "dataset", "dataset" for "data set"."""
    def pairs(tokens: list[str]) -> dict[str, tuple[str, str]]:
        return {a + b: (a, b) for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS and b not in STOPWORDS}

    def sentence_pairs(text: str) -> dict[str, tuple[str, str]]:
        # Pairs within a sentence: "the data. Set aside …" is not "dataset".
        return {k: v for s in split_sentences(text) or [text] for k, v in pairs(words(s)).items()}

    claim_tokens, window_tokens = words(claim), set(words(window))
    out: set[str] = set()
    for joined, (a, b) in sentence_pairs(claim).items():
        if joined in window_tokens:  # the claim splits what the window writes as one word
            out.update((stem(a), stem(b)))
    split = sentence_pairs(window)
    out.update(stem(w) for w in claim_tokens if w in split)  # the claim joins two window words
    return out


_CONSTRUAL_SPAN = 6
_ADVERBS = frozenset("also even still then now further again simply often really just".split())
_DETERMINERS = frozenset("the a an his her its their our my your this these those".split())
_PREPOSITIONS = frozenset("of for in on at to with from by about into over under after before between through during "
                          "without within against among".split())


def _construals(text: str) -> set[str]:
    """Verbs the claim uses to say how something is put or seen: "he *frames* it as",
    "he *treats* the transformer as", "the critique *adds* that" (:func:`rag.lexicon.construes`).
    "as" may follow the verb's object (no punctuation or preposition between); "that"
    follows the verb itself ("adds features that users asked for" is a relative clause)."""
    tokens = [t.lower() for t in CLAIM_TOKEN.findall(text)]
    out = set()
    for i, w in enumerate(tokens):
        if w in STOPWORDS or not w[0].isalpha():
            continue
        k = i - 1
        while k >= 0 and tokens[k] in _ADVERBS:
            k -= 1
        if k >= 0 and tokens[k] in _DETERMINERS:
            continue  # "his notes that year": a noun
        as_verb = k >= 0 and (tokens[k] in SUBJECTS or tokens[k] in SOURCE_NOUNS)
        after = tokens[i + 1:i + 1 + _CONSTRUAL_SPAN]
        if after[:1] == ["that"] or after[:2] == ["out", "that"]:
            if construes(w, "that", as_verb):
                out.add(w)
            continue
        for nxt in after:
            if not nxt[0].isalnum() or nxt in _PREPOSITIONS:
                break  # "offers LLM101n free of charge as part of …": the "as" is not the verb's
            if nxt == "as":
                if construes(w, "as", as_verb):
                    out.add(w)
                break
    return out


def word_kind(word: str, common_zipf: float, as_verb: bool = False, construal: bool = False,
              light: bool = False, as_noun: bool = False) -> str:
    """``framing``, ``source``, ``common`` or ``specific``: what a missing claim word is.

    ``as_verb``: the word follows its subject ("the profile *names* ...", "he *credits*"),
    so a noun-looking form is the verb. ``construal``: the claim uses it to say how
    something is put (:func:`_construals`). ``light``: a light word where the claim
    uses it (:func:`_light_words`). ``as_noun``: the claim uses it as a noun
    (:func:`_noun_positions`), so it is no framing verb ("live human *tutors*")."""
    if word in SOURCE_NOUNS:
        return "source"
    if construal or (not as_noun and is_framing(word, as_verb)):
        return "framing"
    if word.lower() in _NEVER_GLUE:
        return "specific"
    if word in _FUNCTION_WORDS or commonness(word) >= common_zipf or light:
        return "common"
    return "specific"


def _noun_positions(text: str) -> set[str]:
    """Words a list in the claim uses as nouns although they may be verbs: an item's
    head after its modifier, when the word has a noun use ("shadows, overpasses and
    road *signs*", "verified curriculum materials and live human *tutors*"). Outside a
    list a word after a noun is as often its verb ("a neural network *says* so")."""
    if not _LIST.search(text):
        return set()
    tokens = re.findall(r"[\w'’-]+|,", text)
    out = set()
    for i in range(1, len(tokens)):
        prev, w = tokens[i - 1], tokens[i].lower()
        opened = any(t in {",", "and", "or"} for t in tokens[max(0, i - 4):i - 1])
        # A capitalised word before it is a name, and a name is a subject ("as Karpathy notes").
        if (opened and prev.isalpha() and prev.islower() and w not in STOPWORDS
                and prev not in STOPWORDS and prev not in SUBJECTS
                and prev not in SOURCE_NOUNS and not prev.endswith(("ly", "s")) and not w.endswith(("ed", "ing"))
                and has_noun_use(w)):
            out.add(w)
    return out


# "A, B and C": three items at least, so a list and not two clauses.
_LIST = re.compile(r"[\w'’-]+(?:\s+[\w'’-]+){0,3},\s+[\w'’-]+(?:\s+[\w'’-]+){0,3},?\s+(?:and|or)\s+\w")


_ADVICE_NOUNS = frozenset("advice recommendation recommendations suggestion suggestions tip tips guidance".split())
# An imperative opens a sentence, a clause after a colon or a quotation: "Stop trying to
# define it.", 'Don't Be a Hero: "Resist this temptation strongly ..."'.
_AUXILIARY_WORDS = frozenset("is are was were be been has have had will would can could should may might must "
                             "does did do".split())
_CLAUSE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“>]\s*|\n\s*|\d+\.\s+)([A-Za-z][a-z]+(?:n't)?)\s+([\w'’-]+)")


def _imperative(window: str) -> bool:
    """The window tells the reader to do something: a clause opens with a verb in its
    base form, not followed by a verb of its own ("Stop trying", "Budget for entropy",
    "Don't"; not "Design matters", "Code is")."""
    for m in _CLAUSE_START.finditer(window):
        w, nxt = m.group(1).lower(), m.group(2).lower()
        if w in ("don't", "never"):
            return True
        inflected = verb_lemma(nxt) not in (None, nxt) and not nxt.endswith("ing")  # "matters", "shipped"
        if w not in STOPWORDS and verb_lemma(w) == w and nxt not in _AUXILIARY_WORDS and not inflected:
            return True
    return False


_CONTRASTING = frozenset({"contrast", "comparison"})
_COPULAR = frozenset({"serv", "act", "function"})  # stems, before "as"


def _light_words(tokens: list[str], window: str) -> set[str]:
    """The claim's light words: a gathering noun before "of" ("a collection of"), "tied to"
    / "ties into", "by contrast" / "in comparison", "served as" / "acts as", and "let",
    "happen" and "put" ("let" only where the window prevents nothing: "let the merger
    proceed" against "blocked the merger")."""
    preventing = not _PREVENTING.isdisjoint(content_terms(window))
    out = set()
    for prev, w, nxt in zip(["", *tokens], tokens, [*tokens[1:], ""]):
        if prev in ("by", "in") and w in _CONTRASTING:
            out.add(w)  # "by contrast", "in comparison": a link to what was said before, no fact
            continue
        if nxt == "as" and stem(w) in _COPULAR:
            out.add(w)  # "it served as early evidence" says what "it was early evidence" says
            continue
        root = stem(w)
        if (nxt == "of" and w in _PARTITIVES) or (root == "tie" and nxt in _TIED) or (
                root in _LIGHT_VERBS and not (root == "let" and preventing)):
            out.add(w)
    return out


def _unqualified(claim: str, window: str) -> str:
    """The claim without the qualifiers that say no more than the window does: "no C++
    left at all" is "no C++ left", and "only about 0.001%" states the window's own number
    (another number is vetoed anyway). "All three" is kept: that all of them did it is
    a claim of its own ("three pads were planned, only two were finished"), and so is
    "all at once" (BENCHMARKS.md: it let a fabricated list through)."""
    text = _AT_ALL.sub(" ", claim)
    if _EXCLUSIVE.search(window):
        text = _ONLY_COMPOUND.sub(" ", text)  # "a vision-only system" for "pure vision"
    if _SEQUENCE.search(window):
        text = _ONLY_THEN.sub(" ", text)  # "and only after that B2C" for "once you ..., then B2C"
    stated = numbers(window)
    return _COUNTED.sub(lambda m: "" if numbers(m.group(1)) & stated else m.group(0), text)


def negation_conflict(claim: str, window: str) -> bool:
    """One side denies what the other asserts.

    Counted on the terms both sides share: the claim's negated terms that the
    window asserts outnumber those both sides negate (or the converse). So
    "he does not think Tesla is a car company" agrees with "Tesla, I don't think
    it's a car company" although the scopes differ by "Tesla", and "run without
    a human in the loop" conflicts with "operate with a human-in-the-loop" even
    when the window negates something else nearby.
    """
    text = core(claim)
    neg_claim, neg_window = negated_terms(text), negated_terms(window)
    # "No, it was not the most watched; it was the third-most watched": a term one
    # clause denies and another asserts is not denied outright.
    parts = clauses(text)
    asserted = {t for part in parts for t in set(content_terms(part)) - negated_terms(part)} if len(parts) > 1 else set()
    outright = neg_claim - asserted
    # What a "rather than" sets aside is not asserted: "instead of writing explicit C++"
    # agrees with "no longer write explicit C++" (the pair denies only its first word).
    claim_terms = set(content_terms(text)) - contrasted_terms(text)
    window_terms = set(content_terms(window)) - contrasted_terms(window)
    agree = len(neg_claim & neg_window)
    # A term is read in the window sentence closest to the claim that holds it: "the Mongol
    # violence killed …" stands although a later sentence says the population "did not
    # again reach its pre-Mongol levels"; "Waymo uses LiDAR" does not undo "Tesla does not
    # use LiDAR" for a claim about Tesla. Ties go to the denial.
    sentences = [(set(content_terms(s)), negated_terms(s)) for s in split_sentences(window) or [window]]
    denied = set()
    for t in (neg_window & claim_terms) - neg_claim:
        holding = [(len(terms & claim_terms), t in neg) for terms, neg in sentences if t in terms or t in neg]
        if not holding or max(holding)[1]:
            denied.add(t)
    return len((outright & window_terms) - neg_window) > agree or len(denied) > agree


def _asked_qualifiers(question: str, claim: str, window: str) -> set[str]:
    """Strong qualifiers a wh-question's premise gives the answer.

    "the cameras-only approach", "not *fully* convinced": restated, they say no
    more than the question. A superlative ("the best course") is a claim the
    passage must make, whoever asks; an ordinal ("the second theme") only where
    the window numbers it ("2 The bitter lesson …", "Step 1: …") or the claim
    restates the question's own phrase ("during his *first stint* at OpenAI").
    """
    out = set()
    digits = set(re.findall(r"\d+", window))
    asked = words(question)
    restated = set(zip(words(claim), words(claim)[1:]))
    for q, after in zip(asked, [*asked[1:], ""]):
        if q not in STRONG_QUALIFIERS or q in _SUPERLATIVES:
            continue
        if q in _ORDINALS and _ORDINALS[q] not in digits and (q, after) not in restated:
            continue
        out.add(q)
    return out


def opposite_terms(claim: str, window: str) -> list[str]:
    """Claim words the window lacks while holding a WordNet opposite of them: "worsening"
    where the passage says "improving", "densely" where it says "sparsely"."""
    claim_terms = set(content_terms(core(claim)))
    window_terms = set(content_terms(window))
    return sorted(t for t in claim_terms - window_terms if not antonyms(t).isdisjoint(window_terms - claim_terms))


# A share in words and the percentage that states it: "a quarter of the money" is "25
# percent of all money"; "half" is "50%".
_FRACTIONS = {"half": {"50"}, "quarter": {"25"}, "third": {"33", "33.3"}, "thirds": {"66", "67", "66.7"},
              "quarters": {"75"}}
_DURATION_WORDS = frozenset("last lasts lasted lasting tenure stint span spans spanned duration".split())
_DURATION = re.compile(r"\b(\d+)[\s-]+(?:second|minute|hour|day|week|month|year|decade)s?\b", re.IGNORECASE)
_YEAR_SPAN = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|—|to|until)\s*((?:19|20)\d\d)\b")
# A repeat stated as such: "again" or "once more" is a second time.
_AGAIN = re.compile(r"\b(?:again|once\s+more|a\s+second\s+time)\b", re.IGNORECASE)
_REPEATED = frozenset({"twice", "second"})
_PERCENTAGE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per\s?cent\b)", re.IGNORECASE)


def restated_numbers(claim: str, window: str) -> set[str]:
    """Terms of the claim's numbers that the window states in another form: "400,000"
    (terms "400", "000") where the window says "400k+"; "a quarter" where it says "25 percent"."""
    stated = numbers(window)
    out: set[str] = set()
    for match in NUMBER_RE.finditer(claim):
        if numbers(match.group(0)) & stated:
            out.update(content_terms(match.group(0)))
    percentages = {m.group(1) for m in _PERCENTAGE.finditer(window)}
    out.update(stem(w) for w in words(claim) if _FRACTIONS.get(w, set()) & percentages)
    # "The ride lasted 30 minutes" for "a 30-minute ride"; "his 2017 to 2022 tenure" for
    # "| 2017 - 2022 |": a word that only says how long restates the window's span.
    claimed = numbers(claim)
    spans = {m.group(1) for m in _DURATION.finditer(window)} | {
        y for m in _YEAR_SPAN.finditer(window) if {m.group(1), m.group(2)} <= claimed for y in m.groups()}
    if spans & claimed:
        out.update(stem(w) for w in words(claim) if w in _DURATION_WORDS)
    # "He has left twice", "he departed a second time" where the window says he "left again".
    if _AGAIN.search(window):
        out.update(stem(w) for w in words(claim) if w in _REPEATED)
    return out


def table_rows(text: str) -> list[str]:
    """The rows of a pipe table, each a line or a row flattened over several lines
    ("| 2017 - 2022 |", "Tesla Sr. Director of AI |", "Deployed FSD Beta to 400k+ Users |")."""
    out: list[str] = []
    row: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and row:
            out.append(" ".join(row))
            row = []
        if stripped.endswith("|") or (stripped.startswith("|") and "|" in stripped[1:]):
            row.append(stripped)
        elif row:
            out.append(" ".join(row))
            row = []
    if row:
        out.append(" ".join(row))
    return [r for r in out if r.count("|") >= 2]


def _header_like(row: str) -> bool:
    """A table's first row that labels its columns: short cells, no numbers
    ("| Timeline Phase | Role | Key Technical Output |"), not a first row of data
    left at the top of a chunk that starts inside a table ("| 2017 - 2022 | Tesla |")."""
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    return len(cells) >= 2 and all(c and len(c.split()) <= 5 and not re.search(r"\d", c) for c in cells)


def table_headers(rows: Sequence[str]) -> dict[str, str]:
    """Each of a passage's table ``rows`` (:func:`table_rows`) mapped to the header row of
    its table, when the table's first row is one: a row "| 2017 - 2022 | Tesla Sr.
    Director of AI | HydraNets |" says its cells are the "Key Technical Output" of that
    "Role" only with the header that names the columns."""
    if len(rows) < 2 or not _header_like(rows[0]):
        return {}
    return {row: rows[0] for row in rows[1:]}


def windows(passage: str, size: int = WINDOW_SENTENCES, tables: bool = False) -> list[str]:
    """Runs of one to ``size`` consecutive sentences of ``passage``; with ``tables``, its
    table rows too (evidence for a claim; the extractive answer quotes a whole row, never
    a run of its sentence-split cells)."""
    sentences = split_sentences(passage) or [passage]
    out = []
    for k in range(1, size + 1):
        out += [" ".join(sentences[i:i + k]) for i in range(len(sentences) - k + 1)]
    return out + [r for r in table_rows(passage) if r not in out] if tables else out


@dataclass(frozen=True)
class Alignment:
    """What a careful reader finds when lining a claim up with its evidence window."""

    window: str
    recall: float  # IDF-weighted share of the claim's terms the window holds
    cosine: float  # embedding similarity of the claim and its closest window
    missing: list[tuple[str, str]] = field(default_factory=list)  # (word, kind) the window lacks
    negation: bool = False
    qualifiers: list[str] = field(default_factory=list)  # strong qualifiers the window lacks
    order: float = 0.0
    swapped: bool = False

    def count(self, kind: str) -> int:
        return sum(k == kind for _, k in self.missing)

    def words(self, kind: str) -> list[str]:
        return [w for w, k in self.missing if k == kind]


def align(
    claim: str,
    evidence: Sequence[tuple[list[str], np.ndarray]],
    claim_vector: np.ndarray,
    idf: Callable[[str], float],
    question: str = "",
    common_zipf: float = 5.0,
    titles: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Alignment:
    """Line ``claim`` up with the best window of each cited passage.

    ``evidence`` holds, per cited passage, its windows (:func:`windows`) and their
    embeddings; the best window of a passage holds most of the claim's
    IDF-weighted terms, closeness in meaning breaking ties. ``headers``: each
    table row's header row (:func:`table_headers`), whose words the row holds too.
    """
    headers = headers or {}
    text = core(claim)
    terms = list(dict.fromkeys(content_terms(text)))
    surface: dict[str, str] = {}
    for w in words(text):
        c = content_terms(w)
        if c:
            surface.setdefault(c[0], w)
    weight = {t: idf(t) for t in terms}
    total = sum(weight.values()) or 1.0
    licensed = licensed_terms(question)

    def found(window: str) -> list[str]:
        present = (set(content_terms(window)) | spelled_out(text, window) | compounds(text, window)
                   | restated_numbers(text, window) | set(content_terms(headers.get(window, ""))))
        return [t for t in terms if grounded(t, present)]

    def held(window: str) -> list[str]:
        # A term the question gives is held whether or not the window repeats it.
        return [t for t in terms if t in licensed or t in found(window)]

    best: list[tuple[str, float]] = []
    for wins, vectors in evidence:
        if not wins:
            continue
        sims = np.asarray(vectors @ claim_vector, dtype=float)
        # The window is where the claim's words are, the question's included: counting a
        # term the question gives as held everywhere (as recall does) would let a heading
        # with one rare word ("the exocortex") outrank the sentence that says the rest
        # ("an exocortex building on top of our neocortex"), and the checks would then
        # read the heading.
        scored = [(sum(weight[t] for t in found(w)) / total + 0.5 * float(s), w, float(s)) for w, s in zip(wins, sims)]
        _, window, sim = max(scored, key=lambda x: x[0])
        # Closeness in meaning is read on the part of the window that says it: a heading
        # plus the quote under it is the evidence, and the heading alone may be the closer.
        sim = max(s for w, s in zip(wins, sims.tolist()) if w in window)
        best.append((window, sim))
    if not best:
        return Alignment("", 0.0, 0.0, [(surface.get(t, t), "specific") for t in terms])
    window = " ".join(w for w, _ in best)
    # A name the cited passages (or their titles) use elsewhere is a reference, not a new
    # fact: "Karpathy architected it" where the window says "He architected".
    elsewhere = {stem(w) for wins, _ in evidence for w in words(" ".join(wins))} | {
        stem(w) for w in words(" ".join(titles))}
    cosine = max(s for _, s in best)
    have = set(held(window))
    recall = sum(weight[t] for t in have) / total
    named = {stem(n) for n in names(text)}
    tokens = words(text)
    after_subject = {w for prev, w in zip(tokens, tokens[1:]) if prev in SUBJECTS or prev in SOURCE_NOUNS}
    as_nouns = _noun_positions(text)
    construed = _construals(text)
    if not _ADVICE_NOUNS.isdisjoint(tokens) and _imperative(window):
        # "His advice is to stop trying to define it" where the window says "Stop trying to
        # define it.": the passage advises by its mood; "advice" says how it is put.
        construed |= _ADVICE_NOUNS.intersection(tokens)
    light = _light_words(tokens, window)
    # The first-person speaker of the cited passages, named as the document's title names them.
    voice = speaking_voice(text, (" ".join(wins) for wins, _ in evidence), titles)
    voiced = {stem(voice.lower())} if voice else set()
    missing = [(surface.get(t, t), "framing" if t in voiced else "common" if t in named and t in elsewhere
                else word_kind(surface.get(t, t), common_zipf, surface.get(t, t) in after_subject,
                               surface.get(t, t) in construed, surface.get(t, t) in light,
                               surface.get(t, t) in as_nouns))
               for t in terms if t not in have]
    claim_words = expanded(_unqualified(text, window))
    window_words = expanded(window)
    # A qualifier is not restated by a word the window denies: "not clear" is no "definitely".
    window_stems = {stem(w) for w in window_words} - negated_terms(window)
    asked = _asked_qualifiers(question, text, window) if licensed else set()
    if _AGAIN.search(window):
        asked.add("second")  # "departed a second time" / "that second exit" for "departed again"
    # Nor by a word WordNet relates to it when the window holds its opposite: "the least
    # common" is no "most common", though "most" also means "near" and the window says "near".
    qualifiers = sorted(q for q in (claim_words & STRONG_QUALIFIERS) - window_words - asked
                        if antonyms(stem(q)) & window_stems
                        or not grounded(stem(q), window_stems, narrower_verbs=False))
    if _THAN_ANY.search(text) and not _UNIVERSAL.search(window):
        qualifiers.append("than any")  # "better than any journal" for "better than most journals"
    emphasis = unvoiced_emphasis(text, window)
    if emphasis:
        qualifiers.append(emphasis)
    return Alignment(
        window=window,
        recall=recall,
        cosine=cosine,
        missing=missing,
        negation=negation_conflict(claim, window) or bool(opposite_terms(claim, window)),
        qualifiers=qualifiers,
        order=order_reversals(claim, window),
        swapped=(swapped_relation(text, window) or swapped_names(text, window) or substituted_name(text, window)
                 or substituted_possessor(text, window) or swapped_sides(text, window) or displaced_name(text, window)
                 or displaced_agent(text, window)),
    )
