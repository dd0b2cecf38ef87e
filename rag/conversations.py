"""Saved conversations: every question, answer and citation, in SQLite under DATA_DIR.

Why it is built this way:

- **Per-owner scoping.** An owner is the login user, or a per-browser token when
  there is no login. Every method takes ``owner`` and every SQL statement filters
  on it, so one owner can never read, rename, delete or append to another's
  conversation: a foreign id behaves exactly like a missing one (``None``,
  ``False`` or :class:`LookupError`), which also hides whether it exists.
- **WAL and a busy timeout.** The web server calls the store from many threads
  (one connection, guarded by a lock) and several processes may share the file
  (a second server, ``rag`` commands). WAL lets readers run beside the writer;
  writes take the lock up front (``BEGIN IMMEDIATE``) and wait up to 5 s for it.
- **Slimming.** ``Answer.to_dict()`` carries the whole retrieval for the
  inspector, which can be large. An answer whose JSON exceeds 200 KB loses its
  bulkiest non-essential keys; the question, the answer text, its mode, the
  refusal reason, the short answer and the citations are always kept.

Titles and questions are user text: SQL is parameterised only, and the
Markdown export collapses them to one line so they cannot break its structure.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .citations import REFUSAL
from .errors import RagError
from .extract import display_text

__all__ = ["ConversationStore", "Conversation", "Turn", "conversation_markdown", "turn_markdown"]

SCHEMA_VERSION = 1
MAX_ANSWER_BYTES = 200 * 1024
TITLE_FROM_QUESTION = 80
MAX_TITLE = 200
# Kept whatever the size: what the chat and the Markdown export show.
ESSENTIAL = frozenset({"question", "answer", "text", "mode", "refused", "refusal_reason", "short_answer",
                       "citations"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner_updated ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, question TEXT NOT NULL, answer_json TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (conversation_id, idx));
"""


@dataclass
class Turn:
    question: str
    answer: dict  # rag.answer.Answer.to_dict() output, possibly slimmed
    created: str  # ISO-8601 UTC, seconds
    index: int  # 0-based position in the conversation


@dataclass
class Conversation:
    id: str
    owner: str
    title: str
    created: str
    updated: str
    turns: list[Turn] = field(default_factory=list)  # empty in list() results, filled by get()


def _now() -> str:
    # Microseconds in the database, so "newest first" holds within one second.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _seconds(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).isoformat(timespec="seconds")
    except ValueError:
        return stamp


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _slim(answer: dict) -> str:
    """``answer`` as JSON, without its bulkiest non-essential keys while over the cap."""
    data = dict(answer)
    encoded = json.dumps(data, ensure_ascii=False, default=str)
    dropped: list[str] = []
    while len(encoded.encode("utf-8")) > MAX_ANSWER_BYTES:
        optional = [k for k in data if k not in ESSENTIAL and k != "dropped_keys"]
        if not optional:
            break  # only essentials left: kept whatever their size
        bulkiest = max(optional, key=lambda k: len(json.dumps(data[k], ensure_ascii=False, default=str)))
        del data[bulkiest]
        dropped.append(bulkiest)
        data["dropped_keys"] = dropped
        encoded = json.dumps(data, ensure_ascii=False, default=str)
    return encoded


class ConversationStore:
    """Conversations per owner in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise RagError(f"{self.path} was written by a newer version (schema {version}); "
                                   "upgrade, or point DATA_DIR elsewhere")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RagError(f"cannot open the conversations database {self.path}: {exc}; "
                           "move the file aside to start afresh") from exc
        except BaseException:
            self.close()
            raise

    # --- plumbing ----------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RagError("the conversation store is closed")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The thread lock, then SQLite's write lock up front (no deadlocked upgrade between processes)."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    @staticmethod
    def _check_owner(owner: str) -> None:
        if not isinstance(owner, str) or not owner:
            raise ValueError("owner is required (the login user, or a per-browser id)")

    @staticmethod
    def _conversation(row: sqlite3.Row) -> Conversation:
        return Conversation(row["id"], row["owner"], row["title"], _seconds(row["created"]),
                            _seconds(row["updated"]), [])

    # --- public API -------------------------------------------------------------
    def create(self, owner: str, title: str = "") -> Conversation:
        self._check_owner(owner)
        now, cid, title = _now(), secrets.token_urlsafe(12), _one_line(title)[:MAX_TITLE]
        with self._write() as db:
            db.execute("INSERT INTO conversations (id, owner, title, created, updated) VALUES (?, ?, ?, ?, ?)",
                       (cid, owner, title, now, now))
        return Conversation(cid, owner, title, _seconds(now), _seconds(now), [])

    def add_turn(self, owner: str, conversation_id: str, question: str, answer: dict) -> Turn:
        return self._put_turn(owner, conversation_id, question, answer, replace=False)

    def replace_last_turn(self, owner: str, conversation_id: str, question: str, answer: dict) -> Turn:
        """Overwrite the newest turn (for "Regenerate"); with no turn yet, add the first."""
        return self._put_turn(owner, conversation_id, question, answer, replace=True)

    def put_turn(self, owner: str, conversation_id: str, index: int, question: str, answer: dict) -> Turn:
        """Store the turn at position ``index``: the page's own numbering, so the saved
        conversation always mirrors what was shown. An existing turn there is replaced and any
        later ones dropped (a regenerated last answer); past the end, it is appended."""
        return self._put_turn(owner, conversation_id, question, answer, replace=False, at=max(0, int(index)))

    def _put_turn(self, owner: str, cid: str, question: str, answer: dict, replace: bool,
                  at: int | None = None) -> Turn:
        self._check_owner(owner)
        question, payload, now = str(question or "").strip(), _slim(answer), _now()
        with self._write() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone()
            if row is None:
                raise LookupError(f"conversation {cid!r} not found for this user")
            if at is not None:
                db.execute("DELETE FROM turns WHERE conversation_id = ? AND idx > ?", (cid, at))
            last = db.execute("SELECT MAX(idx) FROM turns WHERE conversation_id = ?", (cid,)).fetchone()[0]
            if at is not None and last is not None and last == at:
                replace = True
            if replace and last is not None:
                index = last
                db.execute("UPDATE turns SET question = ?, answer_json = ?, created = ? "
                           "WHERE conversation_id = ? AND idx = ?", (question, payload, _seconds(now), cid, index))
            else:
                index = 0 if last is None else last + 1
                db.execute("INSERT INTO turns (conversation_id, idx, question, answer_json, created) "
                           "VALUES (?, ?, ?, ?, ?)", (cid, index, question, payload, _seconds(now)))
            title = row["title"] or _one_line(question)[:TITLE_FROM_QUESTION].rstrip()
            db.execute("UPDATE conversations SET title = ?, updated = ? WHERE id = ? AND owner = ?",
                       (title, now, cid, owner))
        return Turn(question, json.loads(payload), _seconds(now), index)

    def list(self, owner: str, limit: int = 100) -> list[Conversation]:
        """The owner's conversations, most recently updated first, without their turns."""
        self._check_owner(owner)
        with self._lock:
            rows = self._conn().execute("SELECT * FROM conversations WHERE owner = ? "
                                        "ORDER BY updated DESC, rowid DESC LIMIT ?",
                                        (owner, max(0, int(limit)))).fetchall()
        return [self._conversation(r) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation | None:
        self._check_owner(owner)
        with self._lock:  # one snapshot: the conversation and its turns together
            db = self._conn()
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT * FROM conversations WHERE id = ? AND owner = ?",
                                 (conversation_id, owner)).fetchone()
                turns = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY idx",
                                   (conversation_id,)).fetchall() if row else []
            finally:
                db.execute("COMMIT")
        if row is None:
            return None
        conversation = self._conversation(row)
        for t in turns:
            try:
                answer = json.loads(t["answer_json"])
            except ValueError:
                answer = {"answer": "", "error": "this saved answer could not be read"}
            conversation.turns.append(Turn(t["question"], answer, t["created"], t["idx"]))
        return conversation

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        """Set the title (one line, at most 200 characters); an empty title keeps the old one."""
        self._check_owner(owner)
        title = _one_line(title)[:MAX_TITLE].rstrip()
        with self._write() as db:
            if not title:
                sql, params = "SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
                return db.execute(sql, params).fetchone() is not None
            cur = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                             (title, conversation_id, owner))
            return cur.rowcount > 0

    def delete(self, owner: str, conversation_id: str) -> bool:
        self._check_owner(owner)
        with self._write() as db:
            if db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                          (conversation_id, owner)).fetchone() is None:
                return False
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
            return True

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


# --- Markdown export -----------------------------------------------------------
_FOOTNOTE = re.compile(r"(?<=[\w.,;:!?\"”’)])(?:\[\d{1,3}\])+")  # as rag.extract's
_BLOCK_START = re.compile(r"^[#>+\-=|~_]")
_LIST_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def _inline(text: Any) -> str:
    """One line of Markdown that cannot open a block, start a tag or unbalance emphasis."""
    # Links, images and reference definitions too: an exported file opened in a Markdown
    # viewer must not fetch an image or offer a javascript: link from corpus text.
    # Escaping the parentheses is enough to stop `[x](url)` and `![](url)`; "[1]" markers stay
    # readable, and a leading "[" is escaped so a line cannot become a reference definition.
    line = re.sub(r"([\\*<`()])", r"\\\1", _one_line(text))
    line = re.sub(r"^\[", r"\\[", line)
    line = _LIST_START.sub(r"\1\\\2", line)
    return "\\" + line if _BLOCK_START.match(line) else line


def _plain(passage: str) -> str:
    return _inline(display_text(passage.replace("\0", "")))


def _source_line(n: Any, item: dict) -> str:
    title = item.get("title") or Path(str(item.get("source") or "")).name or "untitled"
    where = f"chars {item.get('start')}–{item.get('end')}"
    if item.get("page"):
        where += f", page {item['page']}"
    return f"[{n}] {_inline(title)} — {_inline(item.get('source', ''))} ({where})"


def _passage(item: dict) -> str:
    """The passage as a blockquote, its evidence span in bold when the offsets fall inside it."""
    start = item.get("start") or 0
    # The corpus's own footnote markers go ("[3]" must not read as a citation); same length, so offsets hold.
    text = _FOOTNOTE.sub(lambda m: "\0" * len(m.group()), str(item.get("text") or ""))
    a, b = item.get("evidence_start"), item.get("evidence_end")
    inside = isinstance(a, int) and isinstance(b, int) and start <= a < b <= start + len(text)
    if inside and _plain(text[a - start:b - start]):
        a, b = a - start, b - start
        parts = [_plain(text[:a]), f"**{_plain(text[a:b])}**", _plain(text[b:])]
        gaps = [" " if a and text[a - 1].isspace() else "", " " if b < len(text) and text[b].isspace() else ""]
        body = (parts[0] + gaps[0] if parts[0] else "") + parts[1] + (gaps[1] + parts[2] if parts[2] else "")
    else:
        body = _plain(text)
    return f"> {body}" if body else ">"


def turn_markdown(turn: Turn | dict) -> str:
    """One answer with its sources: a :class:`Turn`, its ``asdict`` form, or an ``Answer.to_dict()``."""
    if isinstance(turn, Turn):
        question, answer = turn.question, turn.answer
    elif isinstance(turn.get("answer"), dict):
        question, answer = turn.get("question", ""), turn["answer"]
    else:
        question, answer = turn.get("question", ""), turn
    text = answer.get("answer", answer.get("text", "")) or ""
    blocks = [f"### Q: {_inline(question)}"]
    if answer.get("mode") == "error":
        blocks.append(f"**Error — the model could not answer:** {_inline(answer.get('error') or 'unknown error')}")
    elif answer.get("refused"):
        blocks.append(_inline(text or REFUSAL))
        if answer.get("refusal_reason"):
            blocks.append(f"Why: {_inline(answer['refusal_reason'])}")
    else:
        blocks.extend(_inline(p) for p in re.split(r"\n\s*\n", str(text)) if p.strip())
    citations = [c for c in answer.get("citations") or [] if isinstance(c, dict)]
    passages = [p for p in answer.get("passages") or [] if isinstance(p, dict)]
    if citations:
        blocks.append("**Sources**")
        for c in citations:
            blocks += [_source_line(c.get("n"), c), _passage(c)]
    elif answer.get("refused") and passages:
        blocks.append("**Closest passages**")
        for i, p in enumerate(passages, start=1):
            blocks += [_source_line(p.get("n", i), p), _passage(p)]
    return "\n\n".join(blocks) + "\n"


def conversation_markdown(conversation: Conversation) -> str:
    """The whole conversation: title, export date, then every turn, separated by rules."""
    exported = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = f"# {_inline(conversation.title) or 'Untitled conversation'}\n\n_exported {exported}_\n"
    turns = [turn_markdown(t) for t in conversation.turns]
    return "\n---\n\n".join([head, *turns])
