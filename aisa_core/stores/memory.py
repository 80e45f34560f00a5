"""``MemoryStore``: the default store, in this process. One lock makes each operation atomic for
every thread and event loop that shares the object; expiry is checked on read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["MemoryStore"]


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
