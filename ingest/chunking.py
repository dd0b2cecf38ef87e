"""Split documents into chunks sized in the embedder's own tokens.

Embedding models silently truncate long inputs (all-MiniLM-L6-v2 stops at 256
tokens), so a chunk that is too long loses its tail from the index without any
error. The chunker therefore measures with the embedder's tokenizer and
enforces the window as a hard limit, not just a target.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.documents import Chunk, Document, chunk_id

from .loaders import LOADER_VERSION

__all__ = ["Chunker", "CHUNKER_VERSION"]

log = logging.getLogger(__name__)

# Bump when the splitting rules change, so the next ingest re-chunks every file.
CHUNKER_VERSION = 1

# Paragraphs first, then lines, sentences, clauses, words; characters last.
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class Chunker:
    """Token-window-aware recursive splitter that records exact character offsets."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int | Callable[[], int],
        chunk_size: int,
        chunk_overlap: int,
        embedder_name: str = "",
    ) -> None:
        self.count_tokens = count_tokens
        # The window may be a callable: asking a real model for it means loading
        # the model, which an ingest of unchanged files never needs to do.
        self._max_tokens = max_tokens
        self._chunk_size = chunk_size
        self._chunk_overlap = chunk_overlap
        self._splitter: RecursiveCharacterTextSplitter | None = None
        # The effective sizes follow from these and the embedder's window, so
        # the configured values identify the chunking rules.
        self.signature = f"v{CHUNKER_VERSION}|l{LOADER_VERSION}|{embedder_name}|{chunk_size}|{chunk_overlap}"

    @property
    def max_tokens(self) -> int:
        if callable(self._max_tokens):
            self._max_tokens = int(self._max_tokens())
        return self._max_tokens

    @property
    def size(self) -> int:
        """Effective chunk size: the configured one, capped at the window."""
        return min(self._chunk_size, self.max_tokens)

    @property
    def overlap(self) -> int:
        return min(self._chunk_overlap, self.size // 2)

    @property
    def splitter(self) -> RecursiveCharacterTextSplitter:
        if self._splitter is None:
            if self._chunk_size > self.max_tokens:
                log.info("chunk_size %d exceeds the embedder window; using %d", self._chunk_size, self.max_tokens)
            self._splitter = RecursiveCharacterTextSplitter(
                separators=_SEPARATORS,
                keep_separator="end",
                chunk_size=self.size,
                chunk_overlap=self.overlap,
                length_function=self.count_tokens,
                strip_whitespace=True,
            )
        return self._splitter

    def doc_hash(self, document: Document) -> str:
        """Hash of the file content *and* the chunking rules that produced its chunks."""
        key = f"{document.content_hash}|{self.signature}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` of the chunks of ``text``, in order."""
        if not text.strip():
            return []
        if self.count_tokens(text) <= self.size:
            return [(0, len(text))]  # most short documents: one tokenizer call, no splitting
        spans: list[tuple[int, int]] = []
        prev_start, prev_end = -1, 0
        for piece in self.splitter.split_text(text):
            start = self._locate(text, piece, prev_start, prev_end)
            if start is None:
                continue
            spans.extend(self._fit(text, start, start + len(piece)))
            prev_start, prev_end = start, start + len(piece)
        return self._fill_gaps(text, sorted(set(spans)))

    def _fill_gaps(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Guarantee that no text is lost: uncovered text becomes chunks of its own.

        Only text of one repeated pattern can make the placement in ``_locate``
        skip something; ordinary prose never reaches the loop body.
        """
        out: list[tuple[int, int]] = []
        covered_to = 0
        for start, end in spans + [(len(text), len(text))]:
            gap_start, gap_end = covered_to, start
            while gap_start < gap_end and text[gap_start].isspace():
                gap_start += 1
            while gap_end > gap_start and text[gap_end - 1].isspace():
                gap_end -= 1
            if gap_start < gap_end:
                out.extend(self._fit(text, gap_start, gap_end))
            if start < end:
                out.append((start, end))
            covered_to = max(covered_to, end)
        return sorted(set(out))

    @staticmethod
    def _locate(text: str, piece: str, prev_start: int, prev_end: int) -> int | None:
        """Offset of ``piece`` continuing from the previous chunk.

        The splitter returns strings, not positions, and repeated text makes a
        plain ``find`` ambiguous. A chunk starts after the previous one's start,
        no later than its end (with overlap), and reaches past that end: take
        the last occurrence in that range, or else the first one after it.
        Taking the last occurrence can run ahead of the splitter in degenerate
        text (one character repeated); a piece with no occurrence left is then
        already covered by the spans placed so far, and ``None`` says skip it.
        """
        best = -1
        pos = text.find(piece, prev_start + 1)
        while pos != -1 and pos <= prev_end:
            if pos + len(piece) > prev_end:  # a chunk always reaches past its predecessor
                best = pos
            pos = text.find(piece, pos + 1)
        if best == -1:
            best = pos
        return None if best == -1 else best

    def _fit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Cut ``text[start:end]`` into pieces that each fit the embedder window.

        The recursive splitter adds up token counts of pieces, which can differ
        from the count of their concatenation; this makes the limit exact.
        """
        if self.count_tokens(text[start:end]) <= self.max_tokens:
            return [(start, end)]
        out: list[tuple[int, int]] = []
        while start < end:
            lo, hi = start + 1, end
            while lo < hi:  # longest prefix that fits
                mid = (lo + hi + 1) // 2
                if self.count_tokens(text[start:mid]) <= self.max_tokens:
                    lo = mid
                else:
                    hi = mid - 1
            cut = lo
            if cut < end:
                space = text.rfind(" ", start + 1, cut)
                if space > start + (cut - start) // 2:
                    cut = space
            piece_end = cut
            while piece_end > start and text[piece_end - 1].isspace():
                piece_end -= 1
            out.append((start, max(piece_end, start + 1)))
            start = cut
            while start < end and text[start].isspace():
                start += 1
        return out

    def split(self, document: Document) -> list[Chunk]:
        """Chunks of ``document`` with offsets, pages and stable ids."""
        spans = self.spans(document.text)
        doc_hash = self.doc_hash(document)
        chunks = []
        for index, (start, end) in enumerate(spans):
            piece = document.text[start:end]
            page = document.page_at(start)
            chunks.append(
                Chunk(
                    id=chunk_id(document.source, start, piece),
                    source=document.source,
                    title=document.title,
                    index=index,
                    start=start,
                    end=end,
                    text=piece,
                    doc_hash=doc_hash,
                    doc_chunks=len(spans),
                    page=page,
                    page_end=document.page_at(max(start, end - 1)) if page is not None else None,
                )
            )
        return chunks
