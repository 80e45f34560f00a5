"""Streaming callbacks: one small handler protocol that sync and async streams both call.

Subclass ``StreamHandler`` and override what you need; every method is a no-op by default.
In async streams a method may be ``async def``: it is awaited. The framework adapters map these
onto LangChain callbacks and LlamaIndex instrumentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import AISAError
from .types import ChatCompletion, ToolCallDelta, Usage

__all__ = ["PrintHandler", "StreamHandler", "dispatch"]

Events = list[tuple[str, tuple[Any, ...]]]


class StreamHandler:
    """Receives a stream's events in order: start, then tokens / reasoning / tool-call deltas /
    usage as they arrive, then exactly one of end or error."""

    def on_start(self, model: str, request: dict[str, Any]) -> Any:
        """The stream opened on ``model`` (after any fallback); ``request`` is the payload sent."""

    def on_token(self, text: str) -> Any:
        """A piece of answer text."""

    def on_reasoning(self, text: str) -> Any:
        """A piece of reasoning text (``reasoning_content``), for models that send it."""

    def on_tool_call_delta(self, delta: ToolCallDelta) -> Any:
        """A fragment of a tool call; ``delta.index`` is always set (resolved when missing)."""

    def on_usage(self, usage: Usage) -> Any:
        """Token counts (and cost when the gateway sends it), usually on the last chunk."""

    def on_end(self, completion: ChatCompletion) -> Any:
        """The whole answer, merged."""

    def on_error(self, error: AISAError) -> Any:
        """The stream failed; the error is raised to the caller right after this."""


class PrintHandler(StreamHandler):
    """Prints tokens as they arrive (the CLI's and notebooks' live output)."""

    def __init__(self, file: Any = None) -> None:
        self._file = file

    def on_token(self, text: str) -> None:
        print(text, end="", flush=True, file=self._file)

    def on_end(self, completion: ChatCompletion) -> None:
        print(file=self._file, flush=True)


def dispatch(handlers: Sequence[StreamHandler], events: Events) -> list[Any]:
    """Call ``on_<name>(*args)`` of every handler for each event, in order; returns what they
    returned (awaitables, for ``async def`` handlers in async streams)."""
    return [getattr(h, f"on_{name}")(*args) for name, args in events for h in handlers]
