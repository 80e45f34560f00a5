"""One server-sent event to one chunk: ``[DONE]``, an in-band ``error`` event, or a chunk. Pure."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from aisa_core.errors import MalformedResponseError, error_from_body, redact
from aisa_core.types import ChatCompletionChunk

from .sse import ServerSentEvent

__all__ = ["DONE", "parse_event", "split_printed"]

DONE = "[DONE]"


def parse_event(event: ServerSentEvent, *, model: str | None = None) -> ChatCompletionChunk | None:
    """One event to a chunk. ``None`` means the stream is finished (``[DONE]``)."""
    data = event.data
    if data.strip() == DONE:
        return None
    if '"error"' not in data:  # the common case: one pass from JSON text to the model
        try:
            return ChatCompletionChunk.model_validate_json(data)
        except ValidationError:
            pass  # fall through for the precise error below
    try:
        raw: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise MalformedResponseError(
            f"stream event is not JSON: {redact(data[:200])!r}", model=model
        ) from exc
    if not isinstance(raw, dict):
        raise MalformedResponseError(f"stream event is not an object: {redact(data[:200])!r}")
    if "error" in raw and not raw.get("choices"):
        raise error_from_body(raw, model=model)
    try:
        return ChatCompletionChunk.model_validate(raw)
    except ValidationError as exc:
        raise MalformedResponseError(f"unexpected stream chunk: {exc.errors()[0]['msg']}") from exc


def split_printed(event: ServerSentEvent) -> list[ServerSentEvent]:
    """An event as the events its sender meant.

    AIsa's documentation prints streams with no blank line between ``data:`` lines, and a
    server written from it sends several chunks as one event: its data, the lines joined, is
    not JSON, but each line is (or is ``[DONE]``). Such an event is split into one event per
    line. Any other event (one line, or one JSON value spread over several lines as the SSE
    spec allows) is returned as it is, and fails later if it is not JSON.
    """
    data = event.data
    if "\n" not in data:
        return [event]
    lines = [line for line in data.split("\n") if line.strip()]
    if len(lines) < 2 or _is_json(data):
        return [event]
    if not all(line.strip() == DONE or _is_json(line) for line in lines):
        return [event]
    return [ServerSentEvent(line, event.event, event.id, event.retry) for line in lines]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
