"""Reading the gateway's error bodies, whatever their layout. Pure; nothing here raises.

AIsa's docs and captured fixtures show several layouts, and a client must read them all:

- ``{"error": {"type", "code", "message", "request_id"}}`` (the documented one);
- ``{"error": "<message>"}``, and ``{"error": {"message"}, "code"}``;
- the runtime's ``{"code", "error": "<message>", "request_id"}``, sometimes with ``retryable``;
- Gemini's ``{"error": {"code": <HTTP status>, "message", "status": "<RPC status name>"}}``,
  whose machine-readable code is the status name (``RESOURCE_EXHAUSTED``, ...);
- plain text, such as ``404 page not found``.

``aisa_core.errors`` turns what these functions read into a typed error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "json_object",
    "message_from_mapping",
    "parse_error_body",
    "parse_retry_after",
    "retryable_flag",
    "safe_dumps",
]


def json_object(text: str) -> Mapping[str, Any] | None:
    """``text`` parsed as a JSON object, or ``None``."""
    try:
        data: Any = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    return data if isinstance(data, Mapping) else None


def parse_error_body(body: str | bytes | None) -> tuple[str, str | None, str | None]:
    """Return ``(message, code, request_id)`` from any error body the gateway is known to send."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    data = json_object(text)
    if data is None:
        return (text.strip()[:500] or "no error message in the response"), None, None
    return message_from_mapping(data)


def message_from_mapping(data: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    error = data.get("error")
    inner: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
    message = inner.get("message") or (error if isinstance(error, str) else None)
    message = message or data.get("message") or data.get("detail")
    code = inner.get("code") or data.get("code")
    if isinstance(code, int) and isinstance(inner.get("status"), str):
        code = inner["status"]  # Gemini's layout: the number only repeats the HTTP status
    request_id = inner.get("request_id") or data.get("request_id")
    if not message:
        message = safe_dumps(data)[:500]
    return (
        str(message),
        None if code is None else str(code),
        None if request_id is None else str(request_id),
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``Retry-After`` (or ``retry-after-ms``); ``None`` when absent, unreadable or
    not a finite number (an HTTP date is rare here: our own backoff applies then)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) / scale
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def safe_dumps(data: Any) -> str:
    """``data`` as JSON text for a message, or a placeholder when it cannot be written."""
    try:
        return json.dumps(data)
    except (ValueError, TypeError, RecursionError):
        return "(an error body that cannot be shown)"


def retryable_flag(body: str | Mapping[str, Any] | None) -> bool | None:
    """The body's own boolean ``retryable`` (in its ``error`` object or at the top level)."""
    data = json_object(body) if isinstance(body, str) else body
    inner = data.get("error") if data is not None else None
    flags = [s.get("retryable") for s in (inner, data) if isinstance(s, Mapping)]
    return next((f for f in flags if isinstance(f, bool)), None)
