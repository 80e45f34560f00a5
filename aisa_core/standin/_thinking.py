"""Thinking models: which ids answer with ``reasoning_content``, and the history rule some of them
enforce.

DeepSeek's thinking mode (V3.2 and later, and ``deepseek-reasoner``) and Kimi's thinking models
(``kimi-k2-thinking``, K2.5 and later) refuse a request whose history holds an assistant turn
that made tool calls without the ``reasoning_content`` it was answered with: a stateless API
needs the reasoning back to continue the same line of thought. Both turn thinking off with
``"thinking": {"type": "disabled"}``; then they neither reason nor check. Claude's ``-thinking``
ids reason but do not check (their reasoning travels another way on Anthropic's own API).

This is the stand-in's own reading of those providers' documents, written independently of the
client's, so a client bug cannot hide behind a matching stand-in bug.
"""

from __future__ import annotations

import re
from typing import Any

from ._answers import RequestError

__all__ = ["MISSING_REASONING", "check_history", "keeps_reasoning", "thinks"]

MISSING_REASONING = "The reasoning_content in the thinking mode must be passed back to the API."

_KEEPS = re.compile(
    r"deepseek-(?:v3\.[2-9]|v[4-9]|reasoner)"  # DeepSeek thinking mode: V3.2, V4 and later
    r"|kimi-k2-thinking|kimi-k2\.[5-9]|kimi-k[3-9]"  # Kimi: K2 Thinking, K2.5 and later
)


def keeps_reasoning(model: str) -> bool:
    """Whether ``model`` needs the reasoning of earlier tool-call turns sent back."""
    return _KEEPS.match(model) is not None


def thinking_disabled(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") == "disabled"


def thinks(model: str, body: dict[str, Any]) -> bool:
    """Whether ``model`` reasons on this request, by its id (the app adds the ids it is given)."""
    if keeps_reasoning(model):
        return not thinking_disabled(body)
    return model.endswith("-thinking")


def check_history(body: dict[str, Any], model: str) -> None:
    """Refuse (400) a thinking-mode request whose history has a tool-call turn without its
    ``reasoning_content``, as DeepSeek and Kimi do."""
    if not keeps_reasoning(model) or thinking_disabled(body):
        return
    for message in body["messages"]:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        if message.get("tool_calls") and not isinstance(message.get("reasoning_content"), str):
            raise RequestError(400, "invalid_request_error", MISSING_REASONING)
