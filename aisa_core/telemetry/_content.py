"""Message content in the GenAI conventions' shape, for users who opt in. Pure.

``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (the standard switch) decides: ``true``
(or ``SPAN_ONLY``/``SPAN_AND_EVENT``) puts the opt-in attributes ``gen_ai.system_instructions``,
``gen_ai.input.messages``, ``gen_ai.tool.definitions`` and ``gen_ai.output.messages`` on the
call span, as JSON in the conventions' message schema (role + typed parts); anything else, or
unset, records no content. ``EVENT_ONLY`` records none on spans either (this package emits no
log events). Only chat carries messages. Headers, and so the API key, are never read here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from aisa_core.attempts import CallReport

__all__ = ["CAPTURE_ENV", "capture_from_env", "content_attributes"]

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_ON = {"true", "1", "yes", "on", "span_only", "span_and_event"}


def capture_from_env() -> bool:
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in _ON


def content_attributes(report: CallReport) -> dict[str, str]:
    """The opt-in content attributes of a chat call (empty for other operations)."""
    if report.operation != "chat":
        return {}
    attrs: dict[str, str] = {}
    messages = report.request.get("messages")
    if isinstance(messages, list):
        system = [m for m in messages if _role(m) in ("system", "developer")]
        rest = [m for m in messages if _role(m) not in ("system", "developer")]
        if system:
            parts = [p for m in system for p in _parts(m.get("content"))]
            attrs["gen_ai.system_instructions"] = _json(parts)
        attrs["gen_ai.input.messages"] = _json([_input_message(m) for m in rest])
    tools = report.request.get("tools")
    if isinstance(tools, list) and tools:
        attrs["gen_ai.tool.definitions"] = _json([_tool(t) for t in tools if isinstance(t, dict)])
    output = _output_messages(report.result)
    if output:
        attrs["gen_ai.output.messages"] = _json(output)
    return attrs


def _role(message: Any) -> str:
    return str(message.get("role", "")) if isinstance(message, Mapping) else ""


def _input_message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = _role(message)
    if role == "tool":
        response = {"type": "tool_call_response", "id": message.get("tool_call_id")}
        response["response"] = message.get("content")
        return {"role": "tool", "parts": [response]}
    parts = _parts(message.get("content"))
    parts += [_tool_call(c) for c in message.get("tool_calls") or () if isinstance(c, Mapping)]
    return {"role": role, "parts": parts}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Iterable):
        return [_part(p) for p in content if isinstance(p, Mapping)]
    return [{"type": "text", "content": str(content)}]


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "content": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return {"type": "uri", "modality": "image", "uri": url}
    return {"type": str(kind)}  # audio, files, ...: named, not copied


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "type": "tool_call",
        "id": call.get("id"),
        "name": function.get("name"),
        "arguments": _arguments(function.get("arguments")),
    }


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function")
    if not isinstance(function, Mapping):
        return {"type": str(tool.get("type"))}
    described = {"type": "function", "name": function.get("name")}
    for key in ("description", "parameters"):
        if key in function:
            described[key] = function[key]
    return described


def _output_messages(result: Any) -> list[dict[str, Any]]:
    out = []
    for choice in getattr(result, "choices", None) or ():
        message = choice.message
        parts: list[dict[str, Any]] = []
        if message.reasoning_content:
            parts.append({"type": "reasoning", "content": message.reasoning_content})
        parts += _parts(message.content)
        parts += [_tool_call(c.model_dump()) for c in message.tool_calls or ()]
        entry: dict[str, Any] = {"role": message.role or "assistant", "parts": parts}
        entry["finish_reason"] = choice.finish_reason or ""
        out.append(entry)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
