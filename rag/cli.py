"""The ``rag`` command line: a thin edge over the library.

Every subcommand builds :class:`~rag.config.Settings` from its flags, calls the
library, and turns :class:`~rag.errors.RagError` into a one-line message and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .config import Settings, load_settings
from .errors import RagError

__all__ = ["main", "build_parser"]

# Flags shared by every subcommand, mapped one-to-one onto Settings fields.
_SETTING_FLAGS: list[tuple[str, str, type, str]] = [
    ("--data-dir", "data_dir", str, "folder for the store, indexes and logs (RAG_DATA_DIR)"),
    ("--collection", "collection", str, "Chroma collection name (RAG_COLLECTION)"),
    ("--chroma-host", "chroma_host", str, "use a Chroma server at this host (RAG_CHROMA_HOST)"),
    ("--chroma-port", "chroma_port", int, "port of the Chroma server (RAG_CHROMA_PORT)"),
    ("--embedder", "embedder", str, "sentence-transformers | openai | fake (RAG_EMBEDDER)"),
    ("--embed-model", "embed_model", str, "embedding model folder or name (RAG_EMBED_MODEL)"),
    ("--embed-base-url", "embed_base_url", str, "OpenAI-compatible embeddings URL (RAG_EMBED_BASE_URL)"),
    ("--chunk-size", "chunk_size", int, "chunk length in embedder tokens (RAG_CHUNK_SIZE)"),
    ("--chunk-overlap", "chunk_overlap", int, "tokens shared by neighbouring chunks (RAG_CHUNK_OVERLAP)"),
]


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML config file (default: ./rag.toml if present)")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens in detail")
    for flag, dest, kind, help_ in _SETTING_FLAGS:
        common.add_argument(flag, dest=dest, type=kind, default=None, help=help_)
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_parser()
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Grounded Q&A over your documents, with checked citations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("ingest", parents=[common], help="index documents into the store")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: seeds/)")
    p.add_argument("--rebuild", action="store_true", help="drop the store and index from scratch")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("status", parents=[common], help="show what is indexed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("bench", parents=[common], help="measure speed on this machine")
    p.add_argument("target", choices=["ingest"], help="what to measure")
    p.add_argument("--squad", metavar="FILE", help="SQuAD v1.1 dev JSON (default: ../shared/datasets/)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N paragraphs")
    p.add_argument("--out", metavar="DIR", default="bench-results", help="folder for the JSON results")
    p.set_defaults(func=_cmd_bench)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {dest: getattr(args, dest, None) for _, dest, _, _ in _SETTING_FLAGS}
    return load_settings(args.config, **overrides)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import ingest

    settings = _settings(args)
    report = ingest(
        args.paths or None,
        settings,
        rebuild=args.rebuild,
        progress=not args.no_progress and sys.stderr.isatty(),
        warn=_warn,
    )
    print(report.summary())
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from .store import open_store

    settings = _settings(args)
    info = open_store(settings).info()
    data: dict[str, Any] = {
        "store": info.location,
        "documents": info.documents,
        "chunks": info.chunks,
        "embedder": info.embedder,
        "dimension": info.dimension,
        "last_ingest": info.last_ingest,
        "last_ingest_summary": info.last_summary,
        "configured_embedder": settings.embedder,
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key.replace('_', ' '):<{width}}  {value if value is not None else '-'}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evals.bench_ingest import environment, format_ingest_bench, run_ingest_bench, write_json

    settings = _settings(args)
    print("environment: " + ", ".join(f"{k}={v}" for k, v in environment().items()))
    result = run_ingest_bench(
        Path(args.squad) if args.squad else None, args.limit, settings, progress=sys.stderr.isatty()
    )
    print(format_ingest_bench(result))
    print(f"results written to {write_json(result, Path(args.out))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish (the store stays consistent)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
