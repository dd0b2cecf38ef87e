"""Turn a follow-up question into a standalone one, using the chat history.

"and when did he leave?" after "When did Karpathy join Tesla?" must retrieve
Tesla passages. Rewriting only happens when the question really leans on the
conversation (a pronoun with nothing to refer to in the question itself, a
bare "Why?", an "And what about ...?"); a question that stands on its own
("What is minbpe?", "Is there a course on vision?", "Why does a demo take a
decade?") is left exactly as asked.

The rule-based rewrite (deterministic, for the bundled tiny model) resolves a
pronoun to the last named subject and, for a question with little content of
its own, carries the previous question's topic along. A capable model can
condense the question instead (:func:`condense_prompt`); its rewrite is used
only when it looks like a question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .text import STOPWORDS, content_terms, names, unpossessed, words

__all__ = ["is_follow_up", "standalone_question", "condense_prompt", "accept_condensed"]

# "there", "then", "this" and "that" are left out: "Is there a course on X?" and
# "What is that paper about CS231n?" stand on their own far more often than not.
_PERSONAL = {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs"}
_NEUTER = {"it", "its"}
_OPENERS = re.compile(r"^\s*(and|but|also|what about|how about|and what about|so what about)\b[\s,]*", re.I)
_BARE = re.compile(r"^\s*(why|how|when|where|who|what|and|then|really|how so|why not|and then|which one)\s*[?.!]*\s*$", re.I)
_QUESTION_WORDS = {"what", "when", "where", "who", "whom", "why", "how", "which", "did", "does", "do", "is", "was",
                   "were", "are", "can", "could", "would", "should", "will", "has", "have"}


def _content(question: str) -> list[str]:
    return [w for w in words(question) if w not in STOPWORDS and w not in _QUESTION_WORDS]


def is_follow_up(question: str) -> bool:
    """True for questions that lean on the previous turn ("and when did he leave?")."""
    ws = words(question)
    if not ws:
        return False
    if _BARE.match(question) or _OPENERS.match(question):
        return True
    if names(question):
        return False  # it names its own subject
    if any(w in _PERSONAL for w in ws):
        return True
    # "it" is often a dummy subject ("How long did it take to ..."): only a short question leans on it.
    return any(w in _NEUTER for w in ws) and len(_content(question)) <= 2


def _subject(previous: str) -> str | None:
    found = re.findall(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", previous)
    people = [f for f in found if f.lower() not in _QUESTION_WORDS and f.lower() not in STOPWORDS]
    return unpossessed(people[0]) if people else None


def standalone_question(question: str, history: Sequence[str]) -> str:
    """``question`` made self-contained using the user's earlier questions (oldest first)."""
    question = question.strip()
    previous = next((h.strip() for h in reversed(history) if h and h.strip()), "")
    if not previous or not is_follow_up(question):
        return question
    subject = _subject(previous)
    rewritten = _OPENERS.sub("", question, count=1).strip(" ,") or question
    if subject:
        rewritten = re.sub(r"\b(he|she|they|him|her|them)\b", subject, rewritten, count=1, flags=re.I)
        rewritten = re.sub(r"\b(his|their)\b", f"{subject}'s", rewritten, count=1, flags=re.I)
    rewritten = rewritten[:1].upper() + rewritten[1:]
    own = set(content_terms(rewritten))
    if len(own - set(content_terms(subject or ""))) <= 2:
        # Little content of its own ("When did Karpathy leave?"): carry the previous topic.
        have = {w.lower() for w in re.findall(r"[\w'’-]+", rewritten)}
        topic = [
            w for w in re.findall(r"[\w'’-]+", previous)
            if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS and w.lower() not in have
        ]
        if topic:
            # "about" is a stopword: it joins the carried topic without adding a search term.
            rewritten = f"{rewritten.rstrip('?').rstrip()} (about {' '.join(dict.fromkeys(topic))})?"
    return rewritten


def condense_prompt(question: str, history: Sequence[str]) -> list[dict[str, str]]:
    """Messages asking a capable model to make the follow-up standalone."""
    turns = "\n".join(f"- {h}" for h in history[-4:] if h.strip())
    return [
        {"role": "system", "content": "You rewrite follow-up questions so they can be understood without the "
                                      "conversation. Reply with the rewritten question only."},
        {"role": "user", "content": f"Earlier questions:\n{turns}\n\nFollow-up: {question}\n\n"
                                    "Standalone question:"},
    ]


def accept_condensed(reply: str, question: str) -> str | None:
    """The model's rewrite, if it looks like one question; else None (the rules are used)."""
    text = " ".join(reply.strip().strip("\"'“”").split())
    text = re.sub(r"^(standalone question|question)\s*:\s*", "", text, flags=re.I)
    if not text or len(text) > max(300, 3 * len(question)) or "\n" in reply.strip() or text.count("?") > 1:
        return None
    return text
