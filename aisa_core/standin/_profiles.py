"""How models behave over time: latency profiles and scripted outages, on the stand-in's clock.

A :class:`LatencyProfile` paces a model's successful chat answers (time to first token, then
tokens per second); an :class:`Outage` makes every request for a model fail with a fault while
the stand-in's clock is inside its window (or inside the "down" part of each period, for a
model that flaps). Both live in one :class:`Timeline`, which the routes consult through two
hooks: ``ScriptState.take_fault`` (outages) and ``StandInApp.__call__`` (pacing).

The clock is ``time.monotonic`` unless a test sets its own (``set_clock``): outages are then
decided by the test's clock alone, with no sleeping and no timing margins. Delays are always
real (``asyncio.sleep`` in the server's loop).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ._faults import Fault
from ._wire import Reply

if TYPE_CHECKING:
    from ._state import ScriptState

__all__ = ["LatencyProfile", "LiveScripting", "Outage", "Timeline"]

_CHAT = "/v1/chat/completions"
_DOWN = Fault(status=503)


def _seconds(name: str, value: float | None, *, positive: bool = False) -> None:
    if value is None:
        return
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    if bad or value < 0 or (positive and value == 0):
        need = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {need} number of seconds, not {value!r}")


@dataclass(frozen=True)
class LatencyProfile:
    """A model's pace: ``ttft`` seconds before the first token, then ``tokens_per_s`` (a
    streamed chunk counts as a token; ``None``: the rest comes at once)."""

    ttft: float = 0.0
    tokens_per_s: float | None = None

    def __post_init__(self) -> None:
        _seconds("ttft", self.ttft)
        if self.tokens_per_s is not None:
            _seconds("tokens_per_s", self.tokens_per_s, positive=True)

    def pacing(self, *, stream: bool, tokens: int) -> tuple[float, float]:
        """``(delay before the answer starts, pause between streamed events)``.

        A stream's events are paused ``1 / tokens_per_s`` apart, the first content event
        included, so its start is brought forward by one pause: the first token arrives after
        ``ttft``. A whole answer waits ``ttft`` plus the time its tokens take."""
        gap = 1.0 / self.tokens_per_s if self.tokens_per_s else 0.0
        if stream:
            return max(0.0, self.ttft - gap), gap
        return self.ttft + tokens * gap, 0.0


@dataclass(frozen=True)
class Outage:
    """``model`` answers ``fault`` from ``start`` until ``end`` (``None``: until cleared), on the
    stand-in's clock. With a ``period`` it flaps: down for the first ``down`` seconds of each
    period counted from ``start``, up for the rest."""

    model: str
    start: float
    end: float | None = None
    fault: Fault = _DOWN
    period: float | None = None
    down: float = 0.0

    def active(self, now: float) -> bool:
        if now < self.start or (self.end is not None and now >= self.end):
            return False
        return self.period is None or (now - self.start) % self.period < self.down


class Asked(Protocol):
    """What pacing reads of a request (``_steps.Request``)."""

    path: str
    headers: dict[str, str]
    json: Any


class Timeline:
    """Profiles and outages per model (thread-safe: tests script while the server reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock: Callable[[], float] = time.monotonic
        self._profiles: dict[str, LatencyProfile] = {}
        self._outages: list[Outage] = []

    def now(self) -> float:
        return self._clock()

    def set_clock(self, clock: Callable[[], float] | None) -> None:
        self._clock = time.monotonic if clock is None else clock

    def set_profile(self, model: str, profile: LatencyProfile | None) -> None:
        with self._lock:
            if profile is None:
                self._profiles.pop(model, None)
            else:
                self._profiles[model] = profile

    def add(self, outage: Outage) -> None:
        with self._lock:
            self._outages.append(outage)

    def clear_outages(self, model: str | None) -> None:
        with self._lock:
            self._outages = [o for o in self._outages if model is not None and o.model != model]

    def reset(self) -> None:
        with self._lock:
            self._profiles.clear()
            self._outages.clear()
        self._clock = time.monotonic

    # -- what the routes ask (from the server's loop) -------------------------------------

    def fault(self, model: str) -> Fault | None:
        """The fault of ``model``'s outage going on now (the latest scheduled wins), if any."""
        if not self._outages:
            return None
        now = self._clock()
        with self._lock:
            for outage in reversed(self._outages):
                if outage.model == model and outage.active(now):
                    return outage.fault
        return None

    def pace(self, request: Asked, reply: Reply) -> Reply:
        """``reply`` slowed down to the requested model's profile (successful chat answers)."""
        if not self._profiles or request.path != _CHAT or reply.status != 200:
            return reply
        body = request.json
        model = body.get("model") if isinstance(body, dict) else None
        profile = self._profiles.get(model) if isinstance(model, str) else None
        if profile is None or request.headers.get("x-aisa-cost-mode", "").lower() == "quote":
            return reply
        stream = reply.stream is not None
        tokens = len(reply.stream.body) if reply.stream is not None else _completion_tokens(reply)
        delay, gap = profile.pacing(stream=stream, tokens=tokens)
        fault = reply.fault
        if fault is None:
            reply.fault = Fault(delay=delay, chunk_delay=gap)
        else:
            reply.fault = replace(
                fault, delay=fault.delay + delay, chunk_delay=fault.chunk_delay or gap
            )
        return reply


def _completion_tokens(reply: Reply) -> int:
    try:
        tokens = json.loads(reply.body)["usage"]["completion_tokens"]
    except (ValueError, KeyError, TypeError):
        return 0
    return tokens if isinstance(tokens, int) else 0


class LiveScripting:
    """The scripting methods for latency and outages (mixed into ``Scripting``)."""

    _state: ScriptState

    @property
    def _timeline(self) -> Timeline:
        return self._state.timeline

    def set_profile(
        self, model: str, *, ttft: float = 0.0, tokens_per_s: float | None = None
    ) -> None:
        """Pace ``model``'s successful chat answers: the first token after ``ttft`` seconds,
        then ``tokens_per_s`` (a streamed chunk is a token; a whole answer waits for all of
        them). Quotes and errors are not paced."""
        self._timeline.set_profile(model, LatencyProfile(ttft, tokens_per_s))

    def clear_profile(self, model: str) -> None:
        """``model`` answers at full speed again."""
        self._timeline.set_profile(model, None)

    def schedule_outage(
        self,
        model: str,
        start: float = 0.0,
        end: float | None = None,
        *,
        fault: Fault | str = _DOWN,
    ) -> None:
        """Every request for ``model`` gets ``fault`` (default: 503 "no available channels")
        from ``start`` to ``end`` seconds from now on the stand-in's clock (``end=None``: until
        cleared). Outages win over ``fail_model`` and queued faults; the fault header wins over
        them."""
        _seconds("start", start)
        _seconds("end", end)
        if end is not None and end <= start:
            raise ValueError(f"an outage must end after it starts ({start} >= {end})")
        now = self._timeline.now()
        until = None if end is None else now + end
        self._timeline.add(Outage(model, now + start, until, _fault(fault)))

    def flap(
        self,
        model: str,
        period: float,
        *,
        down: float | None = None,
        start: float = 0.0,
        end: float | None = None,
        fault: Fault | str = _DOWN,
    ) -> None:
        """``model`` goes down for ``down`` seconds (default: half the period) at the start of
        every ``period``, from ``start`` seconds from now until ``end`` (``None``: until
        cleared), and answers normally in between."""
        _seconds("period", period, positive=True)
        down = period / 2 if down is None else down
        _seconds("down", down)
        _seconds("start", start)
        _seconds("end", end)
        if down > period:
            raise ValueError(f"down ({down}) cannot be longer than the period ({period})")
        now = self._timeline.now()
        until = None if end is None else now + end
        self._timeline.add(Outage(model, now + start, until, _fault(fault), period, down))

    def clear_outages(self, model: str | None = None) -> None:
        """End ``model``'s scheduled outages and flapping (``None``: every model's)."""
        self._timeline.clear_outages(model)

    def set_clock(self, clock: Callable[[], float] | None) -> None:
        """The clock outages are scheduled on (seconds; ``None``: ``time.monotonic``). Set it
        before scheduling: windows are fixed, on this clock, when they are scheduled."""
        self._timeline.set_clock(clock)

    def now(self) -> float:
        """The stand-in's clock now."""
        return self._timeline.now()


def _fault(fault: Fault | str) -> Fault:
    return Fault.parse(fault) if isinstance(fault, str) else fault
