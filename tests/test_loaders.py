from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_document, normalise_text
from rag.errors import DocumentError
from tests.conftest import SEEDS
from tests.pdfgen import write_pdf


def test_normalise_collapses_spaces_but_keeps_paragraphs() -> None:
    raw = "Title\r\n\r\n\r\n\tFirst   line\u00a0here  \nsecond\x07 line\n\n\n\nNext\u200b para"
    assert normalise_text(raw) == "Title\n\nFirst line here\nsecond line\n\nNext para"


def test_plain_text_title_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "career-profile.txt"
    path.write_text("Some  text.\n\n\nMore.", encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "Career profile"
    assert doc.text == "Some text.\n\nMore."
    assert doc.page_at(3) is None


def test_markdown_front_matter_gives_title_and_is_not_indexed() -> None:
    doc = load_document(SEEDS / "no-priors-80-quotes.md")
    assert doc.title == "Andrej Karpathy on No Priors 80"
    assert "layout: quote" not in doc.text
    assert doc.text.startswith("Quoting Andrej Karpathy")


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("Intro line\n\n## The Real Title ##\n\nBody.", encoding="utf-8")
    assert load_document(path).title == "The Real Title"


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>My Page</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Heading</h1><p>First <b>bold</b>word para.</p>"
        "<div>Second<br>line</div><noscript>enable js</noscript></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.title == "My Page"
    assert doc.text == "Heading\n\nFirst boldword para.\n\nSecond\nline"


def test_pdf_text_layer_with_page_numbers(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "paper.pdf",
        [["Page one says hello."], ["Page two talks about CS231n."]],
        title="A Paper",
    )
    doc = load_document(path)
    assert doc.title == "A Paper"
    assert "Page one says hello." in doc.text
    at = doc.text.index("CS231n")
    assert doc.page_at(at) == 2
    assert doc.page_at(0) == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
        ("empty.txt", b"", "empty"),
        ("spaces.md", b"   \n\n\t  ", "empty"),
        ("bad.txt", bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50, "not valid UTF-8"),
        ("scan.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("image.png", b"whatever", "unsupported"),
    ],
)
def test_unusable_files_raise_document_error(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=reason):
        load_document(path)


def test_pdf_without_text_layer_is_rejected(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(DocumentError, match="no text layer"):
        load_document(path)


def test_cp1252_fallback_decodes_legacy_text(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Café “quoted” – done".encode("cp1252"))
    assert load_document(path).text == "Café “quoted” – done"


def test_loading_is_deterministic() -> None:
    for path in sorted(SEEDS.iterdir()):
        assert load_document(path) == load_document(path)
