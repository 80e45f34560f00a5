"""What every stand-in route does around its own work: read the request, check the key and the
body, take a fault (from the ``x-standin-fault`` header or the script), refuse unknown models, and
write JSON and error replies in the gateway's shapes (the route's own error layout: Gemini's on
``generateContent``), with ``X-RateLimit-*`` headers when a fault asks for them or limits are
enforced (``enforce_limits``: a request over them is refused here, before its route runs).

The routes themselves (chat, embeddings, Gemini, models, credits) are in ``_app``.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from . import _answers as answers
from ._faults import FAULT_HEADER, Fault, error_body, plain_text_message, status_defaults
from ._limits import Refusal
from ._scripting import Scripting
from ._wire import JSON, Reply, Scope, header_dict, seconds

__all__ = ["INVALID_API_KEY", "STANDIN_API_KEY", "Request", "RouteSteps"]

STANDIN_API_KEY = "sk-aisa-standin"
INVALID_API_KEY = "sk-aisa-invalid"

# The "starter" tier of aisa-api.md: what X-RateLimit-* headers report as the limits.
REQUESTS_PER_MINUTE = 600
TOKENS_PER_MINUTE = 600_000


class Request:
    """One HTTP request as the routes read it: its JSON body parsed once (``None`` if not JSON)."""

    __slots__ = ("body", "headers", "json", "method", "path", "query", "request_id", "style")

    def __init__(self, scope: Scope, body: bytes, request_id: str) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        # The error layout this route answers in: Gemini's native route has its own.
        self.style = "gemini" if self.path.endswith(":generateContent") else "object"
        self.query: str = scope.get("query_string", b"").decode("latin-1")
        self.headers = header_dict(scope["headers"])
        self.body = body
        self.request_id = request_id
        self.json: Any = None
        if body:
            with contextlib.suppress(ValueError, RecursionError):
                self.json = json.loads(body)


class RouteSteps(Scripting):
    """The steps the routes share. :class:`StandInApp` sets the state they read: the script
    (``_state``) and which model ids are unknown (``_is_unknown``)."""

    _is_unknown: Callable[[str], bool]

    def _error(
        self, req: Request, status: int, code: str, message: str, error_type: str | None = None
    ) -> Reply:
        default_type = status_defaults(status, None)[0]
        content_type, body = error_body(
            req.style,
            status=status,
            error_type=error_type or default_type,
            code=code,
            message=message,
            request_id=req.request_id,
        )
        return Reply(status, content_type, body)

    @staticmethod
    def _api_key(req: Request) -> str:
        """The key the request carries: ``Authorization: Bearer``, else (Gemini's routes)
        ``x-goog-api-key`` or ``?key=``; empty when none."""
        scheme, _, key = req.headers.get("authorization", "").partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
        if not key and req.style == "gemini":
            key = req.headers.get("x-goog-api-key", "") or parse_qs(req.query).get("key", [""])[0]
        return key

    def _auth(self, req: Request) -> Reply | None:
        key = self._api_key(req)
        if not key:
            message = "Missing API key: send Authorization: Bearer <your AIsa key>."
            return self._error(req, 401, "missing_api_key", message)
        if key == INVALID_API_KEY:
            return self._error(req, 401, "invalid_api_key", "Invalid API key.")
        return None

    def _body(self, req: Request, *required: str) -> dict[str, Any] | Reply:
        if req.json is None:
            return self._error(req, 400, "json_parse_error", "The request body is not JSON.")
        if not isinstance(req.json, dict):
            return self._error(req, 400, "invalid_request", "The body must be a JSON object.")
        for name in required:
            if req.json.get(name) in (None, ""):
                return self._error(req, 400, "missing_parameter", f"Missing parameter: {name}")
        return req.json

    def _fault(self, req: Request, model: str | None) -> tuple[Reply | None, Fault | None, bool]:
        """``(error reply, fault, fault came from the queue)``; the header beats scripts."""
        spec = req.headers.get(FAULT_HEADER)
        queued = False
        if spec is not None:
            try:
                fault: Fault | None = Fault.parse(spec)
            except ValueError as exc:
                return (
                    self._error(req, 400, "invalid_fault_spec", f"{FAULT_HEADER}: {exc}"),
                    None,
                    False,
                )
        elif model is not None:
            fault, queued = self._state.take_fault(model)
        else:
            fault = None
        if fault is None or fault.status is None:
            return None, fault, queued
        return self._fault_reply(req, fault, model), fault, queued

    def _fault_reply(self, req: Request, fault: Fault, model: str | None) -> Reply:
        """The error answer a fault with a ``status`` asks for."""
        assert fault.status is not None
        error_type, code, message = fault.described(model)
        style = fault.body_style or req.style
        if style == "text" and fault.message is None:
            message = plain_text_message(fault.status)
        content_type, body = error_body(
            style,
            status=fault.status,
            error_type=error_type,
            code=code,
            message=message,
            request_id=req.request_id,
            retryable=fault.retryable,
            rpc=fault.code,
        )
        reply = Reply(fault.status, content_type, body, fault=fault)
        if fault.retry_after is not None:
            reply.headers.append((b"retry-after", seconds(fault.retry_after)))
        return reply

    def _refused(self, req: Request, refusal: Refusal) -> Reply:
        """A 429 for a request over the enforced limits."""
        retry_after = math.ceil(refusal.retry_after * 1000) / 1000
        fault = Fault(429, refusal.code, refusal.message, retry_after=retry_after)
        return self._fault_reply(req, fault, None)

    def _unavailable(self, req: Request, model: str) -> Reply | None:
        if not self._is_unknown(model):
            return None
        error_type, code, message = status_defaults(503, model)
        return self._error(req, 503, code, message, error_type)

    def _json(self, payload: Any, *, fault: Fault | None = None, cost: int | None = None) -> Reply:
        reply = Reply(200, JSON, answers.dumps(payload).encode(), fault=fault)
        if cost is not None:
            reply.headers.append((b"x-aisa-customer-cost-micros-usd", str(cost).encode()))
        return reply

    def _rate_limit_headers(self, reply: Reply, key: str = "") -> None:
        """``X-RateLimit-*`` in the scheme the reply's fault names (the split one when limits
        are enforced; none otherwise): the split scheme per requests and tokens, or the plain
        one (requests only); ``Reset`` is a UNIX time. A 429 reports nothing remaining.
        Enforced limits give the requests' figures (``key``'s bucket), else the starter
        tier's, counted in a minute from the last reset."""
        enforced = self._state.limits
        scheme = reply.fault.rate_limit if reply.fault is not None else None
        if scheme is None and enforced is not None and enforced.requests_per_minute:
            scheme = "split"
        if scheme is None:
            return
        requests, tokens, reset = self._state.rate_window()
        exhausted = reply.status == 429
        left = {
            "requests": 0 if exhausted else max(0, REQUESTS_PER_MINUTE - requests),
            "tokens": 0 if exhausted else max(0, TOKENS_PER_MINUTE - tokens),
        }
        limits = {"requests": REQUESTS_PER_MINUTE, "tokens": TOKENS_PER_MINUTE}
        resets = {"requests": reset, "tokens": reset}
        if enforced is not None and enforced.requests_per_minute:
            remaining, full_at = enforced.remaining(key)
            limits["requests"] = math.ceil(enforced.requests_per_minute)
            left["requests"] = 0 if exhausted else remaining
            resets["requests"] = math.ceil(full_at)
        kinds = ("requests", "tokens") if scheme == "split" else ("requests",)
        for kind in kinds:
            suffix = f"-{kind}" if scheme == "split" else ""
            values = {"limit": limits[kind], "remaining": left[kind], "reset": resets[kind]}
            for name, value in values.items():
                reply.headers.append((f"x-ratelimit-{name}{suffix}".encode(), str(value).encode()))

    def _guarded(self, req: Request, handler: Callable[[Request, Fault | None], Reply]) -> Reply:
        """Auth and header faults for the routes that do not run a model."""
        refused = self._auth(req)
        if refused is not None:
            return refused
        refused, fault, _ = self._fault(req, None)
        return refused or handler(req, fault)
