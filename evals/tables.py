"""Aligned two-column text tables for benchmark output."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["two_columns"]


def two_columns(rows: Sequence[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
