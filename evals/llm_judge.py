"""An LLM as faithfulness judge: split a sentence into claims, verify each one.

Optional (`rag eval --judge llm`), using whatever LLM backend is configured; a
strong model makes it an independent check on the offline judge, and the
report gives their agreement. Replies must be JSON; a malformed reply is asked
again (up to ``retries`` times) and then counted as undecided, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rag.errors import BackendError
from rag.llm import LLM

__all__ = ["LLMJudge", "parse_json_object"]

_SPLIT = """Split the sentence into short, self-contained factual claims (at most 5).
Reply with JSON only, exactly in this form: {"claims": ["claim one", "claim two"]}

Sentence: {sentence}"""

_VERIFY = """Passages:
{passages}

Claim: {claim}

Is the claim fully supported by the passages above (not by outside knowledge)?
Reply with JSON only, exactly in this form: {"supported": true} or {"supported": false}"""

_OBJECT = re.compile(r"\{.*\}", re.S)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (models wrap JSON in prose or code fences), or None."""
    match = _OBJECT.search(text or "")
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class LLMJudge:
    def __init__(self, llm: LLM, retries: int = 2, max_tokens: int = 200) -> None:
        self.llm = llm
        self.retries = retries
        self.max_tokens = max_tokens
        self.malformed = 0  # replies that were not the JSON asked for

    def _ask(self, prompt: str, valid) -> dict[str, Any] | None:  # noqa: ANN001 - predicate
        messages = [{"role": "system", "content": "You are a careful fact checker. You reply with JSON only."},
                    {"role": "user", "content": prompt}]
        for _ in range(self.retries + 1):
            try:
                reply = self.llm.complete(messages, max_tokens=self.max_tokens, temperature=0.0)
            except BackendError:
                return None
            data = parse_json_object(reply)
            if data is not None and valid(data):
                return data
            self.malformed += 1
        return None

    def claims(self, sentence: str) -> list[str]:
        data = self._ask(_SPLIT.replace("{sentence}", sentence),
                         lambda d: isinstance(d.get("claims"), list) and all(isinstance(c, str) for c in d["claims"]))
        claims = [c.strip() for c in (data or {}).get("claims", []) if c.strip()][:5]
        return claims or [sentence]  # no usable split: judge the sentence whole

    def supported(self, claim: str, passages: Sequence[str]) -> bool | None:
        text = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
        prompt = _VERIFY.replace("{passages}", text).replace("{claim}", claim)
        data = self._ask(prompt, lambda d: isinstance(d.get("supported"), bool))
        return None if data is None else bool(data["supported"])

    def judge(self, sentence: str, passages: Sequence[str]) -> bool | None:
        """True if every claim of the sentence is supported; None if the judge could not decide."""
        verdicts = [self.supported(claim, passages) for claim in self.claims(sentence)]
        if any(v is False for v in verdicts):
            return False
        if any(v is None for v in verdicts):
            return None
        return True
