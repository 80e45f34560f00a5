"""Literal wire frames and a scripted gateway for the LlamaIndex adapter's offline tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

KEY = "sk-aisa-test-0123456789abcdef"
BASE = "https://api.aisa.one/v1"

# llama-index's workflow runtime (agents) inspects every attribute of the agent, which touches
# pydantic's deprecated ``__fields__``, ``__fields_set__`` and instance ``model_*fields`` (from
# llama-index-workflows 2.x, in ``get_steps_from_instance``); nothing in this package does.
WORKFLOW_WARNINGS = [
    pytest.mark.filterwarnings(
        r"ignore:The `__fields(_set)?__` attribute is deprecated:"
        "pydantic.warnings.PydanticDeprecatedSince20"
    ),
    pytest.mark.filterwarnings(
        r"ignore:Accessing the 'model_(computed_)?fields' attribute on the instance is deprecated:"
        "pydantic.warnings.PydanticDeprecatedSince211"
    ),
]


def completion(
    text: str | None = "Hello",
    *,
    model: str = "gpt-4.1",
    usage: dict[str, Any] | None = None,
    **message: Any,
) -> dict[str, Any]:
    """A ``chat.completion`` body; ``message`` adds fields such as ``tool_calls``."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, **message},
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }


def chunk(
    content: str | None = None,
    *,
    model: str = "gpt-4.1",
    finish: str | None = None,
    **delta: Any,
) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int = 7, completion_tokens: int = 2, **extra: Any) -> dict[str, Any]:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        **extra,
    }
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "gpt-4.1",
        "choices": [],
        "usage": usage,
    }


def tool_delta(
    index: int,
    *,
    id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    out: dict[str, Any] = {"index": index, "function": function, **extra}
    if id is not None:
        out.update(id=id, type="function")
    return out


def sse(*events: Any, done: bool = True) -> httpx.Response:
    """A 200 SSE answer made of literal ``data:`` frames."""
    frames = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)
    body = frames + ("data: [DONE]\n\n" if done else "")
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def error(status: int, code: str, message: str = "failed") -> httpx.Response:
    body = {"error": {"type": "error", "code": code, "message": message, "request_id": "r-err"}}
    return httpx.Response(status, json=body)


@dataclass
class Gateway:
    """A scripted MockTransport handler (works for sync and async httpx clients): answers
    are served in order, and every request is kept."""

    script: list[Any] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0) if self.script else httpx.Response(200, json=completion())
        return item(request) if callable(item) else item

    def add(self, *items: Any) -> Gateway:
        self.script.extend(items)
        return self

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        return self.bodies[-1]
