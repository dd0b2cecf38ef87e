"""Read source files into normalised :class:`~rag.documents.Document` text.

Loaders are deterministic: the same bytes always give the same text, so chunk
offsets recorded at ingest stay valid when the viewer reloads the file later.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from rag.documents import Document
from rag.errors import DocumentError

__all__ = ["SUPPORTED_SUFFIXES", "load_document", "normalise_text", "read_text_bytes"]

_SNIFF_BYTES = 8192
_MAX_CONTROL_SHARE = 0.05

# Zero-width characters and the BOM carry no meaning but break phrase matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
#: Bump when what a loader extracts changes: documents are then re-chunked on the next ingest.
LOADER_VERSION = 2

_HSPACE = re.compile(r"[^\S\n]+")  # any whitespace except newline
_MANY_BREAKS = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Collapse runs of spaces, keep line and paragraph breaks, drop control characters.

    A line break survives as ``\\n``; any run of blank lines becomes one blank
    line (``\\n\\n``), the paragraph break the chunker splits on first.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_BREAKS.sub("\n\n", "\n".join(lines)).strip()


def read_text_bytes(path: Path, data: bytes) -> str:
    """Decode bytes as UTF-8, falling back to cp1252; refuse binary data."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise DocumentError(str(path), "binary file (contains NUL bytes), skipped")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:_SNIFF_BYTES]
        controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
        if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
            raise DocumentError(str(path), "looks binary (many control characters), skipped")
        return text
    raise DocumentError(str(path), "not valid UTF-8 or cp1252 text, skipped")


def _title_from_name(path: Path) -> str:
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def _load_markdown(path: Path, data: bytes) -> tuple[str, str, tuple[int, ...]]:
    raw = read_text_bytes(path, data).replace("\r\n", "\n")
    title = ""
    front = _FRONT_MATTER.match(raw)
    if front:
        # Front matter is page metadata, not prose: keep its title, drop the rest.
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        raw = raw[front.end():]
    if not title:
        heading = _MD_HEADING.search(raw)
        title = heading.group(1) if heading else _title_from_name(path)
    return title, normalise_text(raw), ()


# Page chrome that copy-pasted web articles carry in their first lines: bylines,
# avatar captions, share buttons. Alone on a line near the top, it is never prose.
_CHROME = re.compile(
    r"^(?:published(?: on)?|authors?|by|name|twitter|x|linkedin|github|share|tweet|follow|subscribe|"
    r"[•·*-]?\s*avatar|read more|min read|\d+ min read)$",
    re.I,
)
_HEADER_LINES = 40


def drop_page_chrome(text: str) -> str:
    """``text`` without the byline/avatar/share lines of its header (web pages saved as text)."""
    lines = text.split("\n")
    kept = [line for i, line in enumerate(lines) if i >= _HEADER_LINES or not _CHROME.match(line.strip())]
    return normalise_text("\n".join(kept))


def _heading_title(text: str) -> str | None:
    """A first line that reads as a title: short, no full stop, followed by a blank line or prose."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if 8 <= len(first) <= 120 and not first.endswith((".", "?", "!", ",", ";")) and rest.strip():
        return first
    return None


def _load_plain(path: Path, data: bytes) -> tuple[str, str, tuple[int, ...]]:
    text = drop_page_chrome(normalise_text(read_text_bytes(path, data)))
    return _heading_title(text) or _title_from_name(path), text, ()


_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th",
    "tr", "ul",
}
_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]


def _load_html(path: Path, data: bytes) -> tuple[str, str, tuple[int, ...]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text_bytes(path, data), "html.parser")
    title_tag = soup.find("title")
    h1 = soup.find("h1")
    title = (title_tag.get_text(" ", strip=True) if title_tag else "") or (
        h1.get_text(" ", strip=True) if h1 else ""
    )
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    # get_text() glues inline and block elements alike; mark block boundaries
    # so paragraphs stay paragraphs and "<b>a</b>b" stays one word.
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n" if tag.name != "br" else "\n")
        tag.insert_after("\n\n" if tag.name != "br" else "")
    return title or _title_from_name(path), normalise_text(soup.get_text()), ()


def _load_pdf(path: Path, data: bytes) -> tuple[str, str, tuple[int, ...]]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [normalise_text(page.extract_text() or "") for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(str(path), f"unreadable PDF ({exc.__class__.__name__}), skipped") from None
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for page_text in pages:
        starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + 2  # the "\n\n" that joins pages
    text = "\n\n".join(parts)
    if not text.strip():
        raise DocumentError(str(path), "PDF has no text layer (scanned images?), skipped")
    return str(meta_title).strip() or _title_from_name(path), text, tuple(starts)


_LOADERS: dict[str, Callable[[Path, bytes], tuple[str, str, tuple[int, ...]]]] = {
    ".txt": _load_plain,
    ".text": _load_plain,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
}
SUPPORTED_SUFFIXES = frozenset(_LOADERS)


def load_document(path: Path, source: str | None = None, data: bytes | None = None) -> Document:
    """Load one file; raises :class:`DocumentError` when it cannot be used.

    ``data`` may carry bytes already read (ingest hashes them first), so a file
    is read once per ingest.
    """
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise DocumentError(str(path), f"unsupported file type {path.suffix or '(none)'!r}")
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DocumentError(str(path), f"cannot read ({exc.strerror or exc}), skipped") from None
    if not data.strip():
        raise DocumentError(str(path), "empty file, skipped")
    title, text, page_starts = loader(path, data)
    if not text:
        raise DocumentError(str(path), "no text after extraction, skipped")
    return Document(
        source=source or str(path),
        title=title,
        text=text,
        content_hash=hashlib.sha256(data).hexdigest(),
        page_starts=page_starts,
    )
