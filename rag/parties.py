"""Who does what: a claim that gives one party what its passage says of another.

Used by :func:`rag.alignment.align`, on the claim without its yes/no opener
("No, ..."). Both checks read clauses, not whole sentences, and both need a
name on the claim's side: a claim that says "he" where the passage names
someone is left to the other checks.

- :func:`swapped_names`: two named parties trade what the window says of
  each ("Tesla has a hardware problem while Waymo has a software problem").
- :func:`substituted_name`: what the window says of one party is given to
  another ("Temüjin horrified people" where the passage says Jamukha did).
- :func:`substituted_possessor`: the same for a possessive ("Karpathy's famous
  observation" where the passage says "Sutton's famous observation").
- :func:`swapped_sides`: the two sides of a contrast trade what the window says
  of each, named or not ("While Tesla relied on lidar, its competitors bet on
  cameras"; "Software 1.0 relied on neural networks, whereas Software 2.0 ...").
- :func:`displaced_name`: a name the claim puts where the window's sentence has
  another ("According to Biraben, France lost ..." where Geoffrey Parker says so).
- :func:`displaced_agent`: the claim names another party as doing what the window
  says one did ("Seamans campaigned" where "Houbolt campaigned").
- :func:`unvoiced_emphasis`: "Karpathy himself cautions that ..." where the
  window is someone else speaking about him ("Caveat: Karpathy's optimism ...").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .lexicon import commonness, is_framing, verb_lemma
from .text import STOPWORDS, clauses, content_terms, drop_contrast_opener, names, phrases, split_sentences, stem, words

__all__ = [
    "displaced_agent", "displaced_name", "substituted_name", "substituted_possessor", "swapped_names", "swapped_sides",
    "speaking_voice", "unvoiced_emphasis",
]

# A capitalised word rarer than this in English (Zipf) is a name even where it opens a
# clause ("Jamukha horrified ..."), where :func:`rag.text.names` takes it for a first word.
_RARE_ZIPF = 3.5


_THIRD_PERSON_REF = frozenset("it its they them their he him his she her".split())


def swapped_names(claim: str, window: str) -> bool:
    """The claim gives one named party what the window gives another.

    "Tesla has a hardware problem while Waymo has a software problem" against
    "Tesla has a software problem and Waymo has a hardware problem": the window's
    clause that best holds "hardware problem" names Waymo, not Tesla.
    """
    claim_names = {stem(n) for n in names(claim)}
    if len(claim_names) < 2:
        return False
    window_phrases = phrases(window, conjoined=True)
    window_clauses = [set(content_terms(c)) for c in window_phrases]
    # "so that agents can use them": a clause that refers to a party by a pronoun may be
    # about the claim's party ("websites and APIs") though it does not name it.
    referring = [not _THIRD_PERSON_REF.isdisjoint(words(c)) for c in window_phrases]
    for clause in phrases(claim, conjoined=True):
        terms = set(content_terms(clause))
        own = terms & claim_names
        rest = terms - claim_names
        if len(own) != 1 or not rest:
            continue
        (name,) = own
        overlap = [len(rest & w) for w in window_clauses]
        best = max(overlap, default=0)
        if best < max(1, (len(rest) + 1) // 2):
            continue
        holders = [(w, r) for w, r, o in zip(window_clauses, referring, overlap) if o == best]
        if all(name not in w and (w & claim_names) and not r for w, r in holders):
            return True
    return False


_PRONOUNS = frozenset("he she it they we i you who".split())
_NAME_TOKEN = re.compile(r"\b[A-Z][\w'’-]*")


def _opening_name(clause: str, known: set[str], shared: set[str]) -> set[str] | None:
    """Like :func:`_leading_name`, but only a name that opens the clause: nothing but
    function words or numbers before it ("In 1996 the Metropolitan Police ..."), so
    not "once rivalled Mombasa" nor "He did his work at Stanford"."""
    run = _leading_name(clause, known, shared)
    if not run:
        return None
    tokens = words(clause)
    first = min((i for i, t in enumerate(tokens) if stem(t) in run), default=0)
    before = tokens[:first]
    if any(t in _PRONOUNS or (t not in STOPWORDS and not t.isdigit()) for t in before):
        return None
    return run


def _leading_name(clause: str, known: set[str], shared: set[str]) -> set[str] | None:
    """The clause's first name run when it stands before every one of the ``shared``
    terms: the party the clause is about ("Jamukha horrified people"), not its object."""
    run = _first_name(clause, known)
    if not run:
        return None
    tokens = words(clause)
    stems = [stem(w) for w in tokens]
    first_shared = next((t for t in content_terms(clause) if t in shared), None)
    if first_shared is None:
        return None
    first_name = min((i for i, t in enumerate(stems) if t in run), default=len(stems))
    pos = next((i for i, t in enumerate(stems) if t == first_shared), len(stems))
    # "At Tesla he led ...": a pronoun after the name is the subject, the name is a setting.
    if first_name >= pos or any(t in _PRONOUNS for t in tokens[first_name:pos]):
        return None
    return run


def _first_name(clause: str, known: set[str]) -> set[str] | None:
    """The stems of the first run of names in ``clause`` ("Robert Underwood Johnson"), or None.

    ``known``: the stems :func:`names` finds in the whole text; a clause's capitalised
    first word is a name too when it is rare in English ("Jamukha", not "During")."""
    run: list[str] = []
    end = -1
    for m in _NAME_TOKEN.finditer(clause):
        if run and clause[end:m.start()].strip():
            break  # the run ends at the first word that is not a name
        word = re.sub(r"['’]s$", "", m.group(0)).lower()
        token = stem(word)
        if token in known or (word not in STOPWORDS and commonness(word) < _RARE_ZIPF):
            run.append(token)
            end = m.end()
        elif run:
            break
    return set(run) or None


def substituted_name(claim: str, window: str) -> bool:
    """The claim gives what the window says of one party to another.

    "Temüjin horrified people by boiling seventy captives" against "Jamukha horrified
    people ... by boiling seventy captives": a claim clause opens with a name, and the
    window clause that holds most of the rest of it is led by another name (one that
    claim clause does not mention) and does not mention the claim's. A pronoun keeps
    either side from counting ("He ... at Stanford", "At Tesla he led"), so a claim
    that names whom the window calls "he" is not caught. :func:`swapped_names` needs
    two names in the claim; this needs one."""
    window_clauses = phrases(window)
    window_terms = [set(content_terms(c)) for c in window_clauses]
    claim_names = {stem(n) for n in names(claim)}
    window_names = {stem(n) for n in names(window)}
    for clause in phrases(claim):
        lead = _first_name(clause, claim_names)
        if not lead:
            continue
        rest = set(content_terms(clause)) - claim_names - lead
        if len(rest) < 2:
            continue
        overlap = [len(rest & w) for w in window_terms]
        best = max(overlap, default=0)
        if best < max(2, (len(rest) + 1) // 2):
            continue
        shared_claim = rest & set().union(*(w for w, o in zip(window_terms, overlap) if o == best))
        if _opening_name(clause, claim_names, shared_claim) is None:
            continue
        clause_names = {stem(n) for n in names(clause)} | lead
        for c, w, o in zip(window_clauses, window_terms, overlap):
            if o != best:
                continue
            other = _leading_name(c, window_names, rest & w)
            if other and not (lead & w) and not (other & clause_names):
                return True
    return False


# "Today's", "China's": common enough in English that an owner this common is not a name
# to trust ("Tesla" is 3.9, "Today" 6.0).
_COMMON_OWNER_ZIPF = 5.0
_POSSESSOR = re.compile(r"\b([A-Z][\w-]*)['’]s\b((?:\s+[\w-]+){1,3})")


def _possessions(text: str) -> list[tuple[tuple[str, ...], set[str]]]:
    """Each named possessor ("Sutton's", "GPT-4's": the stems of its parts) with the
    content terms of the words after it ("famous observation"). A capitalised common
    word is no owner ("Today's Tesla cars")."""
    out = []
    for m in _POSSESSOR.finditer(text):
        owner = m.group(1)
        terms = set(content_terms(m.group(2)))
        if owner.lower() in STOPWORDS or commonness(owner.lower()) >= _COMMON_OWNER_ZIPF or not terms:
            continue
        out.append((tuple(stem(p) for p in re.split(r"[-'’]", owner.lower()) if p), terms))
    return out


def substituted_possessor(claim: str, window: str) -> bool:
    """The claim gives to one name what the window gives to another.

    "The bitter lesson is Karpathy's famous observation" against "While
    acknowledging Sutton's famous observation that compute eventually wins,
    Karpathy argues ...": the window's possessor of "famous observation" is a name
    the claim never uses. (A possessor the claim does use elsewhere is a rewording:
    "the Iranian Plateau's population" in a claim about Iran.)"""
    theirs = _possessions(window)
    if not theirs:
        return False
    said = {stem(w) for w in words(claim)}
    for _, terms in _possessions(claim):
        # What is owned must be the same thing: two of its terms, or its only one.
        others = [o for o, t in theirs if len(t & terms) >= min(2, len(terms))]
        if others and not any(set(o) <= said for o in others):
            return True
    return False


def _side_terms(text: str) -> list[str]:
    """The content terms of ``text`` in order, reporting verbs left out ("he says")."""
    return [t for w in words(text) if not is_framing(w, False) for t in content_terms(w)]


def swapped_sides(claim: str, window: str) -> bool:
    """The two sides of a contrast trade what the window says of each.

    "While Tesla's Autopilot relied on lidar and maps, its competitors bet on cameras
    alone" against "Competitors relied on lidar and high definition maps. Karpathy bet
    the entire Autopilot program on cameras alone." Each side is led by the first term
    it does not share with the other ("tesla" and "competitor"; the "1" and "2" of
    "Software 1.0" and "Software 2.0"); the window clause that holds most of one
    side's other terms names the other side's lead and not its own.
    :func:`swapped_names` needs a name on both sides; this needs none, so it asks
    for a contrast the claim spells out."""
    parts = clauses(claim)
    if len(parts) < 2 or not _PRONOUNS.isdisjoint(words(parts[1])[:1]):
        # "..., although he later returned": a concession about the same subject, not
        # a second side.
        return False
    parts = [drop_contrast_opener(parts[0]), " ".join(parts[1:])]
    sides = [_side_terms(p) for p in parts]
    clause_texts = phrases(window)
    window_clauses = [set(content_terms(c)) for c in clause_texts]
    for i in (0, 1):
        own = [t for t in sides[i] if t not in sides[1 - i]]
        other = [t for t in sides[1 - i] if t not in sides[i]]
        if len(own) < 3 or not other:
            continue
        lead, rest, their_lead = own[0], set(own[1:]), other[0]
        overlap = [len(rest & w) for w in window_clauses]
        best = max(overlap, default=0)
        if best < max(2, (len(rest) + 1) // 2):
            continue
        holders = [(c, w) for c, w, o in zip(clause_texts, window_clauses, overlap) if o == best]
        if all(lead not in w and _leads(c, their_lead, rest) for c, w in holders):
            return True
    return False


# Words after which a name is what the clause compares with, not what it is about. Not a
# bare "with": "with Edison holding the patents" is about Edison.
_COMPARED = frozenset("than unlike versus vs".split())
_COMPARED_PAIRS = frozenset({("compared", "with"), ("compared", "to"), ("contrast", "to"), ("contrast", "with")})


def _leads(clause: str, term: str, rest: set[str]) -> bool:
    """``term`` stands in ``clause`` before the other terms it shares (``rest``), and not
    as what the clause compares with ("compared with Waymo it relies on cameras")."""
    tokens = words(clause)
    stems = [(content_terms(t) or [""])[0] for t in tokens]
    at = next((i for i, t in enumerate(stems) if t == term), None)
    if at is None or (at and tokens[at - 1] in _COMPARED) or tuple(tokens[max(0, at - 2):at]) in _COMPARED_PAIRS:
        return False
    return all(i >= at for i, t in enumerate(stems) if t in rest)


# "Karpathy himself says", "she herself admits": the subject's own voice is claimed.
_EMPHATIC = re.compile(r"\b(?:[A-Z][\w'’-]*|[Hh]e|[Ss]he)\s+(him|her)self\b")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself|we|we're|our|us)\b")
_THIRD_PERSON = re.compile(r"\b(?:he|his|him|himself|she|her|hers|herself)\b", re.IGNORECASE)


def unvoiced_emphasis(claim: str, window: str) -> str:
    """The emphatic reflexive the window does not bear out ("himself"), or ''.

    "Karpathy himself cautions that his optimism ... may underweight integration
    costs" claims his own words; the window "Caveat: Karpathy's optimism ... may
    underweight the integration costs" is an author writing about him. The claim
    is borne out by a window in the first person that never speaks of the subject
    in the third ("> I fundamentally believe ..."), or one that says "himself" too.
    Fabricated answers use the emphasis to pass an author's view off as the
    subject's; a plain "Karpathy says" is left to the other checks."""
    m = _EMPHATIC.search(claim)
    if not m:
        return ""
    reflexive = m.group(1).lower() + "self"
    if re.search(rf"\b{reflexive}\b", window, re.IGNORECASE):
        return ""
    subject = m.group(0).split()[0]
    spoken_of = _THIRD_PERSON.search(window) or (
        subject[0].isupper() and subject.lower() not in {"he", "she"}
        and re.search(rf"\b{re.escape(subject)}\b", window))
    if _FIRST_PERSON.search(window) and not spoken_of:
        return ""
    return reflexive


# What a passage quotes: a blockquote line ("> I think …"; to the end of the text when its
# sentences were joined), or a span in quotation marks.
_QUOTED = re.compile(r"(?:^|(?<=\s))>\s[^\n]*|“[^”]*”|\"[^\"\n]*\"")
_SPEAKER = re.compile(r"^\s*(?:(?:[Yy]es|[Nn]o)\s*[,.;:!—–-]+\s*)?([A-Z][\w-]*)\s+(\w+)")


def speaking_voice(claim: str, passages: Iterable[str], titles: Sequence[str]) -> str:
    """The name a claim gives the passages' first-person speaker, or ''.

    "Karpathy thinks we haven't even scratched what's possible" cites a quote
    ("> I think we haven't even scratched …") that never names him: the document
    does, in its title ("Andrej Karpathy on No Priors 80"). The name is who says
    it, not a new fact, when it opens the claim before a verb that reports or
    judges, the title holds it, and every cited passage quotes someone speaking in
    the first person (a "> I think …" line or quotation marks) and never speaks of
    anyone in the third: an author who writes "I spent years here during my PhD" in
    a post titled "Karpathy on …", quoting no one, speaks in a voice of their own.
    ``passages`` is read only when the claim opens so (it may be a lazy iterable)."""
    m = _SPEAKER.match(claim)
    if not m or not is_framing(m.group(2).lower(), True):
        return ""
    name = m.group(1)
    if not any(re.search(rf"\b{re.escape(name)}\b", t) for t in titles):
        return ""
    read = False
    for passage in passages:
        quoted = " ".join(q.group(0) for q in _QUOTED.finditer(passage))
        if not _FIRST_PERSON.search(quoted) or _THIRD_PERSON.search(passage) \
                or re.search(rf"\b{re.escape(name)}\b", passage):
            return ""
        read = True
    return name if read else ""



_REFERRING = frozenset("he she i we they his her my our their him me us them".split())
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][\w'’-]*")
_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|de\s+|van\s+|&\s+)?[A-Z][\w'’-]*)*")


def _name_runs(text: str) -> list[tuple[set[str], str, set[str]]]:
    """Each run of names in ``text`` ("Geoffrey Parker", "NASA Administrator Webb"):
    the stems of its parts, its initials, and the content terms next to it (two on
    each side, capitalised words left out): where it stands in what the text says."""
    known = {stem(p) for n in names(text) for p in re.split(r"[-'’]", n) if p}
    matches = []
    for m in _NAME_RUN.finditer(text):
        parts = {stem(p) for w in m.group(0).split() for p in re.split(r"[-'’]", re.sub(r"['’]s$", "", w.lower()))
                 if p and p not in STOPWORDS} & known
        if parts:
            matches.append((m, parts))
    runs = []
    for m, parts in matches:
        left = [t for w in _LOWER_WORD.findall(text[:m.start()]) for t in content_terms(w)][-2:]
        right = [t for w in _LOWER_WORD.findall(text[m.end():]) for t in content_terms(w)][:2]
        initials = "".join(w[0] for w in m.group(0).split() if w[:1].isupper()).lower()
        runs.append((parts, initials, set(left + right)))
    return runs


def _said(part: str, present: set[str]) -> bool:
    # "Shakespeare-like" is said by "Shakespearean".
    return part in present or any(len(part) >= 5 and w.startswith(part) for w in present)


def displaced_name(claim: str, window: str) -> bool:
    """The claim puts a name where the window's sentence has another ("According to
    Biraben, France lost ..." where the window says "According to Geoffrey Parker,
    France lost ..."; "animation company Theta-Sigma reconstructed episodes 1 and 4"
    where "animation studio Cosgrove Hall" did).

    The sentence states nearly all of the claim clause's other words; exactly one
    of the clause's names is missing from it, and a name the claim never uses
    stands where it stood (two of the words next to one are next to the other). A
    pronoun in the sentence may mean the name the clause opens with, which then does
    not count; nor does a name the sentence gives as an acronym ("LGM")."""
    claim_stems = {stem(w) for w in words(claim)}
    sentences = split_sentences(window)
    sentence_terms = [set(content_terms(s)) for s in sentences]
    for clause in clauses(claim):
        runs = _name_runs(clause)
        if not runs:
            continue
        rest = set(content_terms(clause)) - set().union(*(parts for parts, _, _ in runs))
        if len(rest) < 3:
            continue
        for s, terms in zip(sentences, sentence_terms):
            if len(rest & terms) < 0.75 * len(rest):
                continue
            tokens = words(s)
            present = {stem(w) for w in tokens}
            theirs = _name_runs(s)
            missing = [r for r in runs if not any(_said(p, present) for p in r[0])
                       and not any(r[1] in parts for parts, _, _ in theirs)]
            if _REFERRING & set(tokens) and missing and missing[0] is runs[0]:
                # The sentence's pronoun may mean the name the claim opens with ("He was
                # hired by ..." for "Ostrander was hired by ..."), not a later one ("I think
                # Waymo has a hardware problem" does not mean "Cruise").
                missing = missing[1:]
            if len(missing) != 1:
                continue
            context = missing[0][2]
            if any(len(context & near) >= 2 and not parts & claim_stems for parts, _, near in theirs):
                return True
    return False


# A name run and the word right after it: "Houbolt campaigned", "Lyndon B. Johnson sent".
_AGENT = re.compile(r"\b((?:[A-Z][\w'’.-]*\s+){0,5}[A-Z][\w'’-]*)\s+(?:(?:also|then|later|again|\w+ly)\s+)?([a-z]\w+)\b")
_PRONOUN_AGENT = re.compile(r"\b(he|she|they|it|we|i|who|which)\s+(?:\w+ly\s+)?([a-z]\w+)\b", re.IGNORECASE)
_CLAUSE_LINKS = (" and", " but", " while", " whereas", " when", " after", " before", " because", " that")


def _agents(text: str) -> dict[str, list[set[str]]]:
    """Per verb stem, the parties written right before it: a name run's stems, or {"<pronoun>"}.

    Only a word that is a verb form ("campaigned", "sent") and not a "to be" or an
    auxiliary; a passive ("was sent by") is no agent of "sent"."""
    out: dict[str, list[set[str]]] = {}
    for m in _AGENT.finditer(text):
        verb = m.group(2)
        if verb in STOPWORDS or verb_lemma(verb) is None or text[m.end():m.end() + 3] == " by":
            continue
        run = [w for w in words(m.group(1)) if w not in STOPWORDS]
        before = text[:m.start()].rstrip()
        # The party opens its clause; "communities in the Peruvian Amazon continue" is not
        # said of the Amazon.
        if not run or (before and before[-1] not in ".,;:!?\"“”>—–(" and not before.endswith(_CLAUSE_LINKS)):
            continue
        out.setdefault(stem(verb), []).append({stem(w.removesuffix("'s")) for w in run})
    for m in _PRONOUN_AGENT.finditer(text):
        out.setdefault(stem(m.group(2).lower()), []).append({"<pronoun>"})
    return out


def displaced_agent(claim: str, window: str) -> bool:
    """The claim names one party as doing what the window says another did.

    "Robert Seamans campaigned for LOR" where the window says "Houbolt campaigned for
    the recognition of LOR ... he sent memos to Robert Seamans"; "Johnson sent Kennedy
    a memo" where "Kennedy sent a memo to Johnson". The same verb, right after a name
    opening a clause on both sides, and the two names share no word; the claim's party
    is a full name, and the window names it too, in another role. Not when any of the window's uses of the
    verb has the claim's party, or a pronoun that may stand for it, before it."""
    claimed = _agents(claim)
    if not claimed:
        return False
    stated = _agents(window)
    present = {stem(w.removesuffix("'s")) for w in words(window)}
    for verb, parties in claimed.items():
        theirs = stated.get(verb)
        if not theirs:
            continue
        for party in parties:
            if len(party) < 2 or not party <= present:
                # A party the window never names is the missing-word check's. A one-word
                # party may be an organisation, credited with what its people do ("Tesla
                # bet the Autopilot program on cameras" where Karpathy did); a full name
                # is a person, and no person stands for another.
                continue
            if all(p != {"<pronoun>"} and not (p & party) for p in theirs):
                return True
    return False
