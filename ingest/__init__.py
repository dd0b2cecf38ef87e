"""ingest: turn files into chunks and vectors in the store, incrementally."""

from .chunking import Chunker
from .loaders import SUPPORTED_SUFFIXES, load_document, normalise_text
from .pipeline import IngestReport, ingest, make_chunker, scan_paths

__all__ = [
    "Chunker",
    "IngestReport",
    "SUPPORTED_SUFFIXES",
    "ingest",
    "load_document",
    "make_chunker",
    "normalise_text",
    "scan_paths",
]
