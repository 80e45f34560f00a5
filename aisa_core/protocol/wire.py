"""Requests and answers as plain data, and what every answer's headers and status say. Pure.

The protocol never sees an HTTP library: an operation describes a ``Request`` and reads a
``Reply``; ``aisa_core.transport`` turns one into the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from aisa_core.config import Timeouts
from aisa_core.errors import APIError, MalformedResponseError, error_from_response
from aisa_core.types import RateLimit, ResponseMeta

__all__ = [
    "Reply",
    "Request",
    "cost_micros_from",
    "dumps",
    "is_json",
    "meta_from",
    "parse_json",
    "raise_for_status",
    "rate_limit_from",
    "reads_whole",
]


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
    """Compact UTF-8 JSON, as the gateway expects it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def is_json(reply: Reply) -> bool:
    return reply.headers.get("content-type", "").startswith("application/json")


def reads_whole(reply: Reply) -> bool:
    """Whether a stream request's answer is read whole: an error, a redirect, or a JSON answer
    (a backend that ignored ``stream=true``); anything else is an event stream."""
    return reply.status >= 300 or is_json(reply)


def rate_limit_from(headers: Mapping[str, str]) -> RateLimit | None:
    """``X-RateLimit-*`` in OpenAI's scheme (``-limit-requests``) or the other
    (``-requests-limit``); ``None`` when the gateway sent neither. Keys are lower case."""
    found: dict[str, Any] = {}
    for kind in ("requests", "tokens"):
        for what in ("limit", "remaining", "reset"):
            value = headers.get(f"x-ratelimit-{what}-{kind}") or headers.get(
                f"x-ratelimit-{kind}-{what}"
            )
            if value is not None:
                found[f"{what}_{kind}"] = value
    if not found:
        return None
    try:
        return RateLimit.model_validate(found)
    except ValidationError:
        return None


def cost_micros_from(raw: str | None) -> int | None:
    """``X-AISA-Customer-Cost-Micros-USD`` as an exact integer (never through float)."""
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


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
    except ValueError as exc:
        raise MalformedResponseError(f"{what}: the answer is not JSON") from exc
