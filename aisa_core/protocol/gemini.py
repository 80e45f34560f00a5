"""Gemini's native ``generateContent``, on the current ``/v1beta`` route and the older ``/v1``
one (a plain 404 on the first moves to the second). Pure.

It is a call like any other: retried by the client's policy and, given ``fallback_models``
(Gemini models: the body is Gemini's format), falling back. No streaming variant is documented;
the model id is one quoted path segment, so no id reaches another endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aisa_core.config import normalize_model
from aisa_core.errors import InvalidInputError

from .chat import Target
from .operation import Operation
from .wire import Reply, Request, dumps, parse_mapping, path_segment

__all__ = ["GenerateContent", "gemini_body"]


def gemini_body(
    prompt: str | Sequence[Mapping[str, Any]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``generateContent`` body from a prompt string or ready ``contents``."""
    if isinstance(prompt, str):
        return {"contents": [{"role": "user", "parts": [{"text": prompt}]}], **extra}
    items: list[Any] = list(prompt) if isinstance(prompt, Sequence) else [None]
    if not all(isinstance(c, Mapping) for c in items):
        raise InvalidInputError(
            "generate_content takes a prompt string or a list of Gemini contents (dicts), "
            f"not {type(prompt).__name__}"
        )
    return {"contents": [dict(c) for c in items], **extra}


class GenerateContent(Operation[dict[str, Any]]):
    """Over a chain of Gemini models (``fallback_models``), with the client's retry policy."""

    name = "generate_content"
    routes = 2

    def __init__(
        self,
        target: Target,
        model: str,
        prompt: str | Sequence[Mapping[str, Any]],
        extra: Mapping[str, Any],
        fallback_models: Sequence[str] | None = None,
    ) -> None:
        super().__init__(target.chain(normalize_model(model), fallback_models or ()))
        self._root = target.url("")[: -len("/v1")]
        self._headers = target.request_headers(None, False)
        self._body = dumps(gemini_body(prompt, extra))

    def request(self, model: str, route: int) -> Request:
        version = "v1beta" if route == 0 else "v1"
        url = f"{self._root}/{version}/models/{path_segment(model)}:generateContent"
        return Request("POST", url, self._headers, self._body)

    def read(self, reply: Reply, model: str) -> dict[str, Any]:
        return parse_mapping(reply, "generateContent")
