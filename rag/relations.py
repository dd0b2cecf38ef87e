"""How a claim relates its terms, read against an evidence window: word order and connectives.

A swapped relation keeps every word and changes who does what: "Tesla has a
hardware problem, Waymo a software one" against "Tesla has a software problem
and Waymo a hardware problem", or "from deployment to training" for "from
training to deployment". Three readings are not swaps:

- a change of voice ("OpenAI was founded by Altman" / "Altman founded OpenAI");
- an equation stated the other way round ("more data is the best regularizer" /
  "the best regularizer is more data");
- a part the claim fronts, each part in the window's order and linked by the
  same connective ("Because technology changes, people return to school" /
  "people return to school as technology changes"), the way a strong model
  leads with its answer or its reason.

The measure is the share of nearby pairs of key terms the window holds in
reverse order (:func:`order_reversals`), plus the sides of an asymmetric
connective (:func:`swapped_relation`). The limit on the share is learned
(``max_order`` in ``rag/params/verifier.json``).
"""

from __future__ import annotations

import re

from .lexicon import is_framing
from .text import STOPWORDS, content_terms, split_sentences, stem, words

__all__ = ["CLAIM_TOKEN", "SUBJECTS", "core", "order_reversals", "swapped_relation"]

#: Words and the punctuation that delimits clauses, as the relation checks read a text.
CLAIM_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)?|[.,;:!?\"“”()]")
#: Pronouns that stand for the subject of a clause.
SUBJECTS = frozenset("he she it they who which".split())
# A yes/no answer's opener carries the polarity of the question, not a claim; so does
# "Neither:" or "Both:" answering "X or Y?" (what follows is checked).
_OPENER = re.compile(r"^\s*(?:yes|no|neither|both)\s*[,.;:!—–-]+\s*", re.I)
# "was founded ... by": a passive clause with its agent.
_PASSIVE = re.compile(r"\b(?:is|are|was|were|been|being|be)\s+(?:\w+ly\s+)?\w+(?:ed|en|wn|lt|ght)\b[^.]*?\bby\b",
                      re.I)
_CONNECTIVES = frozenset({"over", "than", "versus", "vs"})
# Words before "like" the verb ("they like", "would like", "to like"); elsewhere "like"
# links two things ("stuff like hashes") and carries no relation of its own.
_LIKERS = frozenset("i you we they people to would do did don't didn't not really".split())
_FROM_TO = ("to", "toward", "towards", "into")


def core(claim: str) -> str:
    """The claim without a yes/no opener."""
    return _OPENER.sub("", claim, count=1)


# The verb "to be" equates its two sides, and either may come first: "more data is
# the best regularizer" / "the best regularizer is more data".
_COPULAS = frozenset("is are was were be been being".split())
# ... but not a quantified one: "most transformers are language models" is not
# "most language models are transformers".
_QUANTIFIERS = frozenset("all every each most many much some few several no none any".split())
# Connectives that relate two clauses one way round: the part each introduces must stay
# the same when a claim fronts one of them.
_CONNECTIVE_KINDS = {
    **dict.fromkeys("because since as due given".split(), "cause"),
    **dict.fromkeys("so therefore thus hence consequently".split(), "effect"),
    **dict.fromkeys("after once following".split(), "earlier"),
    **dict.fromkeys("before until then later".split(), "later"),
    **dict.fromkeys("if unless".split(), "condition"),
}
# A connective and its converse: "X, so Y" links the parts as "because X, Y" does.
_CONVERSE = {"effect": "cause", "later": "earlier"}
# "such as", "as well as", "the same as": no reason given.
_NOT_CAUSAL_AS = frozenset("such well same so just".split())
_INVERSION_SPAN = 6  # content terms: how close the inverted pair must stand in the window


def _terms_and_pivots(text: str, role: bool = False) -> tuple[list[str], list[int]]:
    """The content terms of ``text``, and where a form of "to be" stands among them (the
    number of terms before it); a "to be" after a quantifier ("most X are Y") is no pivot.

    ``role``: only the terms that can carry a relation, not framing verbs ("he
    *thinks* X" states X wherever the passage puts its "I think")."""
    terms: list[str] = []
    pivots: list[int] = []
    quantified = False
    tokens = words(text)
    for prev, w in zip(["", *tokens], tokens):
        quantified = quantified or w in _QUANTIFIERS
        if w in _COPULAS:
            if not quantified:
                pivots.append(len(terms))
            quantified = False
            continue
        found = content_terms(w)
        if not found or (role and is_framing(w, prev in SUBJECTS)):
            continue
        if w == "like" and prev not in _LIKERS:
            continue  # "stuff like SHA hashes", spoken "like": a preposition or a filler
        terms.extend(found)
    return terms, pivots


def _inverted(left: set[str], right: set[str], window_terms: list[str], pivots: list[int]) -> bool:
    """The window states the claim's equation ``left`` is ``right`` the other way round:
    around one of its "to be"s the right side comes first and the left side after, and
    no term of either side also stands on its own side ("Tesla is ahead of Waymo"
    does not invert "Waymo is ahead of Tesla": "ahead" stays on the right; nor
    does "Li, a Stanford advisor, was the advisor of Karpathy" invert "Karpathy was
    the advisor of Li")."""
    for p in pivots:
        before = set(window_terms[max(0, p - _INVERSION_SPAN):p])
        after = set(window_terms[p:p + _INVERSION_SPAN])
        if right & before and left & after and not right & after and not left & before:
            return True
    return False


def _fronted(seq: list[str], positions: dict[str, list[int]]) -> int:
    """How many leading terms of ``seq`` the window states after all the others, each
    part in the window's own order; 0 when ``seq`` is no such rotation. Four terms at
    least: with fewer, a fronted term is as often a swapped one."""
    first = [positions[t][0] for t in seq]
    breaks = [k for k in range(1, len(first)) if first[k] < first[k - 1]]
    if len(first) < 4 or len(breaks) != 1 or first[-1] >= first[0]:
        return 0
    return breaks[0]


def _links(text: str, front: list[str], back: list[str]) -> set[tuple[str, int]]:
    """Which part each connective of ``text`` introduces: ("cause", 1) when the first
    content term after a "because" is one of ``back``. A claim that fronts a part may
    link the parts only as the window does ("because X, Y" is "Y as X"; it is never
    "because Y, X")."""
    part = {**{t: 0 for t in front}, **{t: 1 for t in back}}
    out: set[tuple[str, int]] = set()
    pending = None
    tokens = words(text)
    for prev, w in zip(["", *tokens], tokens):
        if w in _CONNECTIVE_KINDS and not (w == "as" and prev in _NOT_CAUSAL_AS):
            pending = _CONNECTIVE_KINDS[w]
            continue
        terms = content_terms(w)
        if pending and terms:
            if terms[0] in part:
                if pending in _CONVERSE:  # "X, so Y" is "because X, Y": the cause is X's part
                    out.add((_CONVERSE[pending], 1 - part[terms[0]]))
                else:
                    out.add((pending, part[terms[0]]))
            pending = None
    return out


_POSSESSIVE = re.compile(r"\b([\w-]+)['’]s((?:\s+[\w-]+){1,3})")


def _possessives_as_of(text: str, other: str) -> str:
    """``text`` with each possessive written as ``other`` writes it with "of": "GPT-4's
    visual capabilities" is "the visual capabilities of GPT-4", the same two terms in
    the other order. Only where ``other`` has that very owner after "of", so "Sutton's
    observation" never becomes "the observation of Karpathy"."""
    def rewrite(m: re.Match) -> str:
        owner, owned = m.group(1), m.group(2).split()
        for k in range(len(owned), 0, -1):
            if re.search(rf"\b{re.escape(owned[k - 1])}(?:\s+[\w-]+){{0,2}}\s+of\s+(?:the\s+)?{re.escape(owner)}\b",
                         other, re.I):
                return " ".join(owned[:k]) + f" of {owner}" + "".join(" " + w for w in owned[k:])
        return m.group(0)

    return _POSSESSIVE.sub(rewrite, text)


def order_reversals(claim: str, window: str) -> float:
    """Share of the claim's nearby pairs of key terms that the window holds in reverse
    order, read in the whole window and in the one window sentence that states the
    claim (:func:`_anchor`), whichever agrees better. A possessive on one side and
    "of" on the other ("GPT-4's capabilities", "the capabilities of GPT-4") is one order."""
    claim, window = _possessives_as_of(claim, window), _possessives_as_of(window, claim)
    whole = _reversals(claim, window)
    anchor = _anchor(claim, window)
    return min(whole, _reversals(claim, anchor)) if anchor and whole else whole


def _anchor(claim: str, window: str) -> str:
    """The window sentence that holds all the claim's key terms the window holds, or
    three quarters of them and four at least; "" when no sentence does. Sentences
    around it mention the same terms in other relations ("the teacher is not the front
    end anymore. The teacher is on the back end …"), which would read as a reversal of
    the one that states it."""
    claim_terms = set(_terms_and_pivots(core(claim), role=True)[0])
    # A colon ends a heading or a lead-in too ("Models can be smaller: > I think …").
    sentences = [part for s in split_sentences(window) for part in s.split(": ") if part.strip()]
    if len(sentences) < 2:
        return ""
    held = claim_terms & set(_terms_and_pivots(window)[0])
    found, best = max(((len(held.intersection(_terms_and_pivots(s)[0])), s) for s in sentences), key=lambda x: x[0])
    return best if found == len(held) or (found >= 4 and found >= 0.75 * len(held)) else ""


def _reversals(claim: str, window: str) -> float:
    """Share of the claim's nearby pairs of key terms that the window holds in reverse order.

    A swapped relation ("A trained B" for "B trained A") reverses the pairs
    around the verb. A change of voice reverses them too and is not
    counted ("founded by Altman" / "Altman founded"), and framing verbs are
    left out (:func:`_terms_and_pivots`): the relation is carried by the terms around them.
    Neither is an equation stated the other way round ("more data is the best
    regularizer" / "the best regularizer is more data", :func:`_inverted`), nor a part
    the claim fronts (:func:`_fronted`): a strong model leads with the answer ("SHA
    hashes are his example: models waste capacity on …") or with a reason ("Because
    technology changes so fast, people will return to school").
    """
    if bool(_PASSIVE.search(claim)) != bool(_PASSIVE.search(window)):
        return 0.0
    claim_terms, claim_pivots = _terms_and_pivots(core(claim), role=True)
    window_terms, window_pivots = _terms_and_pivots(window)
    positions: dict[str, list[int]] = {}
    for i, t in enumerate(window_terms):
        positions.setdefault(t, []).append(i)
    seq = [t for t in dict.fromkeys(claim_terms) if t in positions and claim_terms.count(t) == 1]
    # Each "to be" of the claim that the window states the other way round (an equation).
    inverted = []
    for k, p in enumerate(claim_pivots):
        lo = claim_pivots[k - 1] if k else 0
        hi = claim_pivots[k + 1] if k + 1 < len(claim_pivots) else len(claim_terms)
        if _inverted(set(claim_terms[lo:p]), set(claim_terms[p:hi]), window_terms, window_pivots):
            inverted.append(p)
    fronted = _fronted(seq, positions)
    if fronted and _links(core(claim), seq[:fronted], seq[fronted:]) <= _links(window, seq[:fronted], seq[fronted:]):
        # The claim fronts one part of what the window says, each part in the window's
        # order ("Because technology changes, people return to school" for "people
        # return to school as technology changes"): read it with that part put back.
        seq = seq[fronted:] + seq[:fronted]
        inverted = []
    pairs = first_reversed = closest_reversed = 0
    for i in range(len(seq)):
        for j in range(i + 1, min(i + 4, len(seq))):  # nearby pairs carry the relation
            pairs += 1
            if any(claim_terms.index(seq[i]) < p <= claim_terms.index(seq[j]) for p in inverted):
                continue  # the two sides of an equation the window states the other way round
            first_reversed += positions[seq[i]][0] > positions[seq[j]][0]
            _, a, b = min((abs(x - y), x, y) for x in positions[seq[i]] for y in positions[seq[j]])
            closest_reversed += a > b
    # Read both where each term first appears and where the two stand closest: a heading
    # ("On Tesla vs Waymo:") shifts the first reading, a later mention the second.
    return max(first_reversed, closest_reversed) / pairs if pairs else 0.0


def _sides(text: str, span: int = 2) -> list[tuple[set[str], set[str]]]:
    """The terms just left and right of each asymmetric connective ("A over B", "from A to B")."""
    tokens = [t.lower() for t in CLAIM_TOKEN.findall(text)]
    out = []
    for i, token in enumerate(tokens):
        from_to = token in _FROM_TO and "from" in tokens[max(0, i - 12):i]
        if token not in _CONNECTIVES and not from_to:
            continue
        left: list[str] = []
        j = i - 1
        while j >= 0 and len(left) < span:
            w = tokens[j]
            if w in ".,;:!" or (from_to and w == "from"):
                break
            if w not in STOPWORDS and w[0].isalnum():
                left.append(stem(w))
            j -= 1
        right: list[str] = []
        j = i + 1
        while j < len(tokens) and len(right) < span:
            w = tokens[j]
            if w in ".,;:!" and right:
                break
            if w not in STOPWORDS and w[0].isalnum():
                right.append(stem(w))
            j += 1
        out.append((set(left), set(right)))
    return out


def swapped_relation(claim: str, window: str) -> bool:
    """The claim puts on one side of "over", "than" or "from ... to" what the window puts on the other."""
    window_sides = _sides(window)
    for left, right in _sides(claim):
        for w_left, w_right in window_sides:
            if left & w_right and right & w_left and not (left & w_left and right & w_right):
                return True
    return False
