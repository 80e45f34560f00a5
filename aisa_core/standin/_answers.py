"""Chat answers: what the stand-in says, and how it is framed as JSON or SSE.

Pure functions of the request body, so the answer to a request is reproducible and
testable without a server. The rules keep agent loops finite: a tool call is offered
only while the user has the last word; after a tool result the model answers in text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._catalog import cost_micros, tokens
from ._context import retrieval_answer
from ._schema import example_instance

# One encoder for the process: json.dumps() with any option builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, as the hot path wants it."""
    return _encode(value)


_PIECES = re.compile(r"(?<=\S)(?=\s)")
_NAME_PARTS = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])")
_SNIPPET = 200


class RequestError(Exception):
    """A request the gateway would refuse with a 4xx."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as sent on the wire


@dataclass(frozen=True)
class ScriptedAnswer:
    """An answer queued by ``enqueue_text``/``enqueue_tool_call(s)``."""

    text: str | None = None
    tool_calls: tuple[tuple[str, str, str | None], ...] = ()  # (name, arguments JSON, id)


@dataclass(frozen=True)
class Answer:
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str = "stop"

    def reasoning_tokens(self) -> int:
        return tokens(self.reasoning) if self.reasoning else 0

    def completion_tokens(self) -> int:
        total = tokens(self.content or "") + self.reasoning_tokens()
        return total + sum(tokens(c.name) + tokens(c.arguments) for c in self.tool_calls)


@dataclass(frozen=True)
class StreamParts:
    """An SSE answer cut where faults may strike: ``body`` holds the content-bearing events."""

    head: bytes
    body: list[bytes] = field(default_factory=list)
    tail: bytes = b""


def pieces(text: str) -> list[str]:
    """``text`` split before each run of whitespace: word-ish stream deltas that rejoin exactly."""
    return [p for p in _PIECES.split(text) if p]


def content_text(content: Any) -> tuple[str, int]:
    """The text of a message ``content`` (string or parts) and how many images it carries."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts: list[str] = []
    images = 0
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            kind = part.get("type")
            if kind in ("text", "input_text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in ("image_url", "input_image", "image"):
                images += 1
    return " ".join(texts), images


def last_user(messages: Sequence[Any]) -> tuple[str, int]:
    """Text and image count of the last user message."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return "", 0


def greeting(model: str, user_text: str, images: int) -> str:
    """The default reply: names the model and echoes the user, so tests can assert on it."""
    text = f"Hello from the AIsa stand-in ({model}). You said: {user_text.strip()[:_SNIPPET]}"
    if images:
        text += f" I see {images} image{'' if images == 1 else 's'}."
    return text


def default_reasoning(user_text: str) -> str:
    snippet = " ".join(user_text.split())[:80]
    return f'The user wrote "{snippet}". A short, direct reply fits best.'


def prompt_tokens(body: dict[str, Any]) -> int:
    """Estimated prompt size: ceil(chars/4) of the text, plus 85 tokens per image."""
    chars = 0
    images = 0
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        text, count = content_text(message.get("content"))
        chars += len(text) + 4
        images += count
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                chars += len(str(call["function"].get("arguments", ""))) + 8
    tools = body.get("tools")
    if tools:
        chars += len(dumps(tools))
    return max(1, -(-chars // 4)) + 85 * images


def max_tokens_of(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RequestError(400, "invalid_request", f"{key} must be a positive integer")
        return value
    return None


def check_request(body: dict[str, Any]) -> None:
    """Refuse (RequestError) what the gateway would, before anything scripted is consumed."""
    max_tokens_of(body)
    _functions(body)


def _functions(body: dict[str, Any]) -> list[tuple[str, Any]]:
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise RequestError(400, "invalid_request", "tools must be an array")
    found: list[tuple[str, Any]] = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not function.get("name"):
            raise RequestError(400, "invalid_request", f"tools[{index}].function.name is required")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        found.append((str(function["name"]), parameters))
    return found


def choose_tool(body: dict[str, Any], user_text: str) -> tuple[str, Any] | None:
    """The function to call, or None for a text answer.

    A named ``tool_choice`` always calls that function. ``"auto"`` calls only while the user
    has the last word, picking the tool whose name the user mentions, else the first one.
    ``"required"`` (``"any"``) must call something at every turn: while the user has the last
    word it picks as ``"auto"`` does; after a tool result, where ``"auto"`` would answer, it
    calls the last tool not yet called since the user spoke (else the last tool), which is
    where structured-output agents put their answer tool, so their loops end.
    """
    functions = _functions(body)
    choice = body.get("tool_choice", "auto")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        for candidate in functions:
            if candidate[0] == name:
                return candidate
        raise RequestError(400, "invalid_request", f"tool_choice names an unknown function: {name}")
    messages = body["messages"]
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "user":
        return _answer_tool(functions, messages) if choice in ("required", "any") else None
    lowered = user_text.lower()
    for candidate in functions:
        parts = [p.lower() for p in _NAME_PARTS.findall(candidate[0]) if len(p) >= 4]
        if candidate[0].lower() in lowered or any(p in lowered for p in parts):
            return candidate
    return functions[0]


def _answer_tool(functions: list[tuple[str, Any]], messages: Sequence[Any]) -> tuple[str, Any]:
    """The last offered tool not called since the user last spoke (else the last tool)."""
    called: set[str] = set()
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") == "user":
            break
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                called.add(str(function.get("name")))
    fresh = [f for f in functions if f[0] not in called]
    return (fresh or functions)[-1]


def _shaped(response_format: Any, text: str, user_text: str) -> str:
    if not isinstance(response_format, dict):
        return text
    kind = response_format.get("type")
    if kind == "json_object":
        return dumps({"answer": text})
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return dumps(example_instance(schema or {}, user_text))
    return text


def plan_chat(
    body: dict[str, Any],
    model: str,
    *,
    scripted: ScriptedAnswer | None,
    thinking: bool,
    reasoning_text: str | None,
    new_call_id: Callable[[], str],
) -> Answer:
    """Decide the answer to a validated chat request (see the module docstring for rules)."""
    limit = max_tokens_of(body)
    messages = body["messages"]
    user_text, images = last_user(messages)
    reasoning = None
    if thinking:
        reasoning = reasoning_text or default_reasoning(user_text)
    if scripted is not None:
        if scripted.tool_calls:
            calls = tuple(
                ToolCall(call_id or new_call_id(), name, arguments)
                for name, arguments, call_id in scripted.tool_calls
            )
            return Answer(None, calls, reasoning, "tool_calls")
        return Answer(scripted.text or "", (), reasoning, "stop")
    tool = choose_tool(body, user_text)
    if tool is not None:
        arguments = dumps(example_instance(tool[1], user_text))
        return Answer(None, (ToolCall(new_call_id(), tool[0], arguments),), reasoning, "tool_calls")
    last = messages[-1] if messages else None
    if isinstance(last, dict) and last.get("role") == "tool":
        text = "The tool returned: " + content_text(last.get("content"))[0]
    else:  # a retrieval prompt is answered from its context
        text = retrieval_answer(messages) or greeting(model, user_text, images)
    text = _shaped(body.get("response_format"), text, user_text)
    if limit is not None:
        words = pieces(text)
        if len(words) > limit:
            return Answer("".join(words[:limit]), (), reasoning, "length")
    return Answer(text, (), reasoning, "stop")


def usage_block(model: str, prompt: int, answer: Answer) -> tuple[dict[str, Any], int]:
    """The ``usage`` object and its cost in micro-USD (``usage.cost`` is the same, in USD)."""
    completion = answer.completion_tokens()
    cost = cost_micros(model, prompt, completion)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens()},
        "cost": cost / 1_000_000,
    }
    return usage, cost


def completion_body(
    answer: Answer, *, completion_id: str, created: int, model: str, usage: dict[str, Any]
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.reasoning is not None:
        message["reasoning_content"] = answer.reasoning
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": usage,
    }


def _fragments(text: str, count: int = 3) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_parts(
    answer: Answer,
    *,
    completion_id: str,
    created: int,
    model: str,
    usage: dict[str, Any] | None,
    usage_in_content: bool = False,
) -> StreamParts:
    """The SSE events of an answer; ``usage`` adds the ``choices: []`` usage chunk, or with
    ``usage_in_content`` rides (with the finish reason) on the last content chunk instead."""
    head = (
        f'{{"id":{dumps(completion_id)},"object":"chat.completion.chunk",'
        f'"created":{created},"model":{dumps(model)}'
    )
    prefix = f'data: {head},"choices":[{{"index":0,"delta":'.encode()

    def raw(delta: str, finish: str | None = None, extra: str = "") -> bytes:
        end = b'"' + finish.encode() + b'"' if finish else b"null"
        tail = b',"logprobs":null,"finish_reason":' + end + b"}]" + extra.encode() + b"}\n\n"
        return prefix + delta.encode() + tail

    # Text deltas are the bulk of a stream: splice the encoded piece into a template.
    deltas = ['{"reasoning_content":' + _encode(p) + "}" for p in pieces(answer.reasoning or "")]
    deltas += ['{"content":' + _encode(p) + "}" for p in pieces(answer.content or "")]
    for index, call in enumerate(answer.tool_calls):
        opening = {"index": index, "id": call.id, "type": "function"}
        opening["function"] = {"name": call.name, "arguments": ""}
        deltas.append(dumps({"tool_calls": [opening]}))
        for fragment in _fragments(call.arguments):
            delta = {"index": index, "function": {"arguments": fragment}}
            deltas.append(dumps({"tool_calls": [delta]}))
    usage_json = "" if usage is None else ',"usage":' + dumps(usage)
    if usage_in_content and deltas:
        last = raw(deltas.pop(), answer.finish_reason, usage_json)
        body = [raw(d) for d in deltas] + [last]
        tail = b""
    else:
        body = [raw(d) for d in deltas]
        tail = raw("{}", answer.finish_reason)
        if usage is not None:
            tail += f'data: {head},"choices":[]{usage_json}}}\n\n'.encode()
    tail += b"data: [DONE]\n\n"
    start = b": keep-alive\n\n" + raw(dumps({"role": "assistant", "content": ""}))
    return StreamParts(start, body, tail)
