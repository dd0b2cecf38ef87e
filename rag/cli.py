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
    ("--llm", "llm", str, "llamacpp | openai | replay | fake (RAG_LLM)"),
    ("--llm-model", "llm_model", str, "GGUF file, or model name on the server (RAG_LLM_MODEL)"),
    ("--llm-base-url", "llm_base_url", str, "OpenAI-compatible server URL (RAG_LLM_BASE_URL)"),
    ("--llm-api-key", "llm_api_key", str, "API key for the openai backend (RAG_LLM_API_KEY, OPENAI_API_KEY)"),
    ("--llm-timeout", "llm_timeout", float, "seconds to wait for a remote LLM (RAG_LLM_TIMEOUT)"),
    ("--replay-file", "replay_file", str, "scripted answers for --llm replay (RAG_REPLAY_FILE)"),
    ("--replay-variant", "replay_variant", str, "which scripted variant to replay (RAG_REPLAY_VARIANT)"),
    ("--top-k", "top_k", int, "passages given to the model (RAG_TOP_K)"),
    ("--temperature", "temperature", float, "sampling temperature (RAG_TEMPERATURE)"),
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
    p.add_argument("--rebuild", action="store_true",
                   help="index from scratch into a new collection that replaces the current one when complete")
    p.add_argument("--label", metavar="NAME",
                   help="source label documents are keyed under (default: the folder's name), e.g. seeds/intro.md")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("ask", parents=[common], help="answer a question from the corpus, with sources")
    p.add_argument("question", help="the question (quote it)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--draft", action="store_true", help="also print the model's unchecked draft")
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser("eval", parents=[common], help="run a question set and score the answers")
    p.add_argument("--dataset", metavar="FILE", help="JSONL questions (default: evals/datasets/dev.jsonl)")
    p.add_argument("--out", metavar="DIR", help="folder for results.jsonl, summary.json, report.md "
                   "(default: DATA_DIR/evals/latest, which the web chat shows)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    p.add_argument("--judge", choices=["offline", "llm"], default="offline",
                   help="faithfulness judge: offline (default, deterministic) or the configured LLM too")
    p.add_argument("--squad", metavar="FILE", help="instead: SQuAD v1.1 dev JSON, in a collection of its own")
    p.add_argument("--retrieval-only", action="store_true", help="with --squad: score retrieval on every question")
    p.add_argument("--paragraph-removed", action="store_true",
                   help="with --squad: refusal when each question's own paragraph is left out of the index "
                   "(held-out articles; the report plots the trade-off curve)")
    p.add_argument("--squad2", metavar="FILE",
                   help="instead: refusal on SQuAD 2.0 (answerable vs adversarial unanswerable), in its own collection")
    p.add_argument("--fooled", type=float, default=0.0, metavar="SHARE",
                   help="with --squad2 --llm replay: the scripted model answers this share of unanswerable "
                   "questions with the passage sentence holding SQuAD's plausible wrong answer")
    p.add_argument("--judge-check", action="store_true",
                   help="instead: the verifier's precision/recall on the labelled set (evals/datasets/verification.jsonl)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("calibrate", parents=[common],
                       help="fit the refusal operating point to your labelled questions; write it to the config")
    p.add_argument("--dataset", metavar="FILE", required=True,
                   help="JSONL with 'question' and 'answerable' (true/false) per line")
    p.add_argument("--max-wrong-refusals", type=float, default=None,
                   help="target: refuse at most this share of answerable questions (default: the setting, 0.10)")
    p.add_argument("--write", metavar="TOML", default=None,
                   help="config file to write answerability_threshold to (default: --config, else ./rag.toml)")
    p.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("serve", parents=[common], help="serve the web chat (127.0.0.1:7860)")
    p.add_argument("--host", dest="host", default=None, help="address to bind (RAG_HOST; default 127.0.0.1)")
    p.add_argument("--port", dest="port", type=int, default=None, help="port (RAG_PORT; default 7860)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("api", parents=[common], help="serve the OpenAI-compatible API (127.0.0.1:8000/v1)")
    p.add_argument("--host", dest="host", default=None, help="address to bind (RAG_HOST; default 127.0.0.1; "
                   "any other address needs RAG_API_KEY)")
    p.add_argument("--port", dest="port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=_cmd_api)

    p = sub.add_parser("status", parents=[common], help="show what is indexed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("bench", parents=[common], help="measure speed on this machine")
    p.add_argument("target", choices=["ingest", "retrieval", "answer", "all"], nargs="?", default="all",
                   help="what to measure (default: all)")
    p.add_argument("--quick", action="store_true", help="a small run (under a minute or two) for smoke tests")
    p.add_argument("--squad", metavar="FILE", help="SQuAD v1.1 dev JSON (default: ../shared/datasets/)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N paragraphs")
    p.add_argument("--questions", type=int, metavar="N", help="retrieval: score N questions spread over the set")
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
        label=args.label,
    )
    print(report.summary())
    return 0


def _excerpt(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _location(source: str, start: int, end: int, page: int | None) -> str:
    from pathlib import Path

    where = f"{Path(source).name}, chars {start}–{end}"
    return f"{where}, page {page}" if page else where


def _print_answer(answer: Any, show_draft: bool) -> None:
    if answer.mode == "error":
        print(f"error: {answer.error}", file=sys.stderr)
    else:
        print(answer.text)
    for warning in answer.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if show_draft:
        print(f"\n(draft, unchecked) {answer.draft.strip()}")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.n}] {c.title} — {_location(c.source, c.start, c.end, c.page)}")
            print(f"    “{_excerpt(c.evidence or c.text)}”")
    elif answer.passages:
        print("\nClosest passages:" if answer.refused else "\nRetrieved passages:")
        for n, p in enumerate(answer.passages, start=1):
            print(f"[{n}] {p.chunk.title} — {_location(p.chunk.source, p.chunk.start, p.chunk.end, p.chunk.page)}")
            print(f"    “{_excerpt(p.chunk.text, 200)}”")


def _cmd_ask(args: argparse.Namespace) -> int:
    from .answer import Answerer

    settings = _settings(args)
    answerer = Answerer(settings)
    answer = answerer.ask(args.question)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_answer(answer, args.draft)
    return 1 if answer.mode == "error" else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evals.api import run_and_report

    settings = _settings(args)
    if args.judge_check:
        from evals.judge_check import judge_check

        result = judge_check(settings)
        print(json.dumps(result, indent=2))
        return 0
    if args.squad2:
        from evals.squad_eval import run_squad2_eval

        result = run_squad2_eval(settings, Path(args.squad2), args.limit, Path(args.out) if args.out else None,
                                 progress=sys.stderr.isatty(), fooled=args.fooled)
        print(json.dumps(result, indent=2))
        return 0
    if args.paragraph_removed and not args.squad:
        print("error: --paragraph-removed needs --squad FILE (SQuAD v1.1 dev JSON)", file=sys.stderr)
        return 2
    if args.squad and args.paragraph_removed:
        from evals.squad_eval import run_refusal_eval

        result = run_refusal_eval(settings, Path(args.squad), True, args.limit, Path(args.out) if args.out else None,
                                  progress=sys.stderr.isatty(), fooled=args.fooled)
        print(json.dumps(result, indent=2))
        return 0
    if args.squad:
        from evals.squad_eval import run_squad_eval

        result = run_squad_eval(settings, Path(args.squad), args.limit, args.retrieval_only,
                                Path(args.out) if args.out else None, progress=sys.stderr.isatty())
        print(json.dumps(result, indent=2))
        return 0
    summary, report, problems = run_and_report(
        settings,
        Path(args.dataset) if args.dataset else None,
        Path(args.out) if args.out else None,
        args.limit,
        progress=sys.stderr.isatty(),
        judge=args.judge,
    )
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(json.dumps(summary, indent=2))
    print(f"report written to {report}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evals.calibrate import calibrate, write_threshold

    settings = _settings(args)
    result = calibrate(settings, Path(args.dataset), args.max_wrong_refusals)
    print(f"{result.questions} questions ({result.answerable} answerable): threshold {result.threshold:.4f} -> "
          f"unanswerable refused {result.unanswerable_refused}, answerable refused {result.answerable_refused}")
    if not args.dry_run:
        target = Path(args.write or args.config or "rag.toml")
        write_threshold(target, result.threshold)
        print(f"answerability_threshold = {result.threshold} written to {target}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ui import serve

    settings = _settings(args)
    overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k) is not None}
    serve(settings.model_copy(update=overrides) if overrides else settings)
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    from .api import serve_api

    settings = _settings(args)
    if args.host is not None:
        settings = settings.model_copy(update={"host": args.host})
    serve_api(settings, args.port)
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
    from dataclasses import asdict
    from pathlib import Path

    from evals import bench_answer, bench_ingest, bench_retrieval, bench_scale

    settings = _settings(args)
    env = bench_ingest.environment()
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    squad = Path(args.squad) if args.squad else None
    out = Path(args.out)
    progress = sys.stderr.isatty()
    quick = args.quick
    targets = ["ingest", "retrieval", "answer"] if args.target == "all" else [args.target]
    results: dict[str, Any] = {"environment": env, "quick": quick}
    if "ingest" in targets:
        ingest_result = bench_ingest.run_ingest_bench(squad, args.limit or (200 if quick else None), settings, progress)
        print("\n== ingest\n" + bench_ingest.format_ingest_bench(ingest_result))
        results["ingest"] = asdict(ingest_result)
    if "retrieval" in targets:
        paragraphs = args.limit or (200 if quick else None)
        quality = bench_retrieval.run_retrieval_bench(
            settings, squad, paragraphs, args.questions or (300 if quick else None), progress=progress
        )
        print("\n== retrieval quality\n" + bench_retrieval.format_retrieval_bench(quality))
        sizes = (2_000, 5_000) if quick else (2_000, 20_000, 100_000)
        scale = bench_scale.run_scale_bench(settings, squad, sizes, 50 if quick else 200, progress, paragraphs)
        print("\n== retrieval latency vs corpus size\n" + bench_scale.format_scale_bench(scale))
        results["retrieval"] = asdict(quality)
        results["scale"] = asdict(scale)
        results["scale_plot"] = str(bench_scale.plot_scale(scale, out))
    if "answer" in targets:
        answer = bench_answer.run_answer_bench(settings, rounds=1 if quick else 2)
        print("\n== answering\n" + bench_answer.format_answer_bench(answer))
        results["answer"] = asdict(answer)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench_{args.target}{'_quick' if quick else ''}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {path}")
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
