"""Read the SQuAD v1.1 dev set: paragraphs as a corpus, questions with their paragraph."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.errors import ConfigError

__all__ = [
    "SquadParagraph", "SquadQuestion", "default_squad2_path", "default_squad_path", "load_squad",
    "paragraph_removed", "pid_of_source", "removed_split", "write_paragraph_files",
]


@dataclass(frozen=True)
class SquadParagraph:
    pid: str  # "<article index>-<paragraph index>", also the corpus file stem
    title: str
    text: str


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    pid: str
    answerable: bool = True  # SQuAD 2.0's is_impossible, inverted
    plausible: tuple[str, ...] = ()  # SQuAD 2.0: the tempting wrong answer of an unanswerable question

    @property
    def article(self) -> str:
        return self.pid.split("-", 1)[0]


def default_squad_path() -> Path:
    """Where the shared SQuAD file sits next to the project checkout."""
    return PROJECT_ROOT.parent / "shared" / "datasets" / "squad-dev-v1.1.json"


def default_squad2_path() -> Path:
    """Where the shared SQuAD 2.0 half (CS224n dev split) sits next to the project checkout."""
    return PROJECT_ROOT.parent / "shared" / "datasets" / "squad2-dev-half.json"


def load_squad(path: Path | None = None) -> tuple[list[SquadParagraph], list[SquadQuestion]]:
    path = path or default_squad_path()
    if not path.is_file():
        raise ConfigError(f"SQuAD file {path} not found; pass --squad PATH to squad-dev-v1.1.json")
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs: list[SquadParagraph] = []
    questions: list[SquadQuestion] = []
    for a, article in enumerate(data):
        for p, para in enumerate(article["paragraphs"]):
            pid = f"{a:02d}-{p:03d}"
            paragraphs.append(SquadParagraph(pid, article["title"].replace("_", " "), para["context"]))
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(ans["text"] for ans in qa["answers"]))
                plausible = tuple(dict.fromkeys(a["text"] for a in qa.get("plausible_answers", [])))
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, pid,
                                               not qa.get("is_impossible", False), plausible))
    return paragraphs, questions


def write_paragraph_files(paragraphs: list[SquadParagraph], folder: Path) -> list[Path]:
    """One Markdown file per paragraph, named by ``pid`` so hits map back to paragraphs.

    The article title goes into front matter, where the loader takes the
    document title from, as it would for any titled document.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for para in paragraphs:
        slug = re.sub(r"\W+", "-", para.title).strip("-")[:40]
        path = folder / f"{para.pid}_{slug}.md"
        title = para.title.replace('"', "'")
        content = f'---\ntitle: "{title}"\n---\n{para.text}\n'
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def pid_of_source(source: str) -> str:
    """The paragraph id encoded in a corpus file name."""
    return Path(source).name.split("_", 1)[0]


# SQuAD 1.1 with each question's own paragraph left out of the index: topic-adjacent
# unanswerable questions at scale (issue 12).
REMOVED_ARTICLES = 16  # articles of SQuAD 1.1 used
REMOVED_TRAIN_ARTICLES = 8  # the first ones fit the answerability model; the rest are held out


def paragraph_removed(
    paragraphs: list[SquadParagraph], questions: list[SquadQuestion],
) -> tuple[list[SquadParagraph], list[SquadQuestion]]:
    """The indexed paragraphs and the asked questions of the paragraph-removed set.

    For the first 16 articles the even paragraphs are indexed; questions on them
    are answerable, questions on the odd (unindexed) paragraphs of the same
    articles are not. Every third question is asked: the set stays large
    (~1,400) and spread over all paragraphs. ``removed_split`` tells train from
    held-out articles.
    """
    articles = sorted({p.pid.split("-")[0] for p in paragraphs}, key=int)[:REMOVED_ARTICLES]
    keep = [p for p in paragraphs if p.pid.split("-")[0] in articles]
    indexed = {p.pid for p in keep if int(p.pid.split("-")[1]) % 2 == 0}
    asked = [q for q in questions if q.article in articles][::3]
    return ([p for p in keep if p.pid in indexed],
            [SquadQuestion(q.qid, q.question, q.answers, q.pid, q.pid in indexed) for q in asked])


def removed_split(question: SquadQuestion) -> str:
    """The split of a paragraph-removed question: "train" for the first eight articles, else "test"."""
    return "train" if int(question.article) < REMOVED_TRAIN_ARTICLES else "test"
