"""Gateway answers to LangChain results. Pure: no I/O.

``_convert_completion`` turns a core ``ChatCompletion`` into a ``ChatResult``;
``ChunkConverter`` turns a core stream into ``ChatGenerationChunk`` s so that chunks merge
cleanly:

- nothing is emitted until a chunk carries content, reasoning or a tool-call delta, so a
  ``with_fallbacks`` wrapper can still switch models on an early in-band error;
- the first emitted chunk carries *who* answered (``model_provider``, ``model_name``, ``id``,
  ``request_id``, ``fallback_attempts``, ``skipped_models``); the last one
  (``chunk_position="last"``) carries *how it ended* (``finish_reason``, ``usage_metadata``,
  ``cost``, ``credits_remaining``).
  Apart from ``model_provider`` (equal strings merge), each key is on one chunk only, as
  LangChain concatenates strings and refuses differing floats when it merges chunks; the
  text chunks in between carry nothing else;
- a tool call's ``name`` and ``id`` are sent once per index, even when a provider repeats them
  in every fragment (LangChain would otherwise concatenate them).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, InvalidToolCall, ToolCall
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import (
    ToolCallChunk,
    invalid_tool_call,
    tool_call,
    tool_call_chunk,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from aisa_core import (
    AsyncChatStream,
    ChatCompletion,
    ChatCompletionChunk,
    ChatStream,
    ResponseMeta,
    ToolCallDelta,
    Usage,
)
from aisa_core import Message as WireMessage
from aisa_core import ToolCall as WireToolCall
from aisa_core.types import ChunkChoice

__all__ = [
    "PROVIDER",
    "ChunkConverter",
    "_combine_llm_outputs",
    "_convert_completion",
    "_convert_finish_reason",
    "_convert_tool_calls",
    "_convert_usage",
]

PROVIDER = "aisa"


# Providers behind the gateway sometimes pass their own finish reasons through; LangChain
# users expect OpenAI's vocabulary. Unknown values pass through unchanged.
_FINISH_REASONS = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "STOP": "stop",
    "length": "length",
    "max_tokens": "length",
    "MAX_TOKENS": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "refusal": "content_filter",
}


def _convert_finish_reason(reason: str | None) -> str | None:
    return None if reason is None else _FINISH_REASONS.get(reason, reason)


def _convert_usage(usage: Usage) -> UsageMetadata:
    """Token counts only (ints): cost is a float and lives in ``response_metadata``."""
    input_details: InputTokenDetails = {}
    output_details: OutputTokenDetails = {}
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    if prompt is not None:
        if prompt.cached_tokens is not None:
            input_details["cache_read"] = prompt.cached_tokens
        if prompt.audio_tokens is not None:
            input_details["audio"] = prompt.audio_tokens
    if completion is not None:
        if completion.reasoning_tokens is not None:
            output_details["reasoning"] = completion.reasoning_tokens
        if completion.audio_tokens is not None:
            output_details["audio"] = completion.audio_tokens
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    )
    if input_details:
        metadata["input_token_details"] = input_details
    if output_details:
        metadata["output_token_details"] = output_details
    return metadata


def _new_call_id() -> str:
    """For the rare provider that sends a tool call without an id: LangChain pairs tool
    results with calls by id, so an agent cannot continue without one."""
    return f"call_{uuid.uuid4().hex[:24]}"


def _convert_tool_calls(
    raw: Sequence[WireToolCall],
) -> tuple[list[ToolCall], list[InvalidToolCall], dict[str, Any]]:
    """Parsed calls, calls whose arguments are not a JSON object, and per-id provider extras."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    extras: dict[str, Any] = {}
    for call in raw:
        call_id = call.id or _new_call_id()
        args, error = _parse_arguments(call.function.arguments)
        if args is not None:
            calls.append(tool_call(name=call.function.name, args=args, id=call_id))
        else:
            invalid.append(
                invalid_tool_call(
                    name=call.function.name, args=call.function.arguments, id=call_id, error=error
                )
            )
        if call.model_extra:
            extras[call_id] = dict(call.model_extra)
    return calls, invalid, extras


def _parse_arguments(arguments: str) -> tuple[dict[str, Any] | None, str | None]:
    """Tool-call arguments as a dict, or ``None`` and why not."""
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"
    if not isinstance(args, dict):
        return None, "arguments are not a JSON object"
    return args, None


def _attempts(meta: ResponseMeta) -> list[dict[str, Any]]:
    """Failed tries before the answer, as plain data (safe for tracing and JSON)."""
    return [
        {
            "model": a.model,
            "error": type(a.error).__name__,
            "status_code": a.error.status_code,
            "code": a.error.code,
            "message": a.error.message,
        }
        for a in meta.attempts
    ]


def _skipped(meta: ResponseMeta) -> list[dict[str, Any]]:
    """Models of the chain not tried (cooling down, see ``aisa_core.ModelHealth``); ``until``
    is when the cooldown ends (epoch seconds, or ``None``)."""
    return [asdict(s) for s in meta.skipped]


def _who_answered(served: str, response_id: str, meta: ResponseMeta) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "model_provider": PROVIDER,
        "model_name": served or meta.requested_model or "",
        "requested_model": meta.requested_model,
        "fallback_attempts": _attempts(meta),
    }
    if meta.skipped:
        metadata["skipped_models"] = _skipped(meta)
    if response_id:
        metadata["id"] = response_id
    if meta.request_id:
        metadata["request_id"] = meta.request_id
    if meta.rate_limit is not None:
        metadata["rate_limit"] = meta.rate_limit.model_dump(exclude_none=True)
    return metadata


def _how_it_ended(
    finish_reason: str | None, usage: Usage | None, meta: ResponseMeta
) -> dict[str, Any]:
    """Finish reason, cost and credits: the settled-cost header (exact micro-USD) wins over
    ``usage.cost``; a cost the gateway did not send is left out, never reported as 0."""
    metadata: dict[str, Any] = {}
    reason = _convert_finish_reason(finish_reason)
    if reason is not None:
        metadata["finish_reason"] = reason
        if reason != finish_reason:
            metadata["native_finish_reason"] = finish_reason
    if meta.cost_micros_usd is not None:
        metadata["cost"] = meta.cost_micros_usd / 1_000_000
        metadata["cost_micros_usd"] = meta.cost_micros_usd
    elif usage is not None and usage.cost is not None:
        metadata["cost"] = usage.cost
    if usage is not None and usage.credits_remaining is not None:
        metadata["credits_remaining"] = usage.credits_remaining
    return metadata


def _convert_answer(message: WireMessage) -> AIMessage:
    calls, invalid, extras = _convert_tool_calls(message.tool_calls or ())
    additional: dict[str, Any] = {}
    if message.reasoning_content:
        additional["reasoning_content"] = message.reasoning_content
    if message.refusal:
        additional["refusal"] = message.refusal
    if extras:
        additional["tool_call_extras"] = extras
    content = message.content if message.content is not None else ""
    return AIMessage(
        content=content,
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
    )


def _convert_completion(completion: ChatCompletion) -> ChatResult:
    """A whole answer (every choice) as a ``ChatResult``."""
    meta = completion.meta
    shared = _who_answered(completion.model, completion.id, meta)
    if completion.system_fingerprint:
        shared["system_fingerprint"] = completion.system_fingerprint
    usage = _convert_usage(completion.usage) if completion.usage is not None else None
    generations = []
    for choice in completion.choices:
        message = _convert_answer(choice.message)
        message.id = completion.id or None
        message.usage_metadata = usage
        message.response_metadata = {
            **shared,
            **_how_it_ended(choice.finish_reason, completion.usage, meta),
        }
        if choice.logprobs is not None:
            message.response_metadata["logprobs"] = choice.logprobs
        info = {"finish_reason": message.response_metadata.get("finish_reason")}
        generations.append(ChatGeneration(message=message, generation_info=info))
    # ChatOpenAI's llm_output, for callbacks that still read it (LangChain also copies it into
    # a single answer's response_metadata, as it does ChatOpenAI's).
    llm_output: dict[str, Any] = {"model_name": shared["model_name"]}
    if completion.usage is not None and usage is not None:
        raw = completion.usage.model_dump(exclude_none=True)
        llm_output["token_usage"] = {**raw, "total_tokens": usage["total_tokens"]}
    return ChatResult(generations=generations, llm_output=llm_output)


def _combine_llm_outputs(outputs: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """One ``llm_output`` for a batch (``generate``): token usage summed, as ChatOpenAI does."""
    combined: dict[str, Any] = {}
    for output in outputs:
        if output:
            combined["model_name"] = output.get("model_name")
            usage = output.get("token_usage")
            if isinstance(usage, dict):
                combined["token_usage"] = _summed(combined.get("token_usage", {}), usage)
    return combined


def _summed(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    out = dict(total)
    for key, value in more.items():
        if isinstance(value, dict):
            out[key] = _summed(out.get(key) or {}, value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = out.get(key, 0) + value
    return out


def _first_choice(choices: Sequence[ChunkChoice]) -> ChunkChoice | None:
    return next((c for c in choices if c.index == 0), None)


class ChunkConverter:
    """One stream's core chunks to LangChain chunks (see the module docstring for the rules)."""

    __slots__ = ("_head_sent", "_tool_ids")

    def __init__(self) -> None:
        self._head_sent = False
        self._tool_ids: dict[int, str] = {}

    def convert(
        self, chunk: ChatCompletionChunk, stream: ChatStream | AsyncChatStream
    ) -> ChatGenerationChunk | None:
        """The LangChain chunk for ``chunk``, or ``None`` when it carries nothing to show
        (a finish-only or usage-only chunk: their facts go on the last chunk)."""
        choices = chunk.choices
        if not choices:
            return None
        choice = choices[0] if choices[0].index == 0 else _first_choice(choices)
        if choice is None:
            return None
        delta = choice.delta
        if self._head_sent and not (delta.tool_calls or delta.reasoning_content or delta.refusal):
            # The hot path, a piece of text: the smallest chunk LangChain accepts.
            if not delta.content:
                return None
            return ChatGenerationChunk(
                message=AIMessageChunk(content=delta.content, id=chunk.id or None)
            )
        additional: dict[str, Any] = {}
        if delta.reasoning_content:
            additional["reasoning_content"] = delta.reasoning_content
        if delta.refusal:
            additional["refusal"] = delta.refusal
        tool_chunks = [self._tool_chunk(d, additional) for d in delta.tool_calls or ()]
        content = delta.content or ""
        if not (content or additional or tool_chunks):
            return None
        metadata: dict[str, Any] = {}
        if not self._head_sent:
            self._head_sent = True
            metadata = _who_answered(chunk.model or stream.model or "", chunk.id, stream.meta)
        message = AIMessageChunk(
            content=content,
            additional_kwargs=additional,
            tool_call_chunks=tool_chunks,
            response_metadata=metadata,
            id=chunk.id or None,
        )
        return ChatGenerationChunk(message=message)

    def last(self, stream: ChatStream | AsyncChatStream) -> ChatGenerationChunk:
        """The closing chunk: finish reason, usage, cost, ``chunk_position="last"``."""
        acc = stream.accumulator
        metadata: dict[str, Any] = {"model_provider": PROVIDER}
        if not self._head_sent:
            metadata.update(_who_answered(acc.model or stream.model or "", acc.id, stream.meta))
        metadata.update(_how_it_ended(acc.finish_reason, acc.usage, stream.meta))
        message = AIMessageChunk(
            content="",
            usage_metadata=_convert_usage(acc.usage) if acc.usage is not None else None,
            response_metadata=metadata,
            chunk_position="last",
            id=acc.id or None,
        )
        return ChatGenerationChunk(message=message)

    def _tool_chunk(self, delta: ToolCallDelta, additional: dict[str, Any]) -> ToolCallChunk:
        index = delta.index or 0  # the core always resolves the index; 0 only for typing
        fn = delta.function
        first = index not in self._tool_ids
        if first:
            self._tool_ids[index] = delta.id or _new_call_id()
            if delta.model_extra:
                extras = additional.setdefault("tool_call_extras", {})
                extras[self._tool_ids[index]] = dict(delta.model_extra)
        return tool_call_chunk(
            name=fn.name if fn is not None and first else None,
            args=fn.arguments if fn is not None else None,
            id=self._tool_ids[index] if first else None,
            index=index,
        )
