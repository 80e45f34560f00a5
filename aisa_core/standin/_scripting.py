"""The scripting API, shared by :class:`StandIn` (the server) and :class:`StandInApp`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._answers import ScriptedAnswer, dumps
from ._faults import Fault
from ._limits import Limits, LimitStats
from ._profiles import LiveScripting
from ._state import RecordedRequest, ScriptState


def _as_fault(fault: Fault | str) -> Fault:
    return Fault.parse(fault) if isinstance(fault, str) else fault


def _arguments(name: str, arguments: Mapping[str, Any] | None) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("a tool call needs a non-empty function name")
    if arguments is None:
        return "{}"
    if not isinstance(arguments, Mapping):
        raise TypeError("tool-call arguments must be a mapping (a JSON object)")
    return dumps(dict(arguments))  # serialise now: a bad value fails in the test, not the server


class Scripting(LiveScripting):
    """Script answers and faults, and inspect what clients sent.

    Queued entries (``enqueue_*``) are consumed in order, one per request; an entry with
    ``model=`` is consumed only by a request for that model id. A queued answer is used
    by chat completions and Gemini ``generateContent``; a queued fault by any request
    that names the model (chat, embeddings, ``generateContent``).
    """

    _state: ScriptState

    def enqueue_text(self, text: str, *, model: str | None = None) -> None:
        """The next chat answer is exactly ``text`` (streamed or not, as requested)."""
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        self._state.enqueue(model, ScriptedAnswer(text=text))

    def enqueue_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """The next chat answer calls ``name(**arguments)`` (``finish_reason: tool_calls``)."""
        call = (name, _arguments(name, arguments), call_id)
        self._state.enqueue(model, ScriptedAnswer(tool_calls=(call,)))

    def enqueue_tool_calls(
        self,
        calls: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        model: str | None = None,
    ) -> None:
        """The next chat answer makes several (parallel) tool calls, in this order."""
        scripted = tuple((name, _arguments(name, args), None) for name, args in calls)
        if not scripted:
            raise ValueError("enqueue_tool_calls needs at least one call")
        self._state.enqueue(model, ScriptedAnswer(tool_calls=scripted))

    def enqueue_fault(self, fault: Fault | str, *, model: str | None = None) -> None:
        """The next request (for ``model``, if given) gets ``fault`` (a Fault or a spec)."""
        self._state.enqueue(model, _as_fault(fault))

    def fail_model(self, model: str, fault: Fault | str, times: int | None = None) -> None:
        """Every request for ``model`` gets ``fault``: forever, or the next ``times`` ones.

        Takes precedence over queued faults; queued answers are still used when the
        fault leaves room for an answer (delays, stream errors, drops).
        """
        self._state.fail_model(model, _as_fault(fault), times)

    def heal_model(self, model: str) -> None:
        """Undo :meth:`fail_model` for ``model``."""
        self._state.heal_model(model)

    def set_reasoning(self, model: str | None, text: str) -> None:
        """Reasoning text for ``model`` (turning reasoning on for it), or with ``None`` the
        text every reasoning model (id ending in ``-thinking``) uses."""
        self._state.set_reasoning(model, text)

    def enforce_limits(
        self,
        requests_per_minute: float | None = None,
        max_concurrent: int | None = None,
        *,
        burst: int = 1,
    ) -> None:
        """Enforce per-key limits from now on, as the gateway does: at most
        ``requests_per_minute`` (a token bucket of ``burst`` requests, 1: evenly spaced) and
        ``max_concurrent`` in flight, per API key; anything over is a 429 with
        ``Retry-After``, and every answer carries ``X-RateLimit-*-Requests`` headers. What it
        saw is in :meth:`limit_stats`. Both ``None``: stop enforcing."""
        limits = None
        if requests_per_minute is not None or max_concurrent is not None:
            limits = Limits(requests_per_minute, max_concurrent, burst)
        self._state.limits = limits

    def limit_stats(self, api_key: str | None = None) -> LimitStats:
        """What the enforced limits saw of ``api_key`` (default: :attr:`api_key`, the
        stand-in's) since :meth:`enforce_limits`: requests let through and when they arrived,
        refused ones, the peak in flight."""
        from ._steps import STANDIN_API_KEY

        limits = self._state.limits
        return LimitStats() if limits is None else limits.stats(api_key or STANDIN_API_KEY)

    def reset(self) -> None:
        """Forget scripts, model faults, reasoning texts, recorded requests, spend, ids,
        latency profiles, outages and enforced limits (and go back to the monotonic clock)."""
        self._state.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset, oldest first (a copy)."""
        return self._state.requests

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request; LookupError if there was none."""
        recorded = self._state.last_request()
        if recorded is None:
            raise LookupError("the stand-in has not received a request yet")
        return recorded

    @property
    def pending(self) -> int:
        """How many queued answers and faults are still unconsumed."""
        return self._state.pending

    @property
    def spent_micros_usd(self) -> int:
        """Total cost billed since the last reset, in micro-USD."""
        return self._state.spent_micros
