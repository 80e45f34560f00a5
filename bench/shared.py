"""The rate limiter shared through Redis: what it adds to each call, beside the in-process one.

A ``redis-server`` on loopback is started for the run (as the tests start theirs:
``tests/redis/server.py``), and three clients call the fixed-answer server (``bench/server.py``)
in interleaved rounds: without a limiter, with ``RateLimiter(rpm, n)`` in this process, and with
the same limiter on a ``RedisStore``. The limits are set far above what one caller reaches, so
nothing waits: what is measured is the bookkeeping. A shared limiter takes its slot and its
turn in one script (one round trip) and gives the slot back in another, so the target is one
loopback round trip's worth: under 0.5 ms. The limiter alone (``with limiter.slot(): pass``,
and ``async with limiter.aslot()``) is timed too.

Used by ``bench/run.py`` (scenario ``limiter``) and ``bench/report.py`` (:data:`TARGETS`,
:func:`section`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import clients
import measure

RPM, CONCURRENT = 1e9, 64  # far above one caller: nothing waits, only the bookkeeping is timed


def _limiters(url: str) -> dict[str, Any]:
    from aisa_core import RateLimiter
    from aisa_core.stores import MemoryStore, RedisStore

    return {
        "in-process": RateLimiter(RPM, CONCURRENT, store=MemoryStore()),
        "Redis": RateLimiter(RPM, CONCURRENT, store=RedisStore(url), namespace="bench"),
    }


def _alone(limiter: Any, name: str) -> clients.Contender:
    def call() -> str:
        with limiter.slot():
            return clients.ANSWER

    return clients.Contender(call, name=name)


def _async_alone(limiter: Any, calls: int) -> dict[str, float]:
    async def run() -> list[float]:
        samples = []
        for _ in range(calls):
            started = time.perf_counter_ns()
            async with limiter.aslot():
                pass
            samples.append((time.perf_counter_ns() - started) / 1000)
        if hasattr(limiter.store, "aclose"):
            await limiter.store.aclose()
        return samples

    return measure.summary(asyncio.run(run()))


def _client(base: str, limiter: Any, name: str) -> clients.Contender:
    from aisa_core import AISAClient

    client = AISAClient(api_key=clients.KEY, base_url=base, max_retries=0, rate_limiter=limiter)
    return clients.Contender(
        lambda: client.chat(clients.PROMPT, model=clients.MODEL).text,
        close=client.close,
        name=name,
    )


def scenario(base: str, calls: int, rounds: int) -> dict[str, Any]:
    """``rounds`` × ``calls`` calls per client; medians (µs) and the overheads."""
    try:
        import redis  # noqa: F401

        from tests.redis.server import RedisServer
    except ImportError as exc:
        return {"skipped": f"needs the redis extra and the repository's tests/ ({exc})"}
    try:
        server = RedisServer().start()
    except RuntimeError as exc:
        return {"skipped": str(exc)}
    try:
        limiters = _limiters(server.url)
        alone = [_alone(lim, name) for name, lim in limiters.items()]
        slot = measure.sequential(
            alone, lambda c: c.call, rounds=rounds, per_round=calls, warmup=50
        )
        aslot = {name: _async_alone(lim, calls * rounds) for name, lim in limiters.items()}
        made = [_client(base, None, "no limiter")]
        made += [_client(base, lim, f"{name} limiter") for name, lim in limiters.items()]
        timed = measure.sequential(
            made, lambda c: c.call, rounds=rounds, per_round=calls, warmup=50
        )
        for c in made:
            c.close()
    finally:
        server.stop()
    bare = timed["no limiter"]
    return {
        "calls": calls * rounds,
        "slot_us": slot,
        "aslot_us": aslot,
        "call_us": timed,
        "overhead_us": {
            name: {
                "wall": timed[f"{name} limiter"]["median_us"] - bare["median_us"],
                "cpu": timed[f"{name} limiter"]["cpu_median_us"] - bare["cpu_median_us"],
            }
            for name in limiters
        },
    }


# --- report -----------------------------------------------------------------------------------


def _overhead_ms(results: Mapping[str, Any], cpu: bool) -> float:
    return float(results["limiter"]["overhead_us"]["Redis"]["cpu" if cpu else "wall"]) / 1000


TARGETS: tuple[tuple[str, Callable[[Mapping[str, Any], bool], float], str, float, bool], ...] = (
    (
        "RateLimiter shared through Redis (loopback): added per call, in ms",
        _overhead_ms,
        "<",
        0.5,
        True,
    ),
)


def section(results: Mapping[str, Any]) -> list[str]:
    """The markdown of the scenario."""
    lim = results["limiter"]
    if "skipped" in lim:
        return [f"Skipped: {lim['skipped']}"]
    out = [
        f"`RateLimiter({RPM:g}, {CONCURRENT})` (limits nobody reaches: only the bookkeeping), "
        f"in this process and on a `RedisStore` (loopback `redis-server`); {lim['calls']} calls "
        "each, rounds interleaved; medians in µs.",
        "",
        "| | call (µs) | CPU (µs) | added to a call (µs) | `with slot()` (µs) | "
        "`async with aslot()` (µs) |",
        "|---|---|---|---|---|---|",
    ]
    bare = lim["call_us"]["no limiter"]
    out.append(f"| no limiter | {bare['median_us']:.0f} | {bare['cpu_median_us']:.0f} | | | |")
    for name in ("in-process", "Redis"):
        row, added = lim["call_us"][f"{name} limiter"], lim["overhead_us"][name]
        out.append(
            f"| {name} limiter | {row['median_us']:.0f} | {row['cpu_median_us']:.0f} | "
            f"{added['wall']:.0f} (CPU {added['cpu']:.0f}) | "
            f"{lim['slot_us'][name]['median_us']:.1f} | {lim['aslot_us'][name]['median_us']:.1f} |"
        )
    share = lim["slot_us"]["Redis"]["median_us"] / 2
    out += [
        "",
        f"A shared slot is two round trips to Redis (take: one script for the slot and the "
        f"turn; give back: one command), ~{share:.0f} µs each here.",
    ]
    return out
