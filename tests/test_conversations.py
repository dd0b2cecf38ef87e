"""Saved conversations: per-owner SQLite store and Markdown export (no models)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from rag.answer import Answer, Citation
from rag.citations import REFUSAL
from rag.conversations import (
    Conversation,
    ConversationStore,
    Turn,
    conversation_markdown,
    turn_markdown,
)
from rag.documents import Chunk
from rag.retrieval import Candidate

# The corpus's own footnote markers, one right after the evidence span: neither may survive the export.
PASSAGE = "The lab opened in 1962.[4] Its first director was Ada Byrne[5], a physicist. It moved in 1980."
DOC_START = 1000  # the passage's offset in its document
EVIDENCE = "Its first director was Ada Byrne"


def cited_answer(question: str = "Who was the first director?") -> dict:
    at = DOC_START + PASSAGE.index(EVIDENCE)
    citation = Citation(n=1, chunk_id="lab-3", source="corpus/lab.md", title="The Lab", text=PASSAGE,
                        start=DOC_START, end=DOC_START + len(PASSAGE), page=2, evidence=EVIDENCE,
                        evidence_start=at, evidence_end=at + len(EVIDENCE))
    return Answer(question=question, standalone_question=question, text="Ada Byrne was the first director [1].",
                  refused=False, mode="answer", sentences=[], citations=[citation], passages=[],
                  retrieval=None).to_dict()


def refused_answer(question: str = "What is the lab's budget?") -> dict:
    chunk = Chunk(id="lab-5", source="corpus/lab.md", title="The Lab", index=5, start=0, end=40,
                  text="Funding came from a private trust.", doc_hash="h", doc_chunks=9)
    return Answer(question=question, standalone_question=question, text=REFUSAL, refused=True, mode="refusal",
                  sentences=[], citations=[], passages=[Candidate(chunk, fused_score=0.2)], retrieval=None,
                  refusal_reason="the passages do not seem to answer this question").to_dict()


@pytest.fixture
def store(tmp_path: Path):
    s = ConversationStore(tmp_path / "data" / "conversations.sqlite3")
    yield s
    s.close()


def test_create_add_get_and_list_order(store: ConversationStore) -> None:
    first = store.create("alice")
    second = store.create("alice")
    store.add_turn("alice", first.id, "Who was the first director?", cited_answer())
    store.add_turn("alice", second.id, "When did it open?", cited_answer("When did it open?"))
    assert [c.id for c in store.list("alice")] == [second.id, first.id]
    store.add_turn("alice", first.id, "And after her?", cited_answer("And after her?"))
    listed = store.list("alice")
    assert [c.id for c in listed] == [first.id, second.id]  # most recently updated first
    assert all(c.turns == [] for c in listed)
    assert len(store.list("alice", limit=1)) == 1

    got = store.get("alice", first.id)
    assert isinstance(got, Conversation) and got.owner == "alice"
    assert [t.question for t in got.turns] == ["Who was the first director?", "And after her?"]
    assert [t.index for t in got.turns] == [0, 1]
    assert got.turns[0].answer == cited_answer()
    assert got.turns[0].created.endswith("+00:00") and len(got.turns[0].created) == 25
    assert store.get("alice", "no-such-id") is None


def test_title_is_the_first_question(store: ConversationStore) -> None:
    conv = store.create("alice")
    assert conv.title == ""
    question = "What   did the lab\nstudy " + "x" * 120
    store.add_turn("alice", conv.id, question, cited_answer(question))
    store.add_turn("alice", conv.id, "A second question", cited_answer())
    title = store.get("alice", conv.id).title
    assert title == " ".join(question.split())[:80]
    assert "\n" not in title and len(title) == 80
    named = store.create("alice", "My notes")
    store.add_turn("alice", named.id, "Anything", cited_answer())
    assert store.get("alice", named.id).title == "My notes"


def test_rename_and_delete(store: ConversationStore, tmp_path: Path) -> None:
    conv = store.create("alice")
    store.add_turn("alice", conv.id, "Q one", cited_answer())
    evil = "'; DROP TABLE conversations; --"
    assert store.rename("alice", conv.id, evil) is True
    assert store.get("alice", conv.id).title == evil
    assert store.rename("alice", conv.id, "   ") is True  # empty keeps the old title
    assert store.get("alice", conv.id).title == evil
    assert store.rename("alice", conv.id, "t" * 500)
    assert store.get("alice", conv.id).title == "t" * 200
    assert store.rename("alice", "no-such-id", "x") is False

    assert store.delete("alice", conv.id) is True
    assert store.get("alice", conv.id) is None
    assert store.list("alice") == []
    assert store.delete("alice", conv.id) is False
    with sqlite3.connect(tmp_path / "data" / "conversations.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0


def test_owners_are_isolated(store: ConversationStore) -> None:
    conv = store.create("alice", "private")
    store.add_turn("alice", conv.id, "Secret question", cited_answer())
    assert store.get("bob", conv.id) is None
    assert store.list("bob") == []
    assert store.rename("bob", conv.id, "mine now") is False
    assert store.delete("bob", conv.id) is False
    with pytest.raises(LookupError):
        store.add_turn("bob", conv.id, "Append?", cited_answer())
    with pytest.raises(LookupError):
        store.replace_last_turn("bob", conv.id, "Replace?", cited_answer())
    kept = store.get("alice", conv.id)
    assert kept.title == "private" and [t.question for t in kept.turns] == ["Secret question"]
    with pytest.raises(ValueError):
        store.list("")


def test_replace_last_turn(store: ConversationStore) -> None:
    conv = store.create("alice")
    with pytest.raises(LookupError):
        store.add_turn("alice", "no-such-id", "Q", cited_answer())
    assert store.replace_last_turn("alice", conv.id, "Only", cited_answer()).index == 0  # nothing to replace: added
    store.add_turn("alice", conv.id, "Second", cited_answer())
    turn = store.replace_last_turn("alice", conv.id, "Second", refused_answer("Second"))
    assert isinstance(turn, Turn) and turn.index == 1
    got = store.get("alice", conv.id)
    assert [t.question for t in got.turns] == ["Only", "Second"]
    assert got.turns[0].answer["refused"] is False and got.turns[1].answer["refused"] is True


def test_persists_across_stores_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "conversations.sqlite3"
    one = ConversationStore(path)
    conv = one.create("alice")
    one.add_turn("alice", conv.id, "Who was the first director?", cited_answer())
    one.close()
    two = ConversationStore(path)
    try:
        got = two.get("alice", conv.id)
        assert got is not None and got.title == "Who was the first director?"
        assert got.turns[0].answer["citations"][0]["evidence"] == EVIDENCE
    finally:
        two.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_add_turn_from_two_connections(tmp_path: Path) -> None:
    """8 threads over two stores (two SQLite connections, as two processes would have): every turn lands."""
    path = tmp_path / "conversations.sqlite3"
    stores = [ConversationStore(path), ConversationStore(path)]
    conv = stores[0].create("alice")
    answer, errors = cited_answer(), []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                stores[n % 2].add_turn("alice", conv.id, f"q{n}-{i}", answer)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    turns = stores[1].get("alice", conv.id).turns
    assert sorted(t.question for t in turns) == sorted(f"q{n}-{i}" for n in range(8) for i in range(10))
    assert [t.index for t in turns] == list(range(80))
    for s in stores:
        s.close()


def test_turn_markdown_has_sources_and_bold_evidence() -> None:
    md = turn_markdown({"question": "Who was the first director?", "answer": cited_answer(), "created": "", "index": 0})
    assert md.startswith("### Q: Who was the first director?\n")
    assert "Ada Byrne was the first director [1]." in md
    assert "**Sources**" in md
    assert f"[1] The Lab — corpus/lab.md (chars 1000–{DOC_START + len(PASSAGE)}, page 2)" in md
    quote = next(line for line in md.splitlines() if line.startswith("> "))
    assert f"**{EVIDENCE}**" in quote
    assert quote == f"> The lab opened in 1962. **{EVIDENCE}**, a physicist. It moved in 1980."  # footnotes gone
    assert turn_markdown(cited_answer()) == md  # an Answer.to_dict() exports the same


def test_refusal_markdown_gives_the_reason_and_closest_passages() -> None:
    md = turn_markdown(Turn("What is the lab's budget?", refused_answer(), "2024-01-01T00:00:00+00:00", 0))
    assert REFUSAL in md
    assert "Why: the passages do not seem to answer this question" in md
    assert "**Closest passages**" in md
    assert "> Funding came from a private trust." in md
    assert "**Sources**" not in md


def test_conversation_markdown_structure_survives_hostile_questions(store: ConversationStore) -> None:
    conv = store.create("alice")
    hostile = "Hi\n\n# Injected heading\n---\n<script>alert(1)</script> **bold"
    store.add_turn("alice", conv.id, hostile, cited_answer(hostile))
    store.add_turn("alice", conv.id, "What is the lab's budget?", refused_answer())
    md = conversation_markdown(store.get("alice", conv.id))
    lines = md.splitlines()
    assert lines[0] == "# Hi # Injected heading --- \\<script>alert\\(1\\)\\</script> \\*\\*bold"  # one line
    assert lines[2].startswith("_exported ") and lines[2].endswith("_")
    questions = [line for line in lines if line.startswith("### Q: ")]
    assert len(questions) == 2 and [line for line in lines if line.startswith("#")] == [lines[0], *questions]
    assert lines.count("---") == 2  # one rule before each turn, no injected one
    assert re.search(r"(?<!\\)<script>", md) is None and "\\<script>" in md  # no live tag
    assert "Why: the passages do not seem to answer this question" in md


def test_oversized_answer_is_slimmed_but_keeps_citations(store: ConversationStore, tmp_path: Path) -> None:
    answer = cited_answer()
    answer["retrieval"] = {"candidates": [{"text": "y" * 1000} for _ in range(300)]}
    answer["sentences"] = [{"text": "s"}]
    assert len(json.dumps(answer)) > 200 * 1024
    conv = store.create("alice")
    stored = store.add_turn("alice", conv.id, "Who?", answer).answer
    assert "retrieval" not in stored
    assert stored["sentences"] == [{"text": "s"}]  # only as much as needed goes
    for key in ("question", "answer", "mode", "refused", "refusal_reason", "short_answer", "citations"):
        assert stored[key] == answer[key]
    with sqlite3.connect(tmp_path / "data" / "conversations.sqlite3") as db:
        raw = db.execute("SELECT answer_json FROM turns").fetchone()[0]
    assert len(raw.encode()) <= 200 * 1024
    assert store.get("alice", conv.id).turns[0].answer == stored
    small = cited_answer()
    assert store.add_turn("alice", conv.id, "Small", small).answer == small  # under the cap: as given


def test_exported_markdown_has_no_live_links_or_images_from_corpus_text() -> None:
    from rag.conversations import _inline

    line = _inline("[x]: http://evil.example see ![](https://evil.example/p.png) and [x](javascript:alert(1)) [1]")
    assert "](" not in line and not line.startswith("[")  # no link, image or reference definition
    assert line.endswith("[1]")  # citation markers stay readable
