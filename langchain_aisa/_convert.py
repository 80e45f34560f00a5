"""LangChain messages to the gateway's wire shape. Pure: no I/O.

``_convert_messages`` turns LangChain messages, and the content blocks in them, into the
OpenAI-format dicts the core sends. Blocks may be LangChain's standard v1 blocks, its v0 data
blocks, OpenAI parts or Anthropic-style image sources; each kind has one small converter in
``_BLOCK_CONVERTERS``, and kinds it does not know pass through unchanged (the gateway passes
unknown fields on to the provider). Anything that cannot be sent raises ``InvalidInputError``
before a request is made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)

from aisa_core.errors import InvalidInputError

__all__ = ["_convert_block", "_convert_content", "_convert_message", "_convert_messages"]

WireDict = dict[str, Any]


_ROLE_BY_TYPE = {"human": "user", "system": "system", "developer": "developer"}


def _convert_messages(messages: Sequence[BaseMessage]) -> list[WireDict]:
    return [_convert_message(m) for m in messages]


def _convert_message(message: BaseMessage) -> WireDict:
    """One LangChain message as an OpenAI-format message dict."""
    if isinstance(message, AIMessage):
        return _convert_ai_message(message)
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": _convert_content(message.content, flatten_text=True),
        }
    if isinstance(message, FunctionMessage):
        return {"role": "function", "name": message.name, "content": message.text}
    if isinstance(message, ChatMessage):
        role = message.role
    elif isinstance(message, (HumanMessage, SystemMessage)):
        role = _ROLE_BY_TYPE[message.type]
        if message.additional_kwargs.get("__openai_role__") == "developer":
            role = "developer"
    else:
        raise InvalidInputError(f"cannot send a {type(message).__name__} to a chat model")
    wire: WireDict = {
        "role": role,
        "content": _convert_content(message.content, flatten_text=role != "user"),
    }
    if message.name:
        wire["name"] = message.name
    return wire


def _convert_ai_message(message: AIMessage) -> WireDict:
    """An assistant turn: its text (non-text blocks such as ``tool_use`` are dropped; the tool
    calls come from ``tool_calls``), its tool calls, its reasoning, and any provider extras kept
    from the answer (e.g. Gemini thought signatures) so the next turn is accepted.

    The reasoning (``additional_kwargs["reasoning_content"]``, else the text of ``reasoning``
    or ``thinking`` content blocks) goes out as ``reasoning_content``; the core sends it on only
    to the models that need it back (DeepSeek and Kimi thinking models) and drops it for the
    rest."""
    text = _text_of(message.content)
    extras: Mapping[str, Any] = message.additional_kwargs.get("tool_call_extras") or {}
    calls = [_convert_tool_call(c, extras) for c in message.tool_calls]
    calls += [_convert_invalid_tool_call(c) for c in message.invalid_tool_calls]
    wire: WireDict = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        wire["tool_calls"] = calls
    reasoning = _reasoning_of(message)
    if reasoning is not None:
        wire["reasoning_content"] = reasoning
    if message.name:
        wire["name"] = message.name
    return wire


_REASONING_BLOCKS = {"reasoning": "reasoning", "thinking": "thinking"}  # block type -> text key


def _reasoning_of(message: AIMessage) -> str | None:
    kept = message.additional_kwargs.get("reasoning_content")
    if isinstance(kept, str):
        return kept
    if isinstance(message.content, str):
        return None
    texts = [
        str(block.get(_REASONING_BLOCKS[block["type"]]) or "")
        for block in message.content
        if isinstance(block, dict) and block.get("type") in _REASONING_BLOCKS
    ]
    return "".join(texts) if texts else None


def _convert_tool_call(call: ToolCall, extras: Mapping[str, Any]) -> WireDict:
    arguments = json.dumps(call["args"], ensure_ascii=False, separators=(",", ":"))
    wire: WireDict = {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": arguments},
    }
    extra = extras.get(call["id"] or "")
    if isinstance(extra, Mapping):
        wire.update(extra)
    return wire


def _convert_invalid_tool_call(call: InvalidToolCall) -> WireDict:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"] or "", "arguments": call["args"] or ""},
    }


def _text_of(content: str | list[str | dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    parts = [
        p if isinstance(p, str) else p.get("text", "")
        for p in content
        if isinstance(p, str) or p.get("type") in ("text", "text-plain")
    ]
    return "".join(parts)


def _convert_content(
    content: str | list[str | dict[str, Any]], *, flatten_text: bool = False
) -> str | list[WireDict]:
    """Message content as a string or OpenAI content parts.

    ``flatten_text`` joins text-only part lists into one string, for roles where some
    providers accept only a string (system, tool)."""
    if isinstance(content, str):
        return content
    parts = [_convert_block(b) for b in content]
    if flatten_text and all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _convert_block(block: str | Mapping[str, Any]) -> WireDict:
    """One content block as an OpenAI content part; unknown kinds pass through unchanged."""
    if isinstance(block, str):
        return {"type": "text", "text": block}
    converter = _BLOCK_CONVERTERS.get(block.get("type", ""))
    return converter(block) if converter is not None else dict(block)


def _data_url(block: Mapping[str, Any], what: str) -> str | None:
    """A ``data:`` URL from a v1 (``base64``) or v0 (``source_type: base64``, ``data``) block."""
    data = block.get("base64")
    if data is None and block.get("source_type") == "base64":
        data = block.get("data")
    if data is None:
        return None
    mime = block.get("mime_type")
    if not mime:
        raise InvalidInputError(f"a base64 {what} block needs mime_type", hint="e.g. 'image/png'")
    return f"data:{mime};base64,{data}"


def _source_url(block: Mapping[str, Any]) -> str | None:
    """The URL of a block: v1/v0 ``url``, or an Anthropic-style ``source``."""
    url = block.get("url")
    if isinstance(url, str):
        return url
    source = block.get("source")
    if isinstance(source, Mapping):
        if source.get("type") == "base64":
            return f"data:{source.get('media_type')};base64,{source.get('data')}"
        if isinstance(source.get("url"), str):
            return str(source["url"])
    return None


def _text_block(block: Mapping[str, Any]) -> WireDict:
    return {"type": "text", "text": block.get("text", "")}


def _image_block(block: Mapping[str, Any]) -> WireDict:
    url = _data_url(block, "image") or _source_url(block)
    if url is None:
        raise InvalidInputError(
            "an image block needs a url or base64 data",
            hint="Chat Completions cannot take an image by file id",
        )
    image_url: WireDict = {"url": url}
    detail = block.get("detail") or (block.get("extras") or {}).get("detail")
    if detail:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def _image_url_block(block: Mapping[str, Any]) -> WireDict:
    image_url = block.get("image_url")
    if isinstance(image_url, str):
        return {"type": "image_url", "image_url": {"url": image_url}}
    return dict(block)


_DEFAULT_FILENAMES = {"application/pdf": "document.pdf"}


def _file_block(block: Mapping[str, Any]) -> WireDict:
    if isinstance(block.get("file"), Mapping):
        return dict(block)  # already OpenAI's shape
    file_id = block.get("file_id") or (
        block.get("id") if block.get("source_type") == "id" else None
    )
    if file_id:
        return {"type": "file", "file": {"file_id": file_id}}
    data_url = _data_url(block, "file")
    if data_url is None:
        raise InvalidInputError(
            "a file block needs base64 data or a file_id",
            hint="Chat Completions cannot fetch a file by URL; download it and pass base64",
        )
    extras = block.get("extras") or block.get("metadata") or {}
    filename = block.get("filename") or extras.get("filename")
    filename = filename or _DEFAULT_FILENAMES.get(block.get("mime_type", ""), "file")
    return {"type": "file", "file": {"filename": filename, "file_data": data_url}}


_AUDIO_FORMATS = {"mpeg": "mp3", "x-wav": "wav", "wave": "wav", "x-m4a": "m4a"}


def _audio_block(block: Mapping[str, Any]) -> WireDict:
    data = block.get("base64")
    if data is None and block.get("source_type") == "base64":
        data = block.get("data")
    mime = block.get("mime_type") or ""
    if data is None or not mime:
        raise InvalidInputError(
            "an audio block needs base64 data and mime_type",
            hint="Chat Completions takes audio only inline, e.g. mime_type='audio/wav'",
        )
    subtype = mime.split("/")[-1]
    return {
        "type": "input_audio",
        "input_audio": {"data": data, "format": _AUDIO_FORMATS.get(subtype, subtype)},
    }


def _video_block(block: Mapping[str, Any]) -> WireDict:
    """Best effort: ``video_url`` parts, which the gateway passes to models that read video."""
    url = _data_url(block, "video") or _source_url(block)
    if url is None:
        raise InvalidInputError("a video block needs a url or base64 data")
    return {"type": "video_url", "video_url": {"url": url}}


def _non_standard_block(block: Mapping[str, Any]) -> WireDict:
    value = block.get("value")
    return dict(value) if isinstance(value, Mapping) else dict(block)


_BLOCK_CONVERTERS: dict[str, Callable[[Mapping[str, Any]], WireDict]] = {
    "text": _text_block,
    "text-plain": _text_block,
    "image": _image_block,
    "image_url": _image_url_block,
    "file": _file_block,
    "audio": _audio_block,
    "video": _video_block,
    "non_standard": _non_standard_block,
}
