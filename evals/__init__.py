"""evals: benchmarks and the evaluation suite (datasets live in evals/datasets/)."""

from .squad import SquadParagraph, SquadQuestion, default_squad_path, load_squad, write_paragraph_files

__all__ = [
    "SquadParagraph",
    "SquadQuestion",
    "default_squad_path",
    "load_squad",
    "write_paragraph_files",
]
