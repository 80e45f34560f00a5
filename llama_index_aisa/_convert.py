"""Request side: LlamaIndex ``ChatMessage``s and content blocks to the gateway's wire dicts,
and the tool options of a request. No network I/O: media are read only from the bytes or
local paths the caller gave, and a URL is passed on to the gateway, never fetched here.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from io import IOBase
from pathlib import Path
from typing import Any, Literal

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from pydantic import BaseModel

from aisa_core import InvalidInputError, audio_part, file_part, image_part

__all__ = ["as_dict", "to_wire_messages", "tool_request"]

Part = dict[str, Any]
WireMessage = dict[str, Any]

_ROLES: dict[str, str] = {
    MessageRole.SYSTEM.value: "system",
    MessageRole.DEVELOPER.value: "developer",
    MessageRole.USER.value: "user",
    MessageRole.ASSISTANT.value: "assistant",
    MessageRole.TOOL.value: "tool",
    MessageRole.FUNCTION.value: "tool",
    MessageRole.CHATBOT.value: "assistant",
    MessageRole.MODEL.value: "assistant",
}
_TEXT_ONLY_ROLES = frozenset({"system", "developer"})
_TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
_DETAIL: dict[str, Literal["auto", "low", "high"]] = {"auto": "auto", "low": "low", "high": "high"}
_BLOCKS_NOT_SENT = (ThinkingBlock, CachePoint)  # reasoning goes on the message; cache: hints


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[WireMessage]:
    """OpenAI-format message dicts; raises ``InvalidInputError`` naming any block it cannot send."""
    return [_wire_message(m, i) for i, m in enumerate(messages)]


def _wire_message(message: ChatMessage, index: int) -> WireMessage:
    role = _ROLES.get(_role_value(message.role), "user")
    parts: list[Part] = []
    calls: list[ToolCallBlock] = []
    thoughts: list[str] = []
    for block in message.blocks:
        if isinstance(block, ToolCallBlock):
            calls.append(block)
        elif isinstance(block, ThinkingBlock):
            thoughts.append(block.content or "")
        else:
            parts.extend(_wire_parts(block, index))
    if role in _TEXT_ONLY_ROLES and any(p["type"] != "text" for p in parts):
        raise InvalidInputError(f"messages[{index}]: a {role} message can hold only text")
    wire: WireMessage = {"role": role, "content": _content(parts)}
    extra = message.additional_kwargs
    if role == "tool" and extra.get("tool_call_id"):
        wire["tool_call_id"] = extra["tool_call_id"]
    if extra.get("name"):
        wire["name"] = extra["name"]
    if role == "assistant":
        tool_calls = _wire_tool_calls(calls, extra.get("tool_calls"))
        if tool_calls:
            wire["tool_calls"] = tool_calls
            if not parts:
                wire["content"] = None
        reasoning = "".join(thoughts) if thoughts else extra.get("reasoning_content")
        if isinstance(reasoning, str):
            wire["reasoning_content"] = reasoning  # the core keeps it only where it is needed
    return wire


def _role_value(role: MessageRole | str) -> str:
    return role.value if isinstance(role, MessageRole) else str(role)


def _content(parts: list[Part]) -> str | list[Part]:
    """Plain text when there is only text (every provider takes that), else the part list."""
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _wire_parts(block: Any, index: int) -> list[Part]:
    if isinstance(block, TextBlock):
        return [{"type": "text", "text": block.text}]
    if isinstance(block, ImageBlock):
        return [_image_part(block, index)]
    if isinstance(block, AudioBlock):
        return [_audio_part(block, index)]
    if isinstance(block, DocumentBlock):
        return [_document_part(block, index)]
    if isinstance(block, VideoBlock):
        return [_video_part(block, index)]
    if isinstance(block, CitableBlock):
        return [p for inner in block.content for p in _wire_parts(inner, index)]
    if isinstance(block, CitationBlock):
        return [p for inner in block.cited_content for p in _wire_parts(inner, index)]
    if isinstance(block, _BLOCKS_NOT_SENT):
        return []
    kind = getattr(block, "block_type", "?")
    raise InvalidInputError(
        f"messages[{index}]: AISA cannot send a {type(block).__name__} ({kind!r}) block",
        hint="Supported: text, image, audio, video, document, citable, citation, tool_call, "
        "thinking (sent back as the turn's reasoning) and cache (ignored)",
    )


# What to do about a media block that cannot be sent, in LlamaIndex's own terms (the core's hints
# name the core builders' arguments, which a LlamaIndex user never sees).
_HINTS = {
    "image": "Set image_mimetype= on the ImageBlock (e.g. 'image/png')",
    "audio": "Set format= on the AudioBlock (e.g. 'wav' or 'mp3')",
    "document": "Set document_mimetype= on the DocumentBlock (e.g. 'application/pdf', "
    "'text/plain')",
    "video": "Set video_mimetype= on the VideoBlock (e.g. 'video/mp4')",
}


def _built(build: Callable[[], Part], index: int, kind: str) -> Part:
    """A core builder's part; its error gets the message's index and a LlamaIndex hint."""
    try:
        return build()
    except InvalidInputError as exc:
        raise InvalidInputError(f"messages[{index}]: {exc.message}", hint=_HINTS[kind]) from exc


def _image_part(block: ImageBlock, index: int) -> Part:
    detail = _DETAIL.get(block.detail or "")
    if block.image is None and block.path is None and block.url is not None:
        return image_part(str(block.url), detail=detail)  # passed on, never fetched
    data = _local_bytes(block, block.image, block.path, index, block.resolve_image)
    mime = block.image_mimetype
    return _built(lambda: image_part(data, mime_type=mime, detail=detail), index, "image")


def _audio_part(block: AudioBlock, index: int) -> Part:
    data = _local_bytes(block, block.audio, block.path, index, block.resolve_audio)
    return _built(lambda: audio_part(data, format=block.format), index, "audio")


# Documents whose content is text are sent as text: every model reads that, while a ``file``
# part is meant for PDFs.
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/yaml"})


def _document_part(block: DocumentBlock, index: int) -> Part:
    """A PDF (or other binary document) as a ``file`` part; a text document as text."""
    data = _local_bytes(block, block.data, block.path, index, block.resolve_document)
    name = Path(str(block.path)).name if block.path else (block.title or "document")
    mime = block.document_mimetype or mimetypes.guess_type(name)[0] or _sniff_document(data)
    if mime is None:
        message = f"messages[{index}]: cannot tell the type of the document {name!r}"
        raise InvalidInputError(message, hint=_HINTS["document"])
    if mime.startswith("text/") or mime in _TEXT_TYPES:
        try:
            return {"type": "text", "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            message = f"messages[{index}]: the {mime} document {name!r} is not UTF-8 text"
            raise InvalidInputError(message, hint=_HINTS["document"]) from None
    return _built(lambda: file_part(data, filename=name, mime_type=mime), index, "document")


def _sniff_document(data: bytes) -> str | None:
    if data.startswith(b"%PDF"):
        return "application/pdf"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    binary = any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)
    return None if binary else "text/plain"


def _video_part(block: VideoBlock, index: int) -> Part:
    if block.video is None and block.path is None and block.url is not None:
        url = str(block.url)
    else:
        data = _local_bytes(block, block.video, block.path, index, block.resolve_video)
        if not block.video_mimetype:
            message = f"messages[{index}]: cannot tell the video type"
            raise InvalidInputError(message, hint=_HINTS["video"])
        url = f"data:{block.video_mimetype};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "video_url", "video_url": {"url": url}}


def _local_bytes(
    block: Any, data: Any, path: Any, index: int, resolve: Callable[[], IOBase]
) -> bytes:
    """Raw bytes of a media block. Only local data is read: this package never fetches a URL
    on the caller's behalf (a surprise download, and a request the caller did not make)."""
    if data is None and path is None:
        raise InvalidInputError(
            f"messages[{index}]: a {type(block).__name__} given only by URL cannot be sent",
            hint="Download it and pass the bytes or a local path",
        )
    raw: bytes = resolve().read()
    return raw


def _wire_tool_calls(blocks: list[ToolCallBlock], legacy: Any) -> list[dict[str, Any]]:
    """Tool calls from ``ToolCallBlock``s, with provider extras (e.g. Gemini's
    ``extra_content.google.thought_signature``) restored from ``additional_kwargs`` by id."""
    stored = [as_dict(tc) for tc in legacy] if isinstance(legacy, list) else []
    if not blocks:
        return stored
    extras = {tc.get("id"): tc for tc in stored}
    out = []
    for block in blocks:
        kept = extras.get(block.tool_call_id, {})
        call = {k: v for k, v in kept.items() if k not in _TOOL_CALL_KEYS}
        function = {
            k: v for k, v in (kept.get("function") or {}).items() if k not in ("name", "arguments")
        }
        args = block.tool_kwargs
        arguments = args if isinstance(args, str) else json.dumps(args)
        function.update(name=block.tool_name, arguments=arguments)
        call.update(id=block.tool_call_id or "", type="function", function=function)
        out.append(call)
    return out


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return dict(value) if isinstance(value, Mapping) else {}


def tool_request(
    specs: list[dict[str, Any]],
    choice: str | dict[str, Any] | None,
    required: bool,
    parallel: bool,
    strict: bool | None,
) -> dict[str, Any]:
    """``tools`` and the options that only make sense with them; nothing when there are none
    (a ``tool_choice`` without tools is refused by providers)."""
    if not specs:
        return {}
    if strict:
        for spec in specs:  # strict schemas must close every object
            spec["function"]["parameters"].setdefault("additionalProperties", False)
    request: dict[str, Any] = {"tools": specs, "parallel_tool_calls": parallel}
    if choice is None and required:
        choice = "required"
    if choice is not None:
        request["tool_choice"] = choice
    if strict is not None:
        request["strict"] = strict
    return request
