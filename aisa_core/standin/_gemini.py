"""Gemini's native ``generateContent`` format, which AIsa also serves.

Same answer rules as chat completions, translated: ``contents``/``parts`` in,
``candidates``/``usageMetadata`` out, ``functionCall`` parts for tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ._answers import (
    Answer,
    RequestError,
    ScriptedAnswer,
    ToolCall,
    default_reasoning,
    dumps,
    greeting,
    pieces,
)
from ._catalog import tokens
from ._schema import example_instance


def _parts(content: Any) -> list[Any]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return parts if isinstance(parts, list) else []


def _text_and_images(content: Any) -> tuple[str, int]:
    texts: list[str] = []
    images = 0
    for part in _parts(content):
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif "inlineData" in part or "fileData" in part:
            images += 1
    return " ".join(texts), images


def _function_response(content: Any) -> Any:
    for part in _parts(content):
        if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            return part["functionResponse"].get("response")
    return None


def _last_user(contents: Sequence[Any]) -> tuple[str, int]:
    for content in reversed(contents):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            text, images = _text_and_images(content)
            if text or images:
                return text, images
    return "", 0


def _declarations(body: dict[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for tool in body.get("tools") or ():
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        for declaration in declarations or ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                schema = declaration.get("parameters") or declaration.get("parametersJsonSchema")
                found.append((declaration["name"], schema or {"type": "object"}))
    return found


def _choose(body: dict[str, Any], last: Any) -> tuple[str, Any] | None:
    """The function to call: ``ANY`` always calls (after a function response, the last
    declared function not yet called since the user spoke, as ``"required"`` does in chat);
    ``AUTO`` calls the first one while the user has the last word."""
    declarations = _declarations(body)
    config = body.get("toolConfig")
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    calling = calling if isinstance(calling, dict) else {}
    mode = str(calling.get("mode", "AUTO")).upper()
    allowed = calling.get("allowedFunctionNames")
    if isinstance(allowed, list):
        declarations = [d for d in declarations if d[0] in allowed]
    if not declarations or mode == "NONE":
        return None
    is_user = isinstance(last, dict) and last.get("role", "user") == "user"
    if is_user and _function_response(last) is None:
        return declarations[0]
    if mode == "ANY":
        called = _called_since_user(body["contents"])
        fresh = [d for d in declarations if d[0] not in called]
        return (fresh or declarations)[-1]
    return None


def _called_since_user(contents: Sequence[Any]) -> set[str]:
    called: set[str] = set()
    for content in reversed(contents):
        if not isinstance(content, dict):
            continue
        if content.get("role", "user") == "user" and _function_response(content) is None:
            break
        for part in _parts(content):
            call = part.get("functionCall") if isinstance(part, dict) else None
            if isinstance(call, dict):
                called.add(str(call.get("name")))
    return called


def prompt_tokens(body: dict[str, Any]) -> int:
    chars = 0
    images = 0
    for content in body.get("contents") or ():
        text, count = _text_and_images(content)
        chars += len(text)
        images += count
    system = body.get("systemInstruction")
    if system is not None:
        chars += len(_text_and_images(system)[0])
    return max(1, -(-chars // 4)) + 258 * images


def plan_gemini(
    body: dict[str, Any],
    model: str,
    *,
    scripted: ScriptedAnswer | None,
    thinking: bool,
    reasoning_text: str | None,
    new_call_id: Callable[[], str],
) -> Answer:
    contents: list[Any] = body["contents"]
    config = body.get("generationConfig")
    config = config if isinstance(config, dict) else {}
    limit = config.get("maxOutputTokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RequestError(400, "invalid_request", "maxOutputTokens must be a positive integer")
    user_text, images = _last_user(contents)
    reasoning = (reasoning_text or default_reasoning(user_text)) if thinking else None
    if scripted is not None:
        if scripted.tool_calls:
            calls = tuple(ToolCall(i or new_call_id(), n, a) for n, a, i in scripted.tool_calls)
            return Answer(None, calls, reasoning, "tool_calls")
        return Answer(scripted.text or "", (), reasoning, "stop")
    last = contents[-1] if contents else None
    tool = _choose(body, last)
    if tool is not None:
        arguments = dumps(example_instance(tool[1], user_text))
        return Answer(None, (ToolCall(new_call_id(), tool[0], arguments),), reasoning, "tool_calls")
    response = _function_response(last)
    if response is not None:
        text = "The tool returned: " + dumps(response)
    else:
        text = greeting(model, user_text, images)
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None:
        text = dumps(example_instance(schema, user_text))
    elif config.get("responseMimeType") == "application/json":
        text = dumps({"answer": text})
    if limit is not None and len(pieces(text)) > limit:
        return Answer("".join(pieces(text)[:limit]), (), reasoning, "length")
    return Answer(text, (), reasoning, "stop")


_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}


def gemini_body(answer: Answer, *, model: str, prompt: int, response_id: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if answer.reasoning is not None:
        parts.append({"text": answer.reasoning, "thought": True})
    if answer.content is not None:
        parts.append({"text": answer.content})
    for call in answer.tool_calls:
        parts.append({"functionCall": {"name": call.name, "args": json.loads(call.arguments)}})
    candidates = tokens(answer.content or "") + sum(
        tokens(c.name) + tokens(c.arguments) for c in answer.tool_calls
    )
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + answer.reasoning_tokens(),
    }
    if answer.reasoning is not None:
        usage["thoughtsTokenCount"] = answer.reasoning_tokens()
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": _FINISH[answer.finish_reason],
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }
