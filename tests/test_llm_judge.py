from __future__ import annotations

import json
from pathlib import Path

from evals.llm_judge import LLMJudge, parse_json_object
from rag.config import Settings
from rag.llm import FakeLLM


def test_json_is_found_inside_prose_and_fences() -> None:
    assert parse_json_object('Sure! ```json\n{"supported": true}\n```') == {"supported": True}
    assert parse_json_object("no json here") is None
    assert parse_json_object("[1, 2]") is None
    assert parse_json_object('{"broken": }') is None


def scripted(claims: list[str], verdicts: dict[str, object]) -> FakeLLM:
    def reply(messages) -> str:  # noqa: ANN001
        prompt = messages[-1]["content"]
        if prompt.startswith("Split"):
            return json.dumps({"claims": claims})
        claim = prompt.split("Claim: ", 1)[1].split("\n", 1)[0]
        verdict = verdicts[claim]
        return verdict if isinstance(verdict, str) else json.dumps({"supported": verdict})

    return FakeLLM(reply)


def test_sentence_is_supported_only_if_every_claim_is() -> None:
    judge = LLMJudge(scripted(["A", "B"], {"A": True, "B": True}))
    assert judge.judge("A and B.", ["passage"]) is True
    judge = LLMJudge(scripted(["A", "B"], {"A": True, "B": False}))
    assert judge.judge("A and B.", ["passage"]) is False


def test_malformed_replies_are_retried_then_undecided() -> None:
    replies = iter(['{"claims": ["A"]}', "yes it is", '{"supported": true}'])
    judge = LLMJudge(FakeLLM(lambda m: next(replies)), retries=2)
    assert judge.judge("A.", ["p"]) is True and judge.malformed == 1
    judge = LLMJudge(FakeLLM(["not json"]), retries=1)
    assert judge.judge("A.", ["p"]) is None  # never guessed
    assert judge.malformed == 4  # split: 2 tries, verify: 2 tries


def test_eval_with_the_llm_judge_reports_its_faithfulness(settings: Settings) -> None:
    from evals.runner import EvalItem, run_eval, summarise
    from ingest import ingest
    from rag.answer import Answerer
    from tests.conftest import SEEDS

    s = settings.model_copy(update={"llm": "fake", "min_dense_score": 0.1, "min_query_coverage": 0.5,
                                    "support_threshold": 0.5, "min_quote_relevance": 0.45})
    ingest([SEEDS], s, progress=False)

    def reply(messages) -> str:  # noqa: ANN001
        prompt = messages[-1]["content"]
        if prompt.startswith("Split"):
            return json.dumps({"claims": [prompt.split("Sentence: ", 1)[1]]})
        if prompt.startswith("Passages"):
            return '{"supported": true}'
        return FakeLLM()._reply(messages)  # answering: the extractive fake

    answerer = Answerer(s, llm=FakeLLM(reply))
    items = [EvalItem("q1", "Under whom did Karpathy work at Stanford University?", ["Fei-Fei Li"])]
    records = run_eval(s, items, answerer=answerer, judge="llm")
    summary = summarise(records)
    assert summary["faithfulness_llm_judge"] == 1.0 and summary["llm_judge_undecided"] == 0


def test_squad_eval_on_a_small_file(settings: Settings, tmp_path: Path) -> None:
    from evals.squad_eval import run_squad_eval

    data = {"data": [
        {"title": "Zebras", "paragraphs": [{"context": "Zebras have black and white stripes that confuse biting flies.",
                                            "qas": [{"id": "z1", "question": "What do zebra stripes confuse?",
                                                     "answers": [{"text": "biting flies", "answer_start": 0}]}]}]},
        {"title": "Volcanoes", "paragraphs": [{"context": "Mount Etna in Sicily is one of the most active volcanoes.",
                                               "qas": [{"id": "v1", "question": "Where is Mount Etna?",
                                                        "answers": [{"text": "Sicily", "answer_start": 0}]}]}]},
    ]}
    path = tmp_path / "mini-squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    s = settings.model_copy(update={"llm": "fake", "min_dense_score": 0.0, "min_query_coverage": 0.0,
                                    "min_quote_relevance": 0.0})
    only = run_squad_eval(s, path, retrieval_only=True, out=tmp_path / "r", progress=False)
    assert only["questions"] == 2 and only["rankings"]["weighted (default)"]["hit@1"] == 1.0
    full = run_squad_eval(s, path, out=tmp_path / "a", progress=False)
    assert full["questions"] == 2 and full["hit@1"] == 1.0 and full["contains_answer"] == 1.0
    assert (tmp_path / "a" / "results.jsonl").read_text().count("\n") == 2
    # the benchmark's own collection: the user's corpus is untouched
    assert (s.data_dir / "bench" / "squad").is_dir()
