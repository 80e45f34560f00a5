"""``ModelHealth``: a circuit breaker per model, and what each model's latency looks like.

Closed (normal) → after ``failure_threshold`` failures that count within ``window`` seconds, the
model is open (cooling down) for ``cooldown`` seconds, or longer when the gateway's
``Retry-After`` asks for it → then half-open: one probe call is let through (claimed atomically,
so one caller probes while the others skip) → the probe's success closes the breaker; its
failure opens it again for ``cooldown × backoff`` (doubling up to ``max_cooldown``).

Failures that count: 429, 5xx, timeouts, connection errors, in-band stream errors, malformed
answers, and 503 "no available channels"; never 400/401/402/403/404/422 (the next call would
fail the same way whatever the model's health).

The breaker's state lives in a store (``aisa_core.stores``: in this process by default, shared
by every client, thread and event loop given the same object; a ``RedisStore``, or
``AISA_REDIS_URL`` set, spreads it over processes: one worker's failures cool the model down
for all of them, and one probe is claimed among all of them). Latency (exponential averages of
total time and of time to first chunk), error rate and sample counts are kept in this process,
read by latency-aware routing.

One object is shared by passing it (``health=`` on the core clients, ``aisa_health=`` on the
adapters); ``ModelHealth.default()`` is a process-wide one, used only when asked for.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .attempts import AttemptInfo, AttemptReport, SkippedModel
from .errors import (
    AISAError,
    APIConnectionError,
    ConfigurationError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    StreamError,
    UnknownModelError,
)
from .stores import Store, StoreOp, StoreOps, arun_ops, default_store, run_ops

__all__ = [
    "BreakerState",
    "HealthTicket",
    "ModelHealth",
    "ModelStats",
    "counts_against_health",
]

BreakerState = Literal["ok", "cooling", "half-open"]

_COUNTING = (
    RateLimitError,
    ServerError,
    APIConnectionError,
    StreamError,
    MalformedResponseError,
)


def counts_against_health(error: AISAError) -> bool:
    """Whether ``error`` says something about the model's health (see the module docstring)."""
    if isinstance(error, UnknownModelError):
        return error.status_code == 503  # "no available channels": nothing serves it now
    return isinstance(error, _COUNTING)


@dataclass(frozen=True, slots=True)
class HealthTicket:
    """What ``admit`` decided for one attempt: ``skipped`` (then nothing is sent), or go ahead,
    as the half-open ``probe`` or not; ``dirty`` when the model has failures on record."""

    model: str
    skipped: SkippedModel | None = None
    probe: bool = False
    dirty: bool = False


@dataclass(slots=True)
class ModelStats:
    """What this process has seen of a model (exponential averages; seconds)."""

    samples: int = 0
    latency_s: float | None = None
    first_chunk_s: float | None = None
    error_rate: float = 0.0


class ModelHealth:
    """See the module docstring. ``alpha`` weights the newest sample in the averages."""

    _default: ClassVar[ModelHealth | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        window: float = 60.0,
        cooldown: float = 30.0,
        max_cooldown: float = 600.0,
        backoff: float = 2.0,
        probe_timeout: float = 120.0,
        alpha: float = 0.2,
        store: Store | None = None,
        namespace: str = "default",
    ) -> None:
        if failure_threshold < 1:
            raise ConfigurationError("failure_threshold must be at least 1")
        if min(window, cooldown, max_cooldown, probe_timeout) <= 0 or backoff < 1:
            raise ConfigurationError("window, cooldowns and timeouts must be > 0, backoff >= 1")
        if not 0 < alpha <= 1:
            raise ConfigurationError("alpha must be in (0, 1]")
        self.failure_threshold = failure_threshold
        self.window = window
        self.cooldown = cooldown
        self.max_cooldown = max(max_cooldown, cooldown)
        self.backoff = backoff
        self.probe_timeout = probe_timeout
        self.alpha = alpha
        self.store: Store = store if store is not None else default_store()
        self._prefix = f"health:{namespace}:"
        self._stats: dict[str, ModelStats] = {}
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> ModelHealth:
        """One process-wide object, made on first use (opt in: nothing uses it unless given)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    def __repr__(self) -> str:
        return (
            f"ModelHealth(failure_threshold={self.failure_threshold}, window={self.window}, "
            f"cooldown={self.cooldown}, store={self.store!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy in another process keeps the settings and the store (a shared store is
        # shared again; a memory store starts empty there).
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_stats")}
        return (_rebuild, (state,))

    def _keys(self, model: str) -> tuple[str, str, str, str]:
        p = self._prefix
        return f"{p}open:{model}", f"{p}trips:{model}", f"{p}fail:{model}", f"{p}probe:{model}"

    # --- the breaker, written once over store operations ---------------------------------

    def admit_ops(self, info: AttemptInfo) -> StoreOps[HealthTicket]:
        """Before an attempt: skip a cooling model, or claim the half-open probe."""
        open_key, trips_key, fail_key, _ = self._keys(info.model)
        until, trips, fails = yield StoreOp(self.store, "get_many", [open_key, trips_key, fail_key])
        dirty = bool(trips or fails)
        if until is not None and not info.force:
            return HealthTicket(info.model, SkippedModel(info.model, "cooling down", until))
        if trips and not info.force:
            return (yield from self._claim_probe(info.model))
        return HealthTicket(info.model, probe=info.force and dirty, dirty=dirty)

    def _claim_probe(self, model: str) -> StoreOps[HealthTicket]:
        """Claim the half-open probe, atomically, so one caller of all probes. A failed probe
        reopens the breaker and then frees the claim, so a caller that read the state before
        the reopening may claim after it: it looks again, and backs off if it was reopened."""
        open_key, _, _, probe_key = self._keys(model)
        claimed = yield StoreOp(self.store, "add", probe_key, uuid.uuid4().hex, self.probe_timeout)
        if not claimed:
            return HealthTicket(model, SkippedModel(model, "another call is probing it", None))
        (until,) = yield StoreOp(self.store, "get_many", [open_key])
        if until is not None:
            yield StoreOp(self.store, "delete", [probe_key])
            return HealthTicket(model, SkippedModel(model, "cooling down", until))
        return HealthTicket(model, probe=True, dirty=True)

    def record_ops(self, ticket: HealthTicket, report: AttemptReport) -> StoreOps[None]:
        """After an attempt: count a failure (tripping the breaker), or clear the record."""
        self._observe(report)
        if ticket.skipped is not None or report.outcome == "skipped":
            return
        open_key, trips_key, fail_key, probe_key = self._keys(ticket.model)
        error = report.error
        if report.outcome == "cancelled" or error is None or not counts_against_health(error):
            if ticket.dirty or ticket.probe:  # the model answered: it is up
                yield StoreOp(self.store, "delete", [fail_key, trips_key, probe_key, open_key])
            return
        if not ticket.probe:
            fails = yield StoreOp(self.store, "incr", fail_key, 1, self.window)
            if fails < self.failure_threshold:
                return
        # Trip: open for a cooldown that doubles with each trip in a row. Only the caller that
        # opens it counts the trip: failures of calls admitted before it add nothing.
        (trips,) = yield StoreOp(self.store, "get_many", [trips_key])
        cooldown = min(self.cooldown * self.backoff ** int(trips or 0), self.max_cooldown)
        if error.retry_after is not None:  # a longer Retry-After wins, up to max_cooldown
            cooldown = max(cooldown, min(error.retry_after, self.max_cooldown))
        now = yield StoreOp(self.store, "now")
        verb = "set" if ticket.probe else "add"  # a failed probe re-opens what it held
        opened = yield StoreOp(self.store, verb, open_key, now + cooldown, cooldown)
        if ticket.probe or opened:
            yield StoreOp(self.store, "incr", trips_key, 1, self.max_cooldown * 4)
        yield StoreOp(self.store, "delete", [fail_key, probe_key])

    def admit(self, info: AttemptInfo) -> HealthTicket:
        return run_ops(self.admit_ops(info))

    async def aadmit(self, info: AttemptInfo) -> HealthTicket:
        return await arun_ops(self.admit_ops(info))

    def record(self, ticket: HealthTicket, report: AttemptReport) -> None:
        run_ops(self.record_ops(ticket, report))

    async def arecord(self, ticket: HealthTicket, report: AttemptReport) -> None:
        await arun_ops(self.record_ops(ticket, report))

    # --- what callers can ask ---------------------------------------------------------------

    def cooling_until(self, model: str) -> float | None:
        """Epoch seconds when ``model``'s cooldown ends, or ``None`` if it is not cooling."""
        until: float | None = self.store.get_many([self._keys(model)[0]])[0]
        return until

    def state(self, model: str) -> BreakerState:
        """``"cooling"`` (skipped until its cooldown ends), ``"half-open"`` (the next call is
        its probe) or ``"ok"``."""
        open_key, trips_key, _, _ = self._keys(model)
        until, trips = self.store.get_many([open_key, trips_key])
        if until is not None:
            return "cooling"
        return "half-open" if trips else "ok"

    def is_available(self, model: str) -> bool:
        """Not cooling down (a half-open model is available: it is waiting for its probe)."""
        return self.cooling_until(model) is None

    def stats(self, model: str) -> ModelStats:
        """A copy of what this process has seen of ``model``."""
        with self._lock:
            s = self._stats.get(model)
            if s is None:
                return ModelStats()
            return ModelStats(s.samples, s.latency_s, s.first_chunk_s, s.error_rate)

    def reset(self, model: str | None = None) -> None:
        """Forget ``model`` (or every model this process has seen)."""
        with self._lock:
            models = [model] if model is not None else list(self._stats)
            for m in models:
                self._stats.pop(m, None)
        for m in models:
            self.store.delete(list(self._keys(m)))

    def _observe(self, report: AttemptReport) -> None:
        """Timings come from answers only: a failed attempt's duration (a fast 400, a slow
        timeout) says nothing of how fast the model answers. A stream closed early by its
        reader has a valid time to first chunk, but no total time."""
        first = report.first_chunk_s
        cut_short = report.outcome == "cancelled" and first is not None
        if report.outcome not in ("ok", "error") and not cut_short:
            return
        failed = report.error is not None and counts_against_health(report.error)
        a = self.alpha
        with self._lock:
            s = self._stats.setdefault(report.model, ModelStats())
            s.samples += 1
            s.error_rate += a * ((1.0 if failed else 0.0) - s.error_rate)
            if report.error is not None:
                return
            if report.outcome == "ok":
                s.latency_s = _ewma(s.latency_s, report.duration_s, a)
            if first is not None:
                s.first_chunk_s = _ewma(s.first_chunk_s, first, a)


def _ewma(current: float | None, value: float, alpha: float) -> float:
    return value if current is None else current + alpha * (value - current)


def _rebuild(state: dict[str, Any]) -> ModelHealth:
    health = ModelHealth.__new__(ModelHealth)
    health.__dict__.update(state)
    health._stats = {}
    health._lock = threading.Lock()
    return health
