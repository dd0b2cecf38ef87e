"""One call for the CLI and the web chat: run a dataset, score it, write the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import ConfigError

from .calibrate import DEV_SET
from .report import write_report
from .runner import load_dataset, run_eval, summarise

__all__ = ["latest_dir", "run_and_report"]


def latest_dir(settings: Settings) -> Path:
    """Where the most recent default eval run is written (and the web chat reads it)."""
    return settings.data_dir / "evals" / "latest"


def run_and_report(
    settings: Settings,
    dataset: Path | None = None,
    out: Path | None = None,
    limit: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    judge: str = "offline",
) -> tuple[dict[str, Any], Path, list[str]]:
    """Returns (summary, path of report.md, problems with the dataset's lines)."""
    dataset = dataset or DEV_SET
    if not dataset.is_file():
        raise ConfigError(f"dataset {dataset} not found; pass --dataset FILE.jsonl")
    items, problems = load_dataset(dataset)
    if limit:
        items = items[:limit]
    if not items:
        raise ConfigError(f"dataset {dataset} has no usable questions")
    callback = progress if callable(progress) else None
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc="questions", unit="q")
        callback = lambda i, n: bar.update(1)  # noqa: E731
    try:
        records = run_eval(settings, items, progress=callback, judge=judge)
    finally:
        if bar is not None:
            bar.close()
    summary = summarise(records)
    summary["dataset"] = str(dataset)
    report = write_report(records, summary, out or latest_dir(settings))
    return summary, report, problems
