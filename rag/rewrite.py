"""Turn a follow-up question into a standalone one, using the chat history.

"and when did he leave?" after "When did Karpathy join Tesla?" must retrieve
Tesla passages. A 135M model cannot be trusted to rewrite questions, so this
is rule-based and deterministic: pronouns are resolved to the last named
subject, and the previous question's topic words are carried along.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .text import STOPWORDS, names, words

__all__ = ["is_follow_up", "standalone_question"]

_PRONOUNS = {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "it", "its", "this", "that", "there", "then"}
_FOLLOW_UP_OPENERS = re.compile(r"^\s*(and|but|also|so|what about|how about|and what about|then|why)\b", re.I)
_QUESTION_WORDS = {"what", "when", "where", "who", "whom", "why", "how", "which", "did", "does", "do", "is", "was", "were", "are"}


def is_follow_up(question: str) -> bool:
    """True for questions that lean on the previous turn ("and when did he leave?")."""
    ws = words(question)
    if not ws:
        return False
    if _FOLLOW_UP_OPENERS.match(question):
        return True
    has_pronoun = any(w in _PRONOUNS for w in ws)
    content = [w for w in ws if w not in STOPWORDS and w not in _QUESTION_WORDS]
    return (has_pronoun and not names(question)) or len(content) <= 1


def _subject(previous: str) -> str | None:
    found = [n for n in re.findall(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", previous)]
    people = [f for f in found if f.lower() not in _QUESTION_WORDS and f.lower() not in STOPWORDS]
    return people[0].removesuffix("'s").removesuffix("’s") if people else None


def standalone_question(question: str, history: Sequence[str]) -> str:
    """``question`` made self-contained using the user's earlier questions (oldest first)."""
    question = question.strip()
    previous = next((h.strip() for h in reversed(history) if h and h.strip()), "")
    if not previous or not is_follow_up(question):
        return question
    subject = _subject(previous)
    rewritten = _FOLLOW_UP_OPENERS.sub("", question, count=1).strip(" ,") or question
    if subject:
        rewritten = re.sub(r"\b(he|she|they|him|her|them)\b", subject, rewritten, count=1, flags=re.I)
        rewritten = re.sub(r"\b(his|their)\b", f"{subject}'s", rewritten, count=1, flags=re.I)
    have = {w.lower() for w in re.findall(r"[\w'’-]+", rewritten)}
    topic = [
        w for w in re.findall(r"[\w'’-]+", previous)
        if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS and w.lower() not in have
    ]
    rewritten = rewritten[:1].upper() + rewritten[1:]
    if topic:
        # "about" is a stopword: it joins the carried topic without adding a search term.
        rewritten = f"{rewritten.rstrip('?')} (about {' '.join(dict.fromkeys(topic))})?"
    return rewritten
