"""The JSON of the OpenAI-compatible API: requests in, completions and chunks out.

Kept apart from :mod:`rag.api` (routes, auth, streaming) so the wire format
can be read in one place. The shapes follow OpenAI's chat completions closely
enough that its SDKs parse them; what this product adds (``citations``,
``passages``, ``mode``, ``refusal_reason``, ``short_answer``) are extra
top-level fields, which clients that do not know them ignore.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from .answer import Answer
from .retrieval import Candidate

__all__ = [
    "ChatRequest",
    "RequestError",
    "answer_fields",
    "chunk_json",
    "completion",
    "completion_chunk",
    "error_body",
    "final_chunk_fields",
    "new_id",
    "parse_chat_request",
    "passages_json",
    "question_and_history",
    "words",
]


class RequestError(Exception):
    """A request the API refuses: carries the HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# --- requests -------------------------------------------------------------------------------
class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: StrictStr
    text: StrictStr | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted, unused
    role: StrictStr
    content: StrictStr | list[_Part] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # OpenAI's content parts: only the text ones count
            return " ".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``. Unknown OpenAI parameters are accepted and ignored.

    Strict types: ``"stream": "yes"`` or ``"temperature": "hot"`` is a 400, not a guess.
    """

    model_config = ConfigDict(extra="allow")
    model: StrictStr = "rag"
    messages: list[_Message] = Field(min_length=1)
    stream: StrictBool = False
    temperature: StrictFloat | None = Field(default=None, ge=0.0, le=2.0)
    top_k: StrictInt | None = Field(default=None, ge=1, le=50)  # extension: passages per question
    n: StrictInt | None = None
    # Accepted and ignored: a checked answer is never cut mid-sentence; its
    # length is bounded by the max_answer_tokens setting.
    max_tokens: StrictInt | None = None
    max_completion_tokens: StrictInt | None = None


def parse_chat_request(data: Any) -> ChatRequest:
    """Validate a decoded JSON body; every problem is a 400 naming the parameter."""
    if not isinstance(data, dict):
        raise RequestError(400, "the request body must be a JSON object")
    if "messages" not in data:
        raise RequestError(400, "missing required parameter: 'messages'", param="messages",
                           code="missing_required_parameter")
    try:
        request = ChatRequest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        param = ".".join(str(p) for p in err["loc"]) or None
        raise RequestError(400, f"invalid value for '{param}': {err['msg']}", param=param,
                           code="invalid_value") from None
    if request.n is not None and request.n != 1:
        raise RequestError(400, "only n=1 is supported: there is one checked answer per question",
                           param="n", code="invalid_value")
    return request


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_KEPT_TURNS = 8  # earlier questions passed on: the rewrite only needs the last few


def question_and_history(request: ChatRequest, max_chars: int) -> tuple[str, list[str]]:
    """The last user message (the question) and the earlier user messages, oldest first.

    A question over ``max_chars`` is a 400 rather than silently cut: an API
    caller gets told, where the chat truncates with a warning.
    """
    users = [m.text() for m in request.messages if m.role == "user"]
    if not users:
        raise RequestError(400, "the messages hold no user message: the last user message is the question",
                           param="messages", code="no_user_message")
    question = _CONTROL.sub(" ", users[-1]).strip()
    if not question:
        raise RequestError(400, "the question is empty; ask a question about the corpus",
                           param="messages", code="empty_question")
    if len(question) > max_chars:
        raise RequestError(400, f"the question is {len(question):,} characters; the limit is {max_chars:,} "
                           "(setting max_question_chars)", param="messages", code="question_too_long")
    history = [h[:max_chars] for h in users[:-1] if h.strip()][-_KEPT_TURNS:]
    return question, history


# --- responses ------------------------------------------------------------------------------
def words(text: str) -> int:
    """Rough token count for ``usage``: words."""
    return len(text.split())


def passages_json(passages: list[Candidate]) -> list[dict[str, Any]]:
    """Numbered passages, as ``[n]`` markers refer to them."""
    return [
        {"n": n, "chunk_id": p.chunk.id, "source": p.chunk.source, "title": p.chunk.title, "text": p.chunk.text,
         "start": p.chunk.start, "end": p.chunk.end, "page": p.chunk.page, "score": round(p.fused_score, 6)}
        for n, p in enumerate(passages, start=1)
    ]


def answer_fields(answer: Answer) -> dict[str, Any]:
    """The extra top-level fields of a completion (and of a stream's last chunk)."""
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "passages": passages_json(answer.passages),
        "mode": answer.mode,
        "refusal_reason": answer.refusal_reason,
        "short_answer": answer.short_answer,
    }


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _usage(question: str, history: list[str], content: str) -> dict[str, int]:
    prompt = words(question) + sum(words(h) for h in history)
    return {"prompt_tokens": prompt, "completion_tokens": words(content), "total_tokens": prompt + words(content)}


def completion(answer: Answer, model: str, history: list[str]) -> dict[str, Any]:
    """A ``chat.completion`` whose content is the checked answer (a refusal is one too)."""
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(answer.question, history, answer.text),
        **answer_fields(answer),
    }


def completion_chunk(cid: str, created: int, model: str, delta: dict[str, Any],
                     finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``extra`` adds top-level fields (passages, citations…)."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        **extra,
    }


def final_chunk_fields(answer: Answer, history: list[str], content: str) -> dict[str, Any]:
    return {**answer_fields(answer), "usage": _usage(answer.question, history, content)}


def chunk_json(chunk: Any) -> dict[str, Any]:
    """``GET /v1/chunks/{id}``: a stored passage."""
    return {"id": chunk.id, "object": "chunk", "source": chunk.source, "title": chunk.title, "text": chunk.text,
            "start": chunk.start, "end": chunk.end, "page": chunk.page}
