"""What ``RedisStore`` sends for each store operation, built apart from how it is sent: the
script to run, its keys and arguments, how to read its answer, and the ``MemoryStore`` call
that stands in for it when Redis is away. Values are written as Redis writes numbers (so the
scripts can add to them), strings tagged ``s:``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .memory import RateRule

__all__ = ["Command", "Commands"]


def _encode(value: Any) -> bytes:
    """Numbers as Redis writes them (so scripts can add to them), strings tagged ``s:``."""
    if isinstance(value, str):
        return b"s:" + value.encode()
    if isinstance(value, (bool, int)):
        return str(int(value)).encode()
    if isinstance(value, float):
        return repr(value).encode()
    raise TypeError(f"a store keeps numbers and strings, not {type(value).__name__}")


def _decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    if raw.startswith(b"s:"):
        return raw[2:].decode()
    try:
        return int(raw)
    except ValueError:
        return float(raw)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


@dataclass(frozen=True, slots=True)
class Command:
    """One store operation: the script to run on Redis, and the ``MemoryStore`` call that
    stands in for it when Redis is away."""

    op: str
    args: tuple[Any, ...]
    keys: list[str]
    argv: list[Any]
    decode: Callable[[Any], Any] = lambda raw: raw


class Commands:
    """One builder per store operation; ``default_ttl`` is the expiry of keys written with
    none of their own, renewed by each write (``None``: none)."""

    def __init__(self, default_ttl: float | None) -> None:
        self.default_ttl = default_ttl

    def ttl(self, ttl: float | None) -> tuple[int, int]:
        """``(milliseconds, sliding)``: the asked expiry, else ``default_ttl`` renewed by each
        write (0: none)."""
        if ttl is not None:
            return _ms(ttl), 0
        return (0 if self.default_ttl is None else _ms(self.default_ttl)), 1

    def now(self) -> Command:
        return Command("now", (), [], [], lambda raw: int(raw[0]) + int(raw[1]) / 1e6)

    def get_many(self, keys: Sequence[str]) -> Command:
        return Command("get_many", (keys,), list(keys), [], lambda raw: [_decode(v) for v in raw])

    def set(self, key: str, value: Any, ttl: float | None, only_if_absent: bool) -> Command:
        op, args = ("add", (key, value, ttl)) if only_if_absent else ("set", (key, value, ttl))
        argv = [_encode(value), self.ttl(ttl)[0], int(only_if_absent)]
        return Command(op, args, [key], argv, bool)

    def incr(self, key: str, amount: float, limit: float | None, ttl: float | None) -> Command:
        ms, sliding = self.ttl(ttl)
        if limit is None:
            return Command("incr", (key, amount, ttl), [key], [amount, ms, sliding], _decode)
        argv = [repr(float(amount)), repr(float(limit)), ms, sliding]
        return Command("incr_within", (key, amount, limit, ttl), [key], argv, _within)

    def ewma(self, key: str, value: float, alpha: float, ttl: float | None) -> Command:
        argv = [repr(float(value)), repr(float(alpha)), self.ttl(ttl)[0]]
        return Command("ewma", (key, value, alpha, ttl), [key], argv, _decode)

    def delete(self, keys: Sequence[str]) -> Command:
        return Command("delete", (keys,), list(keys), [], lambda raw: None)

    def incr_field(self, key: str, field: str, amount: float, ttl: float | None) -> Command:
        ms, sliding = self.ttl(ttl)
        argv = [field, repr(float(amount)), ms, sliding]
        return Command("incr_field", (key, field, amount, ttl), [key], argv, _decode)

    def get_fields(self, key: str) -> Command:
        return Command("get_fields", (key,), [key], [], _fields)

    def rate_admit(self, key: str, token: str, rule: RateRule, released: Sequence[str]) -> Command:
        argv = [token, rule.max_concurrent, _ms(rule.lease), rule.interval_us, rule.burst]
        keys = [key + ":tat", key + ":leases"]
        args = (key, token, rule, released)
        return Command("rate_admit", args, keys, [*argv, *released], _admitted)

    def rate_renew(self, key: str, tokens: Sequence[str], lease: float) -> Command:
        argv = [_ms(lease), *tokens]
        return Command("rate_renew", (key, tokens, lease), [key + ":leases"], argv, int)

    def rate_release(self, key: str, tokens: Sequence[str]) -> Command:
        argv = list(tokens)
        return Command("rate_release", (key, tokens), [key + ":leases"], argv, lambda raw: None)

    def rate_in_flight(self, key: str) -> Command:
        return Command("rate_in_flight", (key,), [key + ":leases"], [], int)


def _within(raw: list[Any]) -> float:
    ok, value = raw
    return _decode(value) if int(ok) else -1 - _decode(value)  # type: ignore[no-any-return]


def _fields(raw: list[bytes]) -> dict[str, float]:
    return {raw[i].decode(): _decode(raw[i + 1]) for i in range(0, len(raw), 2)}


def _admitted(raw: list[Any]) -> float:
    code, value = int(raw[0]), int(raw[1])
    if code == 0:
        return 0.0
    if code == 1:
        return -max(value, 1) / 1000
    return value / 1e6
