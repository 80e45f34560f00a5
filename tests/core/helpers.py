"""Shared helpers for the core tests: literal frames and a scripted MockTransport."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

KEY = "sk-aisa-test-0123456789abcdef"


def completion_body(text: str = "hi", model: str = "gpt-4.1", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        **extra,
    }


def sse(*events: Any, done: bool = True) -> bytes:
    """Literal SSE frames from dicts (JSON-encoded) or raw strings."""
    frames = [e if isinstance(e, str) else json.dumps(e) for e in events]
    body = "".join(f"data: {f}\n\n" for f in frames)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(content: str | None = None, *, model: str = "gpt-4.1", **delta: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(delta)
    if content is not None:
        d["content"] = content
    finish = d.pop("finish_reason", None)
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


@dataclass
class Recorder:
    """A scripted MockTransport: a queue of responses (or callables), and every request seen."""

    script: list[Any] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0) if self.script else httpx.Response(200, json=completion_body())
        response = item(request) if callable(item) else item
        self.responses.append(response)
        return response

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]
