"""Requests and answers as plain data, and what every answer's headers and status say. Pure.

The protocol never sees an HTTP library: an operation describes a ``Request`` and reads a
``Reply``; ``aisa_core.transport`` turns one into the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from aisa_core.config import Timeouts
from aisa_core.errors import (
    APIError,
    InvalidInputError,
    MalformedResponseError,
    error_from_response,
)
from aisa_core.types import RateLimit, ResponseMeta

__all__ = [
    "Reply",
    "Request",
    "cost_micros_from",
    "dumps",
    "is_json",
    "meta_from",
    "parse_json",
    "parse_mapping",
    "parse_object",
    "path_segment",
    "raise_for_status",
    "rate_limit_from",
    "reads_whole",
    "unexpected",
]


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request. ``timeouts`` overrides the client's for this call only."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    timeouts: Timeouts | None = None


@dataclass(slots=True)
class Reply:
    """An answer: status, headers with lower-case names, and the body read so far (all of it,
    except for an event stream, whose body the transport keeps open)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the gateway expects it; a body that is not valid JSON (``NaN``,
    ``Infinity``, an object JSON has no form for, text that is not valid Unicode) is an
    ``InvalidInputError`` before anything is sent."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        # ValueError: NaN or Infinity, a circular reference; UnicodeEncodeError (a ValueError):
        # a lone surrogate; TypeError: a set, bytes, an object of a class JSON does not know.
        raise InvalidInputError(
            f"the request body is not valid JSON: {_reason(exc)}",
            hint="Send only strings, finite numbers, booleans, None, lists and dicts",
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "text holds a lone surrogate (not valid Unicode)"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc).split(":")[0] if isinstance(exc, ValueError) else str(exc)


def path_segment(text: str) -> str:
    """``text`` as one URL path segment: every reserved character quoted (``/``, ``?``, ``#``,
    ``:`` ...), and ``.`` or ``..`` too, which URL normalisation would otherwise resolve to
    another endpoint."""
    quoted = quote(text, safe="")
    return quoted.replace(".", "%2E") if quoted.strip(".") == "" else quoted


def is_json(reply: Reply) -> bool:
    return reply.headers.get("content-type", "").startswith("application/json")


def reads_whole(reply: Reply) -> bool:
    """Whether a stream request's answer is read whole: an error, a redirect, or a JSON answer
    (a backend that ignored ``stream=true``); anything else is an event stream."""
    return reply.status >= 300 or is_json(reply)


def rate_limit_from(headers: Mapping[str, str]) -> RateLimit | None:
    """``X-RateLimit-*`` in OpenAI's scheme (``-limit-requests``), the other
    (``-requests-limit``) or the generic one without a kind (``X-RateLimit-Limit``, read as
    requests); ``None`` when the gateway sent none. Keys are lower case."""
    found: dict[str, Any] = {}
    for kind in ("requests", "tokens"):
        for what in ("limit", "remaining", "reset"):
            value = headers.get(f"x-ratelimit-{what}-{kind}") or headers.get(
                f"x-ratelimit-{kind}-{what}"
            )
            if value is None and kind == "requests":
                value = headers.get(f"x-ratelimit-{what}")
            if value is not None:
                found[f"{what}_{kind}"] = value
    if not found:
        return None
    try:
        return RateLimit.model_validate(found)
    except ValidationError:
        return None


_INT64_MAX = 2**63 - 1


def cost_micros_from(raw: str | None) -> int | None:
    """``X-AISA-Customer-Cost-Micros-USD`` as an exact integer (never through float): ASCII
    digits only (``str.isdigit`` also takes other scripts' digits), at most 2**63 - 1;
    anything else is ``None`` (no cost known, never a wrong one)."""
    text = raw.strip() if raw is not None else ""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= _INT64_MAX else None


def meta_from(reply: Reply, requested: str) -> ResponseMeta:
    """The facts in the headers, read in one pass."""
    request_id = cost = None
    limits: dict[str, str] = {}
    for key, value in reply.headers.items():
        if key == "x-request-id":
            request_id = value
        elif key == "x-aisa-customer-cost-micros-usd":
            cost = value
        elif key.startswith("x-ratelimit-"):
            limits[key] = value
    return ResponseMeta(
        request_id=request_id,
        cost_micros_usd=cost_micros_from(cost),
        rate_limit=rate_limit_from(limits) if limits else None,
        requested_model=requested,
    )


def raise_for_status(reply: Reply, model: str) -> None:
    """The gateway's error answer as a typed error (the body must already be read).

    Redirects are never followed (they would carry the Authorization header elsewhere)."""
    status = reply.status
    if 300 <= status < 400:
        raise APIError(
            f"the gateway answered {status} (a redirect), which is not followed",
            status_code=status,
            model=model,
            hint=f"Set AISA_BASE_URL to the final URL ({reply.headers.get('location', '?')})",
        )
    if status >= 400:
        raise error_from_response(status, reply.headers, reply.body, model=model)


def parse_json(reply: Reply, what: str) -> Any:
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise MalformedResponseError(
            f"{what}: the answer is not JSON", request_id=reply.request_id
        ) from exc


def parse_mapping(reply: Reply, what: str) -> dict[str, Any]:
    """The answer as a JSON object, else ``MalformedResponseError``."""
    data = parse_json(reply, what)
    if not isinstance(data, dict):
        raise MalformedResponseError(
            f"{what}: the answer is a JSON {type(data).__name__}, not an object",
            request_id=reply.request_id,
        )
    return data


def parse_object(reply: Reply, what: str, model: type[M]) -> M:
    """The answer as ``model`` (a JSON object of the expected shape), else
    ``MalformedResponseError``."""
    data = parse_mapping(reply, what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise unexpected(what, exc, reply.request_id) from exc


def unexpected(
    what: str, exc: ValidationError, request_id: str | None = None
) -> MalformedResponseError:
    """A JSON answer of the wrong shape, named by where its first problem is."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the answer"
    return MalformedResponseError(f"{what}: {where}: {first['msg']}", request_id=request_id)
