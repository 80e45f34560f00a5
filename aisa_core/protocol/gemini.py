"""Gemini's native ``generateContent``, on the current ``/v1beta`` route and the older ``/v1``
one (a plain 404 on the first moves to the second). Pure.

No streaming variant is documented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aisa_core.config import normalize_model

from .chat import Target
from .operation import Operation
from .wire import Reply, Request, dumps, parse_json

__all__ = ["GenerateContent", "gemini_body"]


def gemini_body(
    prompt: str | Sequence[Mapping[str, Any]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``generateContent`` body from a prompt string or ready ``contents``."""
    if isinstance(prompt, str):
        contents: list[Any] = [{"role": "user", "parts": [{"text": prompt}]}]
    else:
        contents = [dict(c) for c in prompt]
    return {"contents": contents, **extra}


class GenerateContent(Operation[dict[str, Any]]):
    name = "generate_content"
    routes = 2

    def __init__(
        self,
        target: Target,
        model: str,
        prompt: str | Sequence[Mapping[str, Any]],
        extra: Mapping[str, Any],
    ) -> None:
        super().__init__([normalize_model(model)])
        self._root = target.url("")[: -len("/v1")]
        self._headers = target.request_headers(None, False)
        self._body = dumps(gemini_body(prompt, extra))

    def request(self, model: str, route: int) -> Request:
        version = "v1beta" if route == 0 else "v1"
        url = f"{self._root}/{version}/models/{model}:generateContent"
        return Request("POST", url, self._headers, self._body)

    def read(self, reply: Reply, model: str) -> dict[str, Any]:
        data: dict[str, Any] = parse_json(reply, "generateContent")
        return data
