"""Messages and content parts in the gateway's wire shape (plain dicts), built and checked locally.

Every builder validates before anything is sent: a missing file, an image of unknown type or an
empty message raises ``InvalidInputError`` naming the problem.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .errors import InvalidInputError

__all__ = [
    "assistant",
    "audio_part",
    "file_part",
    "image_part",
    "normalize_messages",
    "system",
    "text_part",
    "tool_result",
    "user",
]

Part = dict[str, Any]
MessageDict = dict[str, Any]
MessageLike = Mapping[str, Any] | BaseModel | str

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def sniff_image_type(data: bytes) -> str | None:
    """MIME type from the first bytes of an image, or ``None`` if it is not one we know."""
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_audio_format(data: bytes) -> str | None:
    """``"wav"`` or ``"mp3"`` from the first bytes of a recording, or ``None``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"ID3"):
        return "mp3"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:
        return "mp3"  # an MPEG audio frame: sync bits, and a layer (AAC's ADTS has none)
    return None


def _wrong_bytes(
    source: bytes | str | Path, kind: str, why: str, argument: str
) -> InvalidInputError:
    """Content that is not the kind it claims to be (named by its path, never shown)."""
    where = "the bytes given" if isinstance(source, bytes) else str(source)
    return InvalidInputError(
        f"{where} is not {kind} ({why})",
        hint=f"Check the file, or pass {argument}= if its format is one not recognised here",
    )


def _read_source(source: bytes | str | Path, what: str) -> tuple[bytes, str | None]:
    """Bytes and a guessed MIME type from raw bytes or a local path."""
    if isinstance(source, bytes):
        return source, None
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(f"{what} file not found: {path}")
    return path.read_bytes(), mimetypes.guess_type(path.name)[0]


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def text_part(text: str) -> Part:
    if not isinstance(text, str):
        raise InvalidInputError(f"text_part needs a string, not {type(text).__name__}")
    return {"type": "text", "text": text}


def image_part(
    source: str | bytes | Path,
    *,
    mime_type: str | None = None,
    detail: Literal["auto", "low", "high"] | None = None,
) -> Part:
    """An image from an http(s) URL, a ``data:image/...`` URL, raw bytes or a local file path.

    Bytes and files are recognised by their content (PNG, JPEG, GIF, WebP, BMP), never by the
    file's name: a text file named ``.png`` is refused. ``mime_type`` names another image format.
    """
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        url = source
    elif isinstance(source, str) and source.startswith("data:"):
        if not source[5:].lower().startswith("image/"):
            raise InvalidInputError("the data: URL does not hold an image (data:image/...)")
        url = source
    else:
        data, _ = _read_source(source, "image")
        mime = mime_type or sniff_image_type(data)
        if mime is None:
            raise _wrong_bytes(source, "an image", "cannot tell the image type", "mime_type")
        if not mime.startswith("image/"):
            raise InvalidInputError(f"mime_type must be an image type, got {mime!r}")
        url = data_url(data, mime)
    image_url: dict[str, Any] = {"url": url}
    if detail:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def audio_part(source: bytes | str | Path, *, format: str | None = None) -> Part:
    """Audio as ``input_audio`` (base64). WAV and MP3 are recognised by their bytes, never by
    the file's name; ``format`` (e.g. ``"flac"``) names another format."""
    data, _ = _read_source(source, "audio")
    fmt = format or sniff_audio_format(data)
    if not fmt:
        raise _wrong_bytes(source, "WAV or MP3 audio", "cannot tell the audio format", "format")
    return {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(data).decode("ascii"), "format": fmt},
    }


def file_part(
    source: bytes | str | Path, *, filename: str | None = None, mime_type: str | None = None
) -> Part:
    """A document (e.g. PDF) as a ``file`` part with a base64 data URL."""
    data, guessed = _read_source(source, "file")
    name = filename or (Path(source).name if not isinstance(source, bytes) else "file")
    mime = mime_type or guessed or ("application/pdf" if data.startswith(b"%PDF") else None)
    if mime == "application/pdf" and not mime_type and not data.startswith(b"%PDF"):
        raise _wrong_bytes(source, "a PDF", "it does not start with %PDF", "mime_type")
    if not mime:
        raise InvalidInputError("cannot tell the file type", hint="Pass mime_type=")
    return {"type": "file", "file": {"filename": name, "file_data": data_url(data, mime)}}


def _content(parts: Sequence[str | Part]) -> str | list[Part]:
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return [
        text_part(p) if isinstance(p, str) else _checked_part(p, f"part {i}")
        for i, p in enumerate(parts)
    ]


def system(text: str) -> MessageDict:
    return {"role": "system", "content": text}


def user(*parts: str | Part) -> MessageDict:
    """A user message: ``user("hi")`` or ``user("what is this?", image_part("cat.png"))``."""
    if not parts:
        raise InvalidInputError("a user message needs at least one part")
    return {"role": "user", "content": _content(parts)}


def assistant(
    content: str | None = None,
    *,
    tool_calls: Sequence[Mapping[str, Any]] | None = None,
    reasoning_content: str | None = None,
) -> MessageDict:
    """An assistant turn for the history; ``reasoning_content`` is sent back only to the models
    that need it (DeepSeek and Kimi thinking models, after a tool call) and dropped for others."""
    message: MessageDict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [dict(tc) for tc in tool_calls]
    if reasoning_content is not None:
        message["reasoning_content"] = reasoning_content
    return message


def tool_result(tool_call_id: str, content: str | Sequence[Part]) -> MessageDict:
    """The answer to one tool call; ``content`` may be text or parts (e.g. an image)."""
    if not tool_call_id:
        raise InvalidInputError("tool_result needs the tool_call_id it answers")
    if not isinstance(content, (str, list, tuple)):
        raise InvalidInputError(
            f"tool_result content is a {type(content).__name__}; pass a string or parts"
        )
    body: str | list[Part] = (
        content
        if isinstance(content, str)
        else [_checked_part(p, f"tool_result part {i}") for i, p in enumerate(content)]
    )
    return {"role": "tool", "tool_call_id": tool_call_id, "content": body}


def normalize_messages(
    messages: MessageLike | Iterable[MessageLike], *, developer_as_system: bool = False
) -> list[MessageDict]:
    """Wire dicts from strings, dicts or pydantic models; checked before anything is sent.

    A bare string is one user message. ``developer_as_system`` maps the ``developer`` role to
    ``system`` for models that reject it (some Qwen models).
    """
    if isinstance(messages, (str, Mapping, BaseModel)):
        messages = [messages]
    if not isinstance(messages, Iterable):
        raise InvalidInputError(
            f"messages is a {type(messages).__name__}; pass a string, a message dict or a list"
        )
    out = [_one_message(m, i, developer_as_system) for i, m in enumerate(messages)]
    if not out:
        raise InvalidInputError("messages is empty", hint="Pass at least one message")
    return out


def _one_message(message: MessageLike, index: int, developer_as_system: bool) -> MessageDict:
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if isinstance(message, BaseModel):
        message = message.model_dump(exclude_none=True)
    if not isinstance(message, Mapping):
        raise InvalidInputError(f"messages[{index}] is a {type(message).__name__}, not a message")
    role = message.get("role")
    if role not in _ROLES:
        raise InvalidInputError(f"messages[{index}] has role {role!r}; use one of {sorted(_ROLES)}")
    out = dict(message)
    if role == "developer" and developer_as_system:
        out["role"] = "system"
    if role == "tool" and not out.get("tool_call_id"):
        raise InvalidInputError(f"messages[{index}] is a tool message without tool_call_id")
    content = out.get("content")
    if content is None:
        if role != "assistant":
            raise InvalidInputError(f"messages[{index}] ({role}) has no content")
    elif isinstance(content, (list, tuple)):
        where = f"messages[{index}].content"
        out["content"] = [_checked_part(p, f"{where}[{i}]") for i, p in enumerate(content)]
    elif not isinstance(content, str):
        raise InvalidInputError(
            f"messages[{index}].content is a {type(content).__name__}; "
            "content is a string or a list of parts"
        )
    return out


def _checked_part(part: Any, where: str) -> Part:
    """One content part: a dict with a string ``type`` (and a string ``text`` for a text part)."""
    if isinstance(part, BaseModel):
        part = part.model_dump(exclude_none=True)
    if not isinstance(part, Mapping):
        raise InvalidInputError(
            f"{where} is a {type(part).__name__}, not a content part",
            hint="Parts are dicts such as {'type': 'text', 'text': ...}; see text_part, image_part",
        )
    kind = part.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidInputError(f"{where} has no 'type' (e.g. 'text' or 'image_url')")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise InvalidInputError(f"{where} is a text part whose 'text' is not a string")
    return dict(part)
