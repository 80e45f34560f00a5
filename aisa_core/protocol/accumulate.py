"""Chunks to a final completion. Pure: no I/O, no clock.

``StreamAccumulator`` merges chunks into a ``ChatCompletion``: tool-call fragments are joined by
``index`` (several per chunk, a missing index, a name repeated in every fragment), reasoning
text is kept, usage is taken from any chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aisa_core.errors import MalformedResponseError
from aisa_core.types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    FunctionCall,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["MAX_TOOL_CALLS", "Events", "StreamAccumulator"]

Events = list[tuple[str, tuple[Any, ...]]]
"""What stream handlers should hear: ``(name, args)`` calls ``on_<name>(*args)``."""

MAX_TOOL_CALLS = 128


@dataclass
class _ToolCallState:
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StreamAccumulator:
    """Merges chunks; ``completion()`` gives the answer so far (a fresh object each call)."""

    id: str = ""
    model: str = ""
    created: int = 0
    role: str = "assistant"
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: dict[int, _ToolCallState] = field(default_factory=dict)
    chunks: int = 0
    _last_index: int | None = None

    def add(self, chunk: ChatCompletionChunk, events: Events | None = None) -> None:
        """Merge ``chunk``; when ``events`` is a list, append what a handler should hear."""
        self.chunks += 1
        self.id = self.id or chunk.id
        self.model = chunk.model or self.model
        self.created = self.created or chunk.created
        for choice in chunk.choices:
            if choice.index == 0:  # n>1 is not supported in streams; keep the first choice
                self._add_choice(choice, events)
        if chunk.usage is not None:
            self.usage = chunk.usage
            if events is not None:
                events.append(("usage", (chunk.usage,)))

    def _add_choice(self, choice: ChunkChoice, events: Events | None) -> None:
        delta = choice.delta
        if delta.role:
            self.role = delta.role
        if delta.reasoning_content:
            self.reasoning.append(delta.reasoning_content)
            if events is not None:
                events.append(("reasoning", (delta.reasoning_content,)))
        if isinstance(delta.content, str) and delta.content:
            self.text.append(delta.content)
            if events is not None:
                events.append(("token", (delta.content,)))
        for tc in delta.tool_calls or ():
            tc.index = self.add_tool_call_delta(tc)  # callers always see a resolved index
            if events is not None:
                events.append(("tool_call_delta", (tc,)))
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason

    def add_tool_call_delta(self, delta: ToolCallDelta) -> int:
        """Merge one fragment; returns the index it was filed under."""
        index = self.resolve_index(delta)
        state = self.tool_calls.get(index)
        if state is None:
            if len(self.tool_calls) >= MAX_TOOL_CALLS:
                raise MalformedResponseError(f"more than {MAX_TOOL_CALLS} tool calls in one answer")
            state = self.tool_calls[index] = _ToolCallState()
        if delta.id:
            state.id = delta.id
        if delta.type:
            state.type = delta.type
        fn = delta.function
        if fn is not None:
            if fn.name and not state.name:
                state.name = fn.name  # some providers repeat the name in every fragment
            if fn.arguments:
                state.arguments.append(fn.arguments)
            if fn.model_extra:
                state.extra.update(fn.model_extra)
        if delta.model_extra:
            state.extra.update(delta.model_extra)
        self._last_index = index
        return index

    def resolve_index(self, delta: ToolCallDelta) -> int:
        """The fragment's index; if missing, a new id starts a call, else it continues the last."""
        if delta.index is not None:
            return delta.index
        last = self._last_index
        if last is None:
            return 0
        current = self.tool_calls.get(last)
        if delta.id and current is not None and current.id and delta.id != current.id:
            return max(self.tool_calls) + 1
        return last

    def completion(self) -> ChatCompletion:
        calls = [
            ToolCall(
                id=s.id,
                type=s.type,
                function=FunctionCall(name=s.name, arguments="".join(s.arguments)),
                **s.extra,
            )
            for _, s in sorted(self.tool_calls.items())
        ]
        message = Message(
            role=self.role,
            content="".join(self.text) if self.text or not calls else None,
            reasoning_content="".join(self.reasoning) if self.reasoning else None,
            tool_calls=calls or None,
        )
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[Choice(index=0, message=message, finish_reason=self.finish_reason)],
            usage=self.usage,
        )
