"""Small, deterministic text analysis shared by retrieval, the answer checker and evals.

Everything here is rule-based on purpose: the support check and the offline
judge must give the same verdict for the same input on every machine.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "NUMBER_RE",
    "STOPWORDS",
    "unpossessed",
    "split_sentences",
    "clauses",
    "drop_contrast_opener",
    "phrases",
    "words",
    "content_terms",
    "numbers",
    "names",
    "has_finite_verb",
    "has_negation",
    "contrasted_terms",
    "negated_terms",
    "normalise_for_match",
    "stem",
]

# A compact English stopword list: function words that carry no content.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's will with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves s t just now also us via per much many
    does did according said says say""".split()
)

_NEGATIONS = frozenset(
    "not no never none nothing nobody neither nor cannot without n't isn't aren't wasn't weren't "
    "don't doesn't didn't won't wouldn't can't couldn't shouldn't hasn't haven't hadn't".split()
)

_WORD_RE = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)?")
_THOUSANDS = re.compile(r"[kK](?![A-Za-z0-9])")
NUMBER_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s?(%|percent|k|m|x))?", re.I)
_NUMBER_WORDS = {
    # "one" is left out: far more often a pronoun or article ("one of the") than a count.
    "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "decade": "10", "dozen": "12",
    # Plurals are amounts too: "billions" where the passage says "millions" is a changed number.
    "hundreds": "100", "thousands": "1000", "millions": "1000000", "billions": "1000000000",
    "decades": "10", "dozens": "12",
}


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - PyStemmer has no type hints
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball English stem of a lower-cased word."""
    return _stemmer().stemWord(word)


def normalise_for_match(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form for substring matching."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("—", "-").replace("–", "-")
    return re.sub(r"\s+", " ", text).strip()


def unpossessed(word: str) -> str:
    """``word`` without its possessive ending, straight or curly: "Karpathy's" -> "Karpathy"."""
    return word.removesuffix("'s").removesuffix("’s")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes unified."""
    return [w.lower().replace("’", "'") for w in _WORD_RE.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed words that are not stopwords: what a sentence is *about*."""
    out = []
    for w in words(text):
        if w in STOPWORDS:
            continue
        if w.endswith("'s"):
            w = w[:-2]
        out.append(stem(w))
    return out


def numbers(text: str) -> set[str]:
    """Numbers mentioned in ``text``, normalised ("2,000" -> "2000", "ten" -> "10")."""
    found = set()
    for match in NUMBER_RE.finditer(text):
        value = match.group(1).replace(",", "")
        if _THOUSANDS.match(text, match.end(1)):
            # "400k+ users" is 400,000 users, not 400: a claim saying "400,000" restates it.
            value = str(round(float(value) * 1000))
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        found.add(value)
    for w in words(text):
        if w in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[w])
    return found


_NAME_RE = re.compile(r"\b[A-Z][a-zA-Z0-9\u00C0-\u024F]*(?:[-'’][A-Za-z]+)*\b|\b[A-Za-z]*[A-Z][a-z]*[A-Z][A-Za-z0-9]*\b")
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;\"“(\[]\s*|\n)$")


def names(text: str) -> set[str]:
    """Capitalised tokens that are not just sentence-initial words: people, places, products.

    A capitalised word alone at the start of a sentence is skipped, whatever it
    is ("Releasing models ...", but also "Karpathy says ..."), unless another
    capitalised word follows ("Sam Altman"). Keeping rare first words as names
    was measured (session 34): a name the document title holds then counts as
    restated, so "Karpathy argues X" passed where the author, not Karpathy,
    says X; labelled test precision fell from 0.847 to 0.825.
    """
    found = set()
    for match in _NAME_RE.finditer(text):
        token = match.group(0)
        lower = token.lower().replace("’", "'")
        if lower in STOPWORDS or lower in _NEGATIONS:
            continue
        before = text[max(0, match.start() - 3) : match.start()]
        after = text[match.end() : match.end() + 2]
        sentence_initial = bool(_SENTENCE_START_RE.search(before))
        # A capitalised first word is usually just a first word ("Releasing
        # models...") unless a second capitalised word follows ("Sam Altman").
        if sentence_initial and token[1:].islower() and not re.match(r"\s[A-Z][a-z]", after):
            continue
        lower = re.sub(r"['’]s$", "", lower)  # "Tesla's" names Tesla
        if "-" in token:  # "GPT-style" names GPT; "Fei-Fei" stays whole
            kept = [part for part in token.split("-") if part[:1].isupper() or part[:1].isdigit()]
            lower = "-".join(kept).lower()
            if not lower:
                continue
        found.add(lower)
    return found


_SUBJECTS = frozenset("i we he she they you it who which that".split())


def has_finite_verb(text: str) -> bool:
    """The text reads as a clause, not a bare phrase: an auxiliary ("is", "didn't",
    "it's"), an inflected verb ("lists", "drew", "architected"), or a verb after a subject
    pronoun ("they use"), or a word more often a verb than not ("programmers write").
    "University of Toronto", "Tesla's self-driving cars" and
    "Creating a vector space representation of the road" have none. Generous on purpose:
    a noun that could be a verb ("lights") counts, so a phrase may pass for a clause,
    never the reverse."""
    from .lexicon import is_verb, verb_lemma  # lexicon builds on this module

    previous = ""
    for token in re.findall(r"[A-Za-z]+(?:['’][A-Za-z]+)?", text):
        w = token.lower().replace("’", "'")
        if w in _FINITE or w.endswith(("n't", "'re", "'ve", "'ll", "'d", "'m")) or (
                w.endswith("'s") and w[:-2] in _SUBJECTS | {"there", "what", "that"}):
            return True
        if len(w) >= 4 and w.endswith("ed"):
            return True
        lemma = verb_lemma(w)
        if lemma is not None and not w.endswith("ing") and (lemma != w or previous in _SUBJECTS or is_verb(w)):
            return True
        previous = w
    return False


def has_negation(text: str) -> bool:
    """True when the text contains a negating word."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


# Words, and the punctuation that ends a negation's scope: a dash, bracket or table
# bar opens an aside ("doesn't scale—then distills …", "(No LiDAR/Radar) | Proven …").
_SCOPE_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)?|[.,;:!?—–()\[\]|]|(?<=\s)-(?=\s)")
_SCOPE = 4  # content words after a negation that it governs
# A negation rarely reaches across a conjunction: "doesn't scale and they have sensors".
_SCOPE_ENDS = frozenset("and but or while whereas because although though so yet once when if unless".split())


_NEW_SUBJECTS = frozenset("i we he she they".split())
# "you" is as often an object ("doesn't give you the full picture"): it opens a clause
# only after a word that introduces one ("can't see it when you look").
_CLAUSE_OPENERS = frozenset("when if that because as like where while unless until after before since once".split())
# Verbs whose negation is read in the clause they take ("I don't think it's a car company").
_NEG_RAISING = frozenset(stem(w) for w in "think believe suppose expect feel guess reckon imagine want seem".split())
# A clause's verb after its subject: "(I don't think) the architecture *is* holding us back".
_AUXILIARIES = frozenset("is are was were has have had can could will would should may might must does do did "
                         "isn't aren't wasn't weren't hasn't haven't doesn't don't didn't won't can't".split())
# Auxiliaries and copulas mark a clause; "am", "be", "been" and "shall" do too, though
# they never open a negation's scope.
_FINITE = _AUXILIARIES | frozenset("am be been shall".split())
_CLAUSE_PRONOUNS = frozenset("it that there he she what they we you".split())
# Raising verbs that take a clause with a subject of its own ("want" takes an object:
# "I don't want the future where people are left aside" denies that future).
_CLAUSE_TAKING = frozenset(stem(w) for w in "think believe suppose expect feel guess reckon imagine".split())
# "the hardest part rather than the easiest" denies "easiest" as "not the easiest" does.
_NEGATING_PAIRS = frozenset({("rather", "than"), ("instead", "of")})
_PAIR_OPENERS = frozenset(first for first, _ in _NEGATING_PAIRS)
_CEASING = frozenset("stopped stops ceased ceases".split())


def _is_word(word: str) -> bool:
    from .lexicon import commonness  # lexicon builds on this module

    return commonness(word) >= 2.5


# What a negative adjective's complement opens with: "inconsistent *with*", "unable *to*".
_COMPLEMENTS = frozenset("with to of for about".split())


def _denied_by_adjective(word: str, following: str) -> str | None:
    """The word a prefixed opposite denies, before its complement: "inconsistent with"
    denies "consistent", "unaware of" "aware". The prefix must negate (WordNet gives
    the bare word as its antonym), so "intended to" and "increase to" deny nothing;
    so does an adverb ("saturating them unconsciously with electricity")."""
    from .lexicon import antonyms  # lexicon builds on this module

    if following not in _COMPLEMENTS or len(word) < 6 or word.endswith("ly"):
        return None
    prefix = 3 if word.startswith(("dis", "non")) else 2 if word.startswith(("un", "in", "im", "ir", "il")) else 0
    return word[prefix:] if prefix and stem(word[prefix:]) in antonyms(stem(word)) else None


# Denials that follow what they deny, after a copula: "reliable statistics are lacking".
_POSTPOSED_DENIALS = frozenset("lacking missing absent unavailable".split())
_COPULAS = frozenset("is are was were be been remain remains remained".split())
# Words that deny what follows them as "no" does: "in the absence of census figures" is
# "without census figures"; "the lack of reliable statistics" is "no reliable statistics".
_DENYING_WORDS = frozenset("lack lacks lacked lacking absence absent".split())
# "not only setting records but also posting the best start" asserts both. ("Not just"
# and "not simply" are as often a contrast: "better methods, not simply scaling compute".)
_NOT_ONLY = re.compile(r"\bnot\s+(only)\b", re.IGNORECASE)


# "Calling it a car company is misleading", "it is wrong to call it a car company": the
# thing so called is denied, as "it is not a car company" denies it.
_MISNAMING = r"(?:misleading|wrong|mistaken|inaccurate|incorrect|untrue|a\s+mistake|an\s+error|a\s+misnomer)"
_CALLING = r"(?:call(?:ing)?|describ(?:e|ing)|label(?:l?ing)?|consider(?:ing)?|treat(?:ing)?|view(?:ing)?)"
# What is called so: a pronoun or a name ("calling Tesla a car company").
_CALLED = r"(?:it|him|her|them|this|that|(?-i:[A-Z][\w'’-]*))"
_DENIED_NAMING = (
    re.compile(rf"\b{_CALLING}\s+{_CALLED}\s+(?:as\s+)?([^.,;:!?]+?)\s+"
               rf"(?:is|was|are|were|would\s+be)\s+(?:\w+ly\s+)?{_MISNAMING}\b", re.IGNORECASE),
    re.compile(rf"\b(?:it\s+is|it's|it\s+was|it\s+would\s+be)\s+(?:\w+ly\s+)?{_MISNAMING}\s+to\s+"
               rf"{_CALLING}\s+{_CALLED}\s+(?:as\s+)?([^.,;:!?]+)", re.IGNORECASE),
)


def negated_terms(text: str) -> set[str]:
    """Stems of the content words a negation governs ("does not use LiDAR" -> {use, lidar}).

    The scope runs over the next few content words, up to punctuation: a rough
    but deterministic stand-in for parsing, enough to tell "Tesla uses LiDAR"
    from "Tesla does not use LiDAR" without flagging an unrelated "not" nearby.
    """
    text = _NOT_ONLY.sub(r"\1", text)
    out: set[str] = {stem(w.removesuffix("'s")) for pattern in _DENIED_NAMING for m in pattern.finditer(text)
                     for w in words(m.group(1)) if w not in STOPWORDS}
    budget = 0
    previous = ""
    governed: list[str] = []  # the content words the current negation has taken so far
    subject: list[str] | None = None  # the clause after "don't think", until its verb
    compared = False  # an "as" inside the scope: "not as good *as* the brain"
    purpose = False  # a denied "enough", until its "to"
    tokens = [t.lower().replace("’", "'") for t in _SCOPE_TOKEN.findall(text)]
    said: list[str] = []  # the clause's content words so far, for a denial after them
    for i, low in enumerate(tokens):
        pair, previous = (previous, low), low
        if not low[0].isalnum() or low in _SCOPE_ENDS:
            said, purpose = [], False
        elif low in _POSTPOSED_DENIALS and pair[0] in _COPULAS:
            # "Reliable statistics are lacking" is "there are no reliable statistics".
            out.update(said[-_SCOPE:])
        elif low not in STOPWORDS:
            said.append(stem(low.removesuffix("'s")))
        if budget and low == "enough":
            # "isn't enough training data to train it from scratch" denies the sufficiency
            # and the purpose, not the data: the words up to "to" are asserted.
            out.add("enough")
            budget, purpose = 0, True
            continue
        if low == "to" and (purpose or i >= 2 and tokens[i - 2] == "too"):
            # ... and "too low to train it from scratch" denies the purpose as well.
            budget, governed, compared, purpose = _SCOPE, [], False, False
            continue
        if subject is not None:
            # "I don't think that the network architecture is holding us back": the
            # negation denies what the clause says of its subject, not the subject.
            if low in _AUXILIARIES or low.rsplit("'", 1)[0] in _CLAUSE_PRONOUNS and low.endswith(("'s", "'re")):
                subject, budget, governed = None, _SCOPE, []
                continue
            if low[0].isalnum() and low not in _SCOPE_ENDS and len(subject) < _SCOPE:
                if low not in STOPWORDS:
                    subject.append(stem(low.removesuffix("'s")))
                continue
            out.update(subject[:budget])  # no verb of its own: read as before
            budget = max(0, budget - len(subject))
            subject = None
        if not low[0].isalnum() or low in _SCOPE_ENDS:  # every punctuation token ends the scope
            budget = 0
        elif (low in _NEW_SUBJECTS or (low == "you" and pair[0] in _CLAUSE_OPENERS)) \
                and governed and governed[-1] not in _NEG_RAISING:
            # A new subject starts another clause: "stuff that doesn't matter, like they
            # remember SHA hashes" denies "matter", not "remember". After "don't think"
            # the negation belongs to the clause that follows ("I don't think they use it").
            budget = 0
        elif pair in _NEGATING_PAIRS:
            budget = 1  # "strengthen rather than weaken competitive position" denies "weaken" only
        elif budget and governed and (low == "than" or low == "as" and compared):
            # "don't work as good as the human brain", "isn't bigger than GPT-4": the
            # negation denies the comparison, not what it is compared with.
            budget = 0
        elif low == "being" and pair[0] in _CEASING:
            budget, governed = _SCOPE, []  # "stopped being the bottleneck": no longer the bottleneck
        elif low in _NEGATIONS or low.endswith("n't") or low in _DENYING_WORDS:
            budget = _SCOPE
            governed, compared = [], False
        elif (base := _denied_by_adjective(low, tokens[i + 1] if i + 1 < len(tokens) else "")) is not None:
            # "inconsistent with the modern plague" is "doesn't match the modern plague";
            # "unable to launch it" is "can't launch it".
            out.add(stem(base))
            budget = _SCOPE
            governed, compared = [], False
        elif low.startswith("un") and len(low) > 6 and _is_word(low[2:]):
            out.add(stem(low[2:]))  # "unfulfilled" denies "fulfilled"; "understand" denies nothing
        elif low == "as" and budget:
            compared = True
        elif budget and low not in STOPWORDS:
            governed.append(stem(low.removesuffix("'s")))
            out.add(governed[-1])
            budget -= 1
            if governed[-1] in _CLAUSE_TAKING and len(governed) == 1:
                subject = []
    if subject:
        out.update(subject[:budget])
    return out


def contrasted_terms(text: str) -> set[str]:
    """Stems of the content words a "rather than" or "instead of" sets aside: the next
    few, up to punctuation or a conjunction ("curate datasets instead of writing
    explicit C++ logic" -> {write, explicit, c, logic}). :func:`negated_terms` denies
    only the first of them; the rest are not asserted either. When a verb stands right
    before the pair, what follows the second verb is both verbs' object and stays
    asserted ("strengthen rather than weaken competitive position" -> {weaken})."""
    from .lexicon import is_verb  # lexicon builds on this module

    out: set[str] = set()
    budget = 0
    previous = before = ""
    for token in _SCOPE_TOKEN.findall(text):
        low = token.lower().replace("’", "'")
        pair, previous = (previous, low), low
        if not low[0].isalnum() or low in _SCOPE_ENDS:
            budget = 0
        elif pair in _NEGATING_PAIRS:
            budget = 1 if is_verb(before) else _SCOPE
        elif low not in STOPWORDS and low not in _PAIR_OPENERS:
            if budget:
                out.add(stem(low.removesuffix("'s")))
                budget -= 1
            before = low
    return out


# Sentence boundary: terminal punctuation, optional closing quote/bracket and
# citation markers, then whitespace; or a line break.
_BOUNDARY_RE = re.compile(r"(?<=[.!?])([\"”’)\]]*)((?:\s*\[\d+\])*)\s+|\n+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "no.", "u.s.", "ep.",
                  "sr.", "jr.")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; citation markers after a full stop stay with it."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        # A closing quote or bracket belongs to the sentence it closes, and so do
        # citation markers right after it.
        end = match.end(2) if match.group(2) else (match.end(1) if match.group(1) else match.start())
        candidate = text[start:end]
        tail = candidate.rstrip().lower()
        if re.fullmatch(r"\s*(\d{1,3}|[a-z])[.)]", tail):
            continue  # a list marker ("1.", "b)") opens the next sentence, it is not one
        if match.group(0).strip() == "" or "\n" not in match.group(0):
            if tail.endswith(_ABBREVIATIONS) or re.search(r"\b[a-z]\.$", tail):
                continue
            if text[match.end():match.end() + 1].islower():
                continue  # 'from "can we train it?" to "can we deploy it?"': one sentence goes on
        if candidate.strip():
            sentences.append(candidate.strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


# --- inside a sentence ---------------------------------------------------------------
# Contrast words that end one statement and begin another.
_CONTRAST_WORDS = "while|whereas|but|though|although"
_CLAUSE_BREAK = re.compile(rf"\s*;\s*|,?\s+(?:{_CONTRAST_WORDS})\s+", re.I)
# The word that opens a leading contrast ("Whereas A, B").
_CONTRAST_OPENER = r"^\s*(?:while|whereas|though|although)\s+"
# "Whereas UK law required £1, Denmark's wanted 200,000 krone": a leading clause ends at its comma.
_LEADING_CLAUSE = re.compile(_CONTRAST_OPENER + r"[^,]+,", re.I)
# Finer, for :func:`phrases`: a full stop ends a phrase only before a space or the end
# ("Software 1.0" is one name), closing quotes, brackets and footnote markers allowed
# between ('alive.[12] Temujin', '"monstrous." Temujin').
_FULL_STOP = r"\.(?=(?:[\"”’')\]]|\[\d+\])*(?:\s|$))"
_PHRASE_BREAK = re.compile(rf"[,;:!?()]+|{_FULL_STOP}|\s(?:{_CONTRAST_WORDS}|because)\s|—", re.I)
_CONJOINED_BREAK = re.compile(rf"[,;:!?]+|{_FULL_STOP}|\s(?:{_CONTRAST_WORDS}|because|and|so)\s", re.I)


def drop_contrast_opener(clause: str) -> str:
    """``clause`` without the word opening a leading contrast and its trailing comma:
    "Whereas UK law required £1," gives "UK law required £1" (that word belongs to
    neither side of the contrast)."""
    return re.sub(_CONTRAST_OPENER, "", clause, flags=re.I).rstrip(" ,")


def clauses(text: str) -> list[str]:
    """The statements of a sentence: split at semicolons and contrast words, a leading
    "While A, ..." at its comma ("In 1972 almost all episodes existed, while by 1978 the
    practice had been brought to a stop" is two). Not at "and": "founded in 2010 and
    shipped in 2014" is one statement about one subject. A leading clause keeps its
    opening word and comma ("Whereas UK law required £1,")."""
    lead = _LEADING_CLAUSE.match(text)
    head, rest = (lead.group(0), text[lead.end():]) if lead else ("", text)
    return [c.strip() for c in [head, *_CLAUSE_BREAK.split(rest)] if c.strip()]


def phrases(text: str, conjoined: bool = False) -> list[str]:
    """The stretches of a text between punctuation inside a sentence (a full stop only
    where a sentence ends: "Software 1.0" is one name), brackets, an em dash, a contrast
    word or "because": each is short enough that the name opening it is what it is
    about ("Jamukha horrified people ..."). Not split at "and", which keeps a subject
    with both of its verbs, unless ``conjoined``: "Tesla has a software problem and
    Waymo has a hardware problem" is then two, one per party; an aside in brackets or
    dashes then stays in its phrase
    ("a quarter square kilometer (62 acres) of Ecuadorian rainforest supports ...")."""
    return [c.strip() for c in (_CONJOINED_BREAK if conjoined else _PHRASE_BREAK).split(text) if c.strip()]
