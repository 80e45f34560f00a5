"""Faults: the ways AIsa can fail on the wire, and its less usual layouts, described as data.

A :class:`Fault` is a frozen value so it can be queued, shared between threads and
compared in tests. It also round-trips through a compact text spec so a fault can be
requested per HTTP request with the ``x-standin-fault`` header, which is how a test in
one process breaks a call made by a client in another.

Error bodies come in every layout AIsa's docs and captured fixtures show (``BODY_STYLES``):
the documented ``{"error": {type, code, message, request_id}}`` object, a bare string, a
top-level ``code``, the runtime ``{code, error: "<message>", request_id}`` form, Gemini's
``{"error": {code: <status>, message, status: "<RPC status>"}}`` and plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import Any, Literal, get_args

BodyStyle = Literal["object", "string", "top_code", "runtime", "gemini", "text"]
BODY_STYLES: tuple[str, ...] = get_args(BodyStyle)
RateLimitScheme = Literal["split", "plain"]
RATE_LIMIT_SCHEMES: tuple[str, ...] = get_args(RateLimitScheme)

FAULT_HEADER = "x-standin-fault"
"""Request header carrying a :meth:`Fault.parse` spec for that request only."""

# status -> (error type, code, message). "{model}" is replaced by the requested model id.
# The codes are the ones aisa-api.md lists for each status.
_STATUS_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "Invalid request."),
    401: ("authentication_error", "invalid_api_key", "Invalid API key."),
    402: (
        "insufficient_balance_error",
        "insufficient_wallet_balance",
        "Insufficient wallet balance.",
    ),
    403: ("permission_error", "model_not_allowed", "This API key may not use model {model}."),
    404: ("invalid_request_error", "model_not_found", "The model {model} does not exist."),
    409: ("conflict_error", "request_in_progress", "A request with this key is in progress."),
    422: ("invalid_request_error", "unsupported_parameter", "The provider rejected a parameter."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded, retry later."),
    500: ("server_error", "internal_error", "Internal server error."),
    502: ("upstream_error", "upstream_unavailable", "The upstream provider is unavailable."),
    503: (
        "new_api_error",
        "provider_unavailable",
        "No available channels for model {model} under group default",
    ),
    504: ("upstream_error", "upstream_timeout", "The upstream provider timed out."),
}

# The in-band error of a 200 stream has no HTTP status of its own.
STREAM_ERROR_DEFAULTS = (
    "upstream_error",
    "upstream_error",
    "The upstream provider failed mid-stream.",
)

# Google's RPC status names, as Gemini's error bodies spell them, per HTTP status.
_RPC_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_INT_FIELDS = frozenset({"status", "error_after_chunks", "drop_after_chunks"})
_FLOAT_FIELDS = frozenset({"retry_after", "delay", "chunk_delay"})
_STR_FIELDS = frozenset({"code", "message", "body_style", "rate_limit"})
_BOOL_FIELDS = frozenset({"malformed", "retryable", "usage_in_content"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Fault:
    """One way for a request to go wrong, or to be answered in a less usual documented layout.

    ``status`` set: an HTTP error with an AIsa error body (``code``/``message`` default per
    status; ``body_style`` picks which of the gateway's body layouts, by default the route's
    own: ``"gemini"`` on ``generateContent``, ``"object"`` elsewhere; ``retryable`` adds that
    field to a JSON body). Otherwise the fault alters a normal 200 answer:
    ``error_after_chunks`` (in-band stream error, no ``[DONE]``), ``drop_after_chunks``
    (connection closed mid-body), ``malformed`` (invalid JSON), ``usage_in_content`` (a
    stream's finish reason and usage ride on its last content chunk, with no separate
    finish or usage chunk). ``rate_limit`` adds ``X-RateLimit-*`` headers in either scheme
    to any answer. ``delay`` and ``chunk_delay`` slow any answer down.
    """

    status: int | None = None
    code: str | None = None
    message: str | None = None
    body_style: BodyStyle | None = None
    retryable: bool | None = None
    retry_after: float | None = None
    rate_limit: RateLimitScheme | None = None
    error_after_chunks: int | None = None
    drop_after_chunks: int | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    malformed: bool = False
    usage_in_content: bool = False

    def __post_init__(self) -> None:
        # Validate eagerly: a typo in a test should fail where it is written, not as a
        # puzzling 500 from the server thread.
        if self.status is not None and (
            isinstance(self.status, bool)
            or not isinstance(self.status, int)
            or not 400 <= self.status <= 599
        ):
            raise ValueError(
                f"Fault.status must be an HTTP error status 400-599, not {self.status!r}"
            )
        if self.body_style is not None and self.body_style not in BODY_STYLES:
            raise ValueError(
                f"Fault.body_style must be one of {BODY_STYLES}, not {self.body_style!r}"
            )
        if self.rate_limit is not None and self.rate_limit not in RATE_LIMIT_SCHEMES:
            raise ValueError(
                f"Fault.rate_limit must be one of {RATE_LIMIT_SCHEMES}, not {self.rate_limit!r}"
            )
        if self.retryable is not None and not isinstance(self.retryable, bool):
            raise ValueError(f"Fault.retryable must be a bool or None, not {self.retryable!r}")
        for name in ("error_after_chunks", "drop_after_chunks"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"Fault.{name} must be a non-negative int, not {value!r}")
        if self.error_after_chunks is not None and self.drop_after_chunks is not None:
            raise ValueError("Fault: set error_after_chunks or drop_after_chunks, not both")
        for name in ("retry_after", "delay", "chunk_delay"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value >= 0):
                raise ValueError(f"Fault.{name} must be a non-negative number, not {value!r}")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Build a fault from ``"key=value;key=value"`` (the ``x-standin-fault`` header).

        Keys are the field names (``-`` may stand for ``_``). A bare number is a status and a
        bare flag name (``malformed``, ``usage_in_content``) sets it: ``"429;retry_after=1"``,
        ``"drop_after_chunks=3"``, ``"status=503;body_style=runtime;retryable=false"``.
        """
        values: dict[str, Any] = {}
        for raw in spec.split(";"):
            item = raw.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower().replace("-", "_")
            value = value.strip()
            if not sep:
                if key.isdigit():
                    key, value = "status", key
                elif key in _BOOL_FIELDS:
                    value = "true"
                else:
                    raise ValueError(f"fault spec item {item!r} needs a value (key=value)")
            values[key] = _convert(key, value)
        if not values:
            raise ValueError("empty fault spec")
        return cls(**values)

    def spec(self) -> str:
        """The compact text form accepted by :meth:`parse` (for the ``x-standin-fault`` header)."""
        items: list[str] = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            if field.name == "malformed":
                items.append("malformed")
                continue
            if isinstance(value, bool):
                value = str(value).lower()
            text = str(value)
            if ";" in text or "\n" in text or "\r" in text:
                raise ValueError(f"Fault.{field.name} cannot contain ';' or newlines in a spec")
            items.append(f"{field.name}={text}")
        return ";".join(items)

    def described(self, model: str | None) -> tuple[str, str, str]:
        """``(error type, code, message)`` for this fault's HTTP error, defaults filled in."""
        status = self.status if self.status is not None else 500
        error_type, code, message = status_defaults(status, model)
        return error_type, self.code or code, self.message or message

    def stream_error(self) -> tuple[str, str, str]:
        """``(type, code, message)`` of the in-band error event of ``error_after_chunks``."""
        error_type, code, message = STREAM_ERROR_DEFAULTS
        return error_type, self.code or code, self.message or message


def status_defaults(status: int, model: str | None) -> tuple[str, str, str]:
    """The gateway's usual ``(type, code, message)`` for an HTTP error status."""
    found = _STATUS_DEFAULTS.get(status)
    if found is None:
        phrase = _phrase(status)
        return ("server_error" if status >= 500 else "invalid_request_error"), "error", phrase
    error_type, code, message = found
    return error_type, code, message.replace("{model}", model or "(none)")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def plain_text_message(status: int) -> str:
    """What a non-JSON upstream error body looks like, e.g. ``404 page not found``."""
    if status == 404:
        return "404 page not found"
    return f"{status} {_phrase(status)}"


def rpc_status(status: int) -> str:
    """Google's RPC status name for an HTTP status (``UNKNOWN`` when there is none)."""
    return _RPC_STATUS.get(status, "INTERNAL" if status >= 500 else "UNKNOWN")


def error_body(
    style: str,
    *,
    status: int,
    error_type: str,
    code: str,
    message: str,
    request_id: str,
    retryable: bool | None = None,
    rpc: str | None = None,
) -> tuple[bytes, bytes]:
    """``(content type, body)`` of an error response in one of AIsa's body layouts.

    ``retryable`` (when not ``None``) goes where each layout keeps its facts: inside the
    ``error`` object, or at the top level. ``rpc`` overrides Gemini's ``status`` name."""
    if style == "text":
        return b"text/plain; charset=utf-8", message.encode()
    payload: dict[str, Any]
    inner: dict[str, Any] | None = None
    if style == "string":
        payload = {"error": message}
    elif style == "top_code":
        payload = {"error": {"message": message}, "code": code}
    elif style == "runtime":
        payload = {"code": code, "error": message, "request_id": request_id}
    elif style == "gemini":
        inner = {"code": status, "message": message, "status": rpc or rpc_status(status)}
        payload = {"error": inner}
    else:
        inner = {"type": error_type, "code": code, "message": message, "request_id": request_id}
        payload = {"error": inner}
    if retryable is not None:
        (payload if inner is None else inner)["retryable"] = retryable
    return b"application/json", json.dumps(payload, separators=(",", ":")).encode()


def _convert(key: str, value: str) -> Any:
    try:
        if key in _INT_FIELDS:
            return int(value)
        if key in _FLOAT_FIELDS:
            return float(value)
    except ValueError:
        raise ValueError(f"fault spec: {key}={value!r} is not a number") from None
    if key in _STR_FIELDS:
        return value
    if key in _BOOL_FIELDS:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"fault spec: {key}={value!r} is not a boolean")
    raise ValueError(f"fault spec: unknown key {key!r}")
