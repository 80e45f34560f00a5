"""Response side: core ``ChatCompletion``s and stream chunks to LlamaIndex ``ChatResponse``s,
and tool calls back out of them. Pure: nothing here does I/O.

A response carries text, ``ThinkingBlock`` (reasoning) and ``ToolCallBlock`` blocks; its
``additional_kwargs`` hold token counts (under the keys ``TokenCountingHandler`` reads), cost and
credits when the gateway sends them, ``model``: the model that answered after any fallback, and
``skipped_models`` when model health skipped cooling models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from aisa_core import ChatCompletion, ChatCompletionChunk, Message, ResponseMeta, ToolCall, Usage
from aisa_core.types import Choice

from ._convert import as_dict

__all__ = [
    "StreamSnapshots",
    "chat_response",
    "completion_response",
    "keep_first_tool_call",
    "parse_arguments",
    "parse_partial_json",
    "tool_selections",
]


def tool_kwargs(arguments: str) -> dict[str, Any] | str:
    """The arguments as a dict once they are complete JSON; the raw text until then."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments
    return parsed if isinstance(parsed, dict) else arguments


def tool_call_blocks(calls: Sequence[ToolCall]) -> list[ToolCallBlock]:
    return [
        ToolCallBlock(
            tool_call_id=c.id or None,
            tool_name=c.function.name,
            tool_kwargs=tool_kwargs(c.function.arguments),
        )
        for c in calls
    ]


def reasoning_of(message: Message | Any) -> str | None:
    """``reasoning_content``, or the ``reasoning`` field some providers use instead."""
    text = message.reasoning_content
    if text:
        return str(text)
    other = (message.model_extra or {}).get("reasoning")
    return other if isinstance(other, str) and other else None


def assistant_message(message: Message, usage: Usage | None = None) -> ChatMessage:
    calls = message.tool_calls or []
    blocks: list[Any] = []
    reasoning = reasoning_of(message)
    if reasoning:
        tokens = usage.reasoning_tokens if usage else None
        blocks.append(ThinkingBlock(content=reasoning, num_tokens=tokens))
    blocks.extend(_content_blocks(message.content, bool(calls)))
    blocks.extend(tool_call_blocks(calls))
    extra: dict[str, Any] = {k: v for k, v in (message.model_extra or {}).items() if v is not None}
    if calls:
        extra["tool_calls"] = [c.model_dump(exclude_none=True) for c in calls]
    if message.refusal:
        extra["refusal"] = message.refusal
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _content_blocks(content: str | list[Any] | None, has_calls: bool) -> list[Any]:
    if isinstance(content, list):  # e.g. Wan image models answer with a list of parts
        return [b for b in map(_block_from_part, content) if b is not None]
    if content or not has_calls:
        return [TextBlock(text=content or "")]
    return []


def _block_from_part(part: Any) -> Any:
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    if kind == "text":
        return TextBlock(text=str(part.get("text", "")))
    url = part.get("image") if kind == "image" else (part.get("image_url") or {}).get("url")
    return ImageBlock(url=url) if isinstance(url, str) else None


def usage_kwargs(usage: Usage | None) -> dict[str, Any]:
    """Token counts under the keys ``TokenCountingHandler`` reads, plus cost fields when sent."""
    if usage is None:
        return {}
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    for name in ("cached_tokens", "reasoning_tokens", "credits_remaining"):
        value = getattr(usage, name)
        if value is not None:
            out[name] = value
    return out


def response_kwargs(
    model: str | None, served: str, usage: Usage | None, meta: ResponseMeta, finish: str | None
) -> dict[str, Any]:
    """``ChatResponse.additional_kwargs``: usage, cost, and which model answered."""
    out = usage_kwargs(usage)
    cost = _cost_usd(meta, usage)
    if cost is not None:
        out["cost_usd"] = cost
    if model:
        out["model"] = model
    if served:
        out["served_model"] = served
    if meta.failed_models:
        out["failed_models"] = meta.failed_models
    if meta.skipped:  # cooling down (aisa_core.ModelHealth): not tried
        out["skipped_models"] = [asdict(s) for s in meta.skipped]
    if meta.request_id:
        out["request_id"] = meta.request_id
    if finish:
        out["finish_reason"] = finish
    return out


def _cost_usd(meta: ResponseMeta, usage: Usage | None) -> float | None:
    if meta.cost_micros_usd is not None:
        return meta.cost_micros_usd / 1_000_000
    return usage.cost if usage is not None else None


def chat_response(completion: ChatCompletion) -> ChatResponse:
    """``message`` is the first choice; with ``n > 1``, ``additional_kwargs["choices"]`` holds
    every choice as a ``ChatMessage`` in index order (each with its ``finish_reason``), and
    ``raw`` is the whole completion."""
    meta = completion.meta
    extra = response_kwargs(
        meta.requested_model, completion.model, completion.usage, meta, completion.finish_reason
    )
    if len(completion.choices) > 1:
        extra["choices"] = [_choice_message(c) for c in sorted(completion.choices, key=_index)]
    return ChatResponse(
        message=assistant_message(completion.message, completion.usage),
        raw=completion,
        additional_kwargs=extra,
    )


def _index(choice: Choice) -> int:
    return choice.index


def _choice_message(choice: Choice) -> ChatMessage:
    message = assistant_message(choice.message)
    if choice.finish_reason:
        message.additional_kwargs["finish_reason"] = choice.finish_reason
    return message


def completion_response(response: ChatResponse) -> CompletionResponse:
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
    )


class StreamView(Protocol):
    """What ``StreamSnapshots`` reads from a core ``ChatStream`` / ``AsyncChatStream``."""

    @property
    def model(self) -> str | None: ...

    @property
    def meta(self) -> ResponseMeta: ...

    @property
    def accumulator(self) -> Any: ...


class StreamSnapshots:
    """Turns a stream's chunks into ``ChatResponse``s, each a snapshot of the answer so far.

    Every snapshot gets new blocks and dicts, so later chunks never change one already yielded
    (``FunctionAgent`` keeps them and parses their tool calls on every chunk).
    """

    __slots__ = ("_calls", "_finish", "_reasoning", "_text", "_usage")

    def __init__(self) -> None:
        self._text = ""
        self._reasoning = ""
        self._calls: list[ToolCall] = []
        self._usage: Usage | None = None
        self._finish: str | None = None

    def add(self, chunk: ChatCompletionChunk, stream: StreamView) -> ChatResponse:
        """The answer so far, after ``chunk`` (which ``stream`` has already merged)."""
        delta = chunk.text
        thinking = ""
        if chunk.choices:
            choice = chunk.choices[0]
            thinking = reasoning_of(choice.delta) or ""
            self._finish = choice.finish_reason or self._finish
            if choice.delta.tool_calls:
                self._calls = stream.accumulator.completion().tool_calls  # fresh objects
        self._text += delta
        self._reasoning += thinking
        self._usage = chunk.usage or self._usage
        extra = response_kwargs(stream.model, chunk.model, self._usage, stream.meta, self._finish)
        if thinking:
            extra["thinking_delta"] = thinking
        message = self._message()
        return ChatResponse(message=message, delta=delta, raw=chunk, additional_kwargs=extra)

    def _message(self) -> ChatMessage:
        blocks: list[Any] = []
        if self._reasoning:
            tokens = self._usage.reasoning_tokens if self._usage else None
            blocks.append(ThinkingBlock(content=self._reasoning, num_tokens=tokens))
        if self._text or not self._calls:
            blocks.append(TextBlock(text=self._text))
        extra: dict[str, Any] = {}
        if self._calls:
            blocks.extend(tool_call_blocks(self._calls))
            extra["tool_calls"] = [c.model_dump(exclude_none=True) for c in self._calls]
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


# --- tool calls ------------------------------------------------------------------------


def keep_first_tool_call(response: ChatResponse) -> None:
    """Drop all tool calls but the first (``allow_parallel_tool_calls=False``)."""
    message = response.message
    calls = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if len(calls) > 1:
        message.blocks = [b for b in message.blocks if not isinstance(b, ToolCallBlock)] + calls[:1]
        stored = message.additional_kwargs.get("tool_calls")
        if isinstance(stored, list):
            message.additional_kwargs["tool_calls"] = stored[:1]


def tool_selections(response: ChatResponse) -> list[ToolSelection]:
    """Tool calls of a (possibly partial, streamed) response; unfinished JSON parses as far as
    it goes, and arguments that are not an object become ``{}``."""
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        return [_selection(b.tool_call_id or "", b.tool_name, b.tool_kwargs) for b in blocks]
    stored = response.message.additional_kwargs.get("tool_calls")
    calls = [as_dict(c) for c in stored] if isinstance(stored, list) else []
    return [
        _selection(str(c.get("id") or ""), str(fn.get("name") or ""), fn.get("arguments") or "")
        for c in calls
        for fn in [c.get("function") or {}]
    ]


def _selection(tool_id: str, name: str, arguments: dict[str, Any] | str) -> ToolSelection:
    return ToolSelection(tool_id=tool_id, tool_name=name, tool_kwargs=parse_arguments(arguments))


def parse_arguments(arguments: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    parsed = parse_partial_json(arguments)
    return parsed if isinstance(parsed, dict) else {}


def parse_partial_json(text: str) -> Any:
    """JSON that may be cut off anywhere, parsed as far as it goes (``None`` if nothing is).

    An open string value is closed; an unfinished key, literal or number and a dangling comma
    or colon are dropped; open objects and arrays are closed. One pass over the text.
    """
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for candidate in _completions(text):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


_STRUCTURAL = frozenset('"{}[]:,')


def _completions(text: str) -> list[str]:
    """Ways to finish ``text``: the whole of it closed, then its last complete prefix closed."""
    scan = _Scan()
    for i, ch in enumerate(text):
        if scan.in_string:
            scan.string_char(i, ch)
        else:
            scan.char(i, ch)
    candidates = []
    if scan.in_string and not scan.is_key:
        candidates.append((text[:-1] if scan.escaped else text) + '"' + scan.closing())
    elif scan.token >= 0:
        candidates.append(text + scan.closing())
    candidates.append(text[: scan.safe_end] + scan.safe_closing)
    return candidates


class _Scan:
    """One pass over cut-off JSON: open containers, string state, and the longest prefix known
    to end right after a complete value (with what would close it)."""

    __slots__ = (
        "closers",
        "escaped",
        "in_string",
        "is_key",
        "safe_closing",
        "safe_end",
        "token",
        "wants_key",
    )

    def __init__(self) -> None:
        self.closers: list[str] = []  # per open container: '}' or ']'
        self.wants_key: list[bool] = []  # per open container: is the next string a key?
        self.safe_end, self.safe_closing = 0, ""
        self.in_string = self.escaped = self.is_key = False
        self.token = -1  # start of a bare number or literal being read

    def closing(self) -> str:
        return "".join(reversed(self.closers))

    def mark(self, end: int) -> None:
        self.safe_end, self.safe_closing = end, self.closing()

    def string_char(self, i: int, ch: str) -> None:
        if self.escaped:
            self.escaped = False
        elif ch == "\\":
            self.escaped = True
        elif ch == '"':
            self.in_string = False
            if not self.is_key:
                self.mark(i + 1)

    def char(self, i: int, ch: str) -> None:
        if self.token >= 0 and (ch in _STRUCTURAL or ch.isspace()):
            self.token = -1
            self.mark(i)
        if ch == '"':
            self.in_string, self.is_key = True, bool(self.wants_key) and self.wants_key[-1]
        elif ch in "{[":
            self.closers.append("}" if ch == "{" else "]")
            self.wants_key.append(ch == "{")
            self.mark(i + 1)
        elif ch in "}]":
            if self.closers:
                self.closers.pop()
                self.wants_key.pop()
            self.mark(i + 1)
        elif ch in ":,":
            if self.wants_key and self.closers[-1] == "}":
                self.wants_key[-1] = ch == ","
        elif not ch.isspace() and self.token < 0:
            self.token = i
