"""The two records that flow from ingest to answers: documents and their chunks."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Chunk", "chunk_id", "assemble"]


@dataclass(frozen=True)
class Document:
    """The normalised text of one source file.

    ``text`` is what chunk offsets index into; loaders are deterministic, so the
    viewer can reload a file and find every chunk at its recorded span.
    ``page_starts`` holds the character offset where each PDF page begins
    (empty for formats without pages).
    """

    source: str
    title: str
    text: str
    content_hash: str
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding character ``offset``, or None without pages."""
        if not self.page_starts:
            return None
        return bisect.bisect_right(self.page_starts, offset)


def chunk_id(source: str, start: int, text: str) -> str:
    """Stable id from a chunk's source, position and content.

    The start offset is part of the key so a passage repeated inside one document
    (a refrain, a boilerplate footer) still gets distinct ids.
    """
    digest = hashlib.sha256(f"{source}\x00{start}\x00{text}".encode("utf-8"))
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class Chunk:
    """A span of a document, small enough for the embedder's input window."""

    id: str
    source: str
    title: str
    index: int
    start: int
    end: int
    text: str
    doc_hash: str
    doc_chunks: int
    page: int | None = None
    page_end: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (Chroma rejects None values)."""
        meta: dict[str, Any] = {
            "source": self.source,
            "title": self.title,
            "chunk_index": self.index,
            "start": self.start,
            "end": self.end,
            "doc_hash": self.doc_hash,
            "doc_chunks": self.doc_chunks,
        }
        if self.page is not None:
            meta["page"] = self.page
            meta["page_end"] = self.page_end if self.page_end is not None else self.page
        meta.update(self.extra)
        return meta

    @classmethod
    def from_record(cls, chunk_id_: str, text: str, meta: dict[str, Any]) -> "Chunk":
        """Rebuild a chunk from what the store returns."""
        known = {"source", "title", "chunk_index", "start", "end", "doc_hash", "doc_chunks", "page", "page_end"}
        return cls(
            id=chunk_id_,
            source=str(meta["source"]),
            title=str(meta.get("title", "")),
            index=int(meta.get("chunk_index", 0)),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            text=text,
            doc_hash=str(meta.get("doc_hash", "")),
            doc_chunks=int(meta.get("doc_chunks", 0)),
            page=int(meta["page"]) if "page" in meta else None,
            page_end=int(meta["page_end"]) if "page_end" in meta else None,
            extra={k: v for k, v in meta.items() if k not in known},
        )


def assemble(chunks: list[Chunk]) -> tuple[str, dict[str, tuple[int, int]]]:
    """A document's text rebuilt from its stored chunks, and where each chunk sits in it.

    Chunks overlap and record their offsets in the original text, so laying
    them out by offset restores it; what lies between two chunks (whitespace
    the chunker dropped) becomes a paragraph break. The viewer shows this
    instead of reading the file, which a replica may not have and which may
    have changed since it was indexed.
    """
    text = ""
    end_orig = 0  # offset in the original text that len(text) corresponds to
    where: dict[str, tuple[int, int]] = {}
    for chunk in sorted(chunks, key=lambda c: (c.start, c.index)):
        if chunk.start >= end_orig:
            if text:
                text += "\n\n" if chunk.start - end_orig > 1 else "\n" * (chunk.start - end_orig)
            begin = len(text)
            text += chunk.text
        else:
            # Overlaps what is already laid out: append only the new tail.
            overlap = end_orig - chunk.start
            begin = len(text) - overlap
            text += chunk.text[overlap:]
        where[chunk.id] = (begin, begin + len(chunk.text))
        end_orig = max(end_orig, chunk.start + len(chunk.text))
    return text, where
