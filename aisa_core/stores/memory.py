"""``MemoryStore``: the default store, in this process. One lock makes each operation atomic for
every thread and event loop that shares the object; expiry is checked on read.

``gcra`` is the rate arithmetic both the in-process ``RateLimiter`` and this store's
``rate_admit`` use (``RedisStore`` runs the same steps in a Lua script on the server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MemoryStore", "RateRule", "gcra"]


@dataclass(frozen=True, slots=True)
class RateRule:
    """A shared rate limiter's limits, as its store applies them: at most ``max_concurrent``
    leases of ``lease`` seconds (0: no limit), and a turn every ``interval_us`` microseconds
    with ``burst`` back to back (0: no rate)."""

    max_concurrent: int
    lease: float
    interval_us: int
    burst: int = 1


def gcra(tat: int, now: int, interval: int, burst: int = 1) -> tuple[int, int]:
    """One request at ``now`` against the theoretical arrival time ``tat`` (integers, e.g.
    nanoseconds): ``(0, new_tat)`` when it may be sent now, and is charged; else
    ``(wait, tat)``, how long until it may, with nothing charged.

    With ``burst=1`` two requests are never closer than ``interval``; ``burst=B`` lets B go
    back to back. Integers keep "N in any window" exact (no rounding lets an N+1th in)."""
    earliest = tat - (burst - 1) * interval
    if now < earliest:
        return earliest - now, tat
    return 0, max(tat, now) + interval


class MemoryStore:
    """Keys with expiry in a dict. ``clock`` (epoch seconds) is injectable for tests."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._data)} keys)"

    def __reduce__(self) -> tuple[type[MemoryStore], tuple[()]]:
        return (MemoryStore, ())  # state is per process: a copy elsewhere starts empty

    def now(self) -> float:
        return self._clock()

    def _get(self, key: str, now: float) -> Any:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return value

    def _put(self, key: str, value: Any, ttl: float | None, now: float) -> None:
        self._data[key] = (value, None if ttl is None else now + ttl)

    def _expiry(self, key: str) -> float | None:
        item = self._data.get(key)
        return None if item is None else item[1]

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        with self._lock:
            now = self._clock()
            return [self._get(k, now) for k in keys]

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._put(key, value, ttl, self._clock())

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        with self._lock:
            now = self._clock()
            if self._get(key, now) is not None:
                return False
            self._put(key, value, ttl, now)
            return True

    def incr(self, key: str, amount: float = 1, ttl: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            current = self._get(key, now)
            if current is None:
                self._put(key, amount, ttl, now)
                return amount
            value: float = current + amount
            self._data[key] = (value, self._expiry(key))
            return value

    def incr_within(self, key: str, amount: float, limit: float, ttl: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            current = self._get(key, now) or 0
            if current + amount > limit:
                return -1 - current
            if key in self._data:
                self._data[key] = (current + amount, self._expiry(key))
            else:
                self._put(key, current + amount, ttl, now)
            return current + amount

    def ewma(self, key: str, value: float, alpha: float, ttl: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            current = self._get(key, now)
            new = value if current is None else current + alpha * (value - current)
            self._put(key, new, ttl, now)
            return new

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    # --- maps of counters (the cost ledger) -------------------------------------------------

    def incr_field(self, key: str, field: str, amount: float, ttl: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            fields = self._get(key, now)
            if fields is None:
                fields = {}
                self._put(key, fields, ttl, now)
            fields[field] = fields.get(field, 0) + amount
            value: float = fields[field]
            return value

    def get_fields(self, key: str) -> dict[str, float]:
        with self._lock:
            return dict(self._get(key, self._clock()) or {})

    # --- the rate limiter's shared state: a GCRA timestamp and leases -----------------------

    def rate_admit(
        self, key: str, token: str, rule: RateRule, released: Sequence[str] = ()
    ) -> float:
        with self._lock:
            now = self._clock()
            leases = self._leases(key, now)
            for gone in released:
                leases.pop(gone, None)
            if rule.max_concurrent and len(leases) >= rule.max_concurrent:
                return -max(min(leases.values()) - now, 0.001)
            if rule.interval_us:
                now_us = round(now * 1e6)
                tat = self._get(key + ":tat", now)
                start = now_us if tat is None else tat
                wait, new = gcra(start, now_us, rule.interval_us, rule.burst)
                if wait:
                    return wait / 1e6
                self._put(key + ":tat", new, (new - now_us) / 1e6 + 1, now)
            if rule.max_concurrent:
                leases[token] = now + rule.lease
                self._put(key + ":leases", leases, 2 * rule.lease, now)
            return 0.0

    def rate_renew(self, key: str, tokens: Sequence[str], lease: float) -> int:
        with self._lock:
            now = self._clock()
            leases = self._leases(key, now)
            held = [t for t in tokens if t in leases]
            for token in held:
                leases[token] = now + lease
            if held:
                self._put(key + ":leases", leases, 2 * lease, now)
            return len(held)

    def rate_release(self, key: str, tokens: Sequence[str]) -> None:
        with self._lock:
            leases = self._leases(key, self._clock())
            for token in tokens:
                leases.pop(token, None)

    def rate_in_flight(self, key: str) -> int:
        with self._lock:
            return len(self._leases(key, self._clock()))

    def _leases(self, key: str, now: float) -> dict[str, float]:
        """The live leases of limiter ``key`` (expired ones dropped), held in place."""
        leases: dict[str, float] = self._get(key + ":leases", now) or {}
        for token in [t for t, expires in leases.items() if expires <= now]:
            del leases[token]
        return leases
