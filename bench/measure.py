"""How each quantity is measured. Plain loops around ``time.perf_counter_ns``; no framework.

* Sequential calls: every client does ``warmup`` untimed calls, then ``rounds`` rounds of
  ``per_round`` timed calls; the order of clients rotates each round so slow drift in machine
  load (other processes on a shared box) spreads evenly over them. Medians of all samples, in
  wall time and in the calling thread's CPU time.
* Streams: the same, timing whole streams; per-chunk cost = median stream time / chunks.
* Async: ``concurrency`` workers loop on ``call()`` for ``duration`` seconds on one event loop;
  throughput = completed calls / elapsed. Median over rounds, clients interleaved per round.
* Memory: ``tracemalloc`` peak of Python allocations over a short run, separate from timing
  (tracing slows everything down).
* Imports: a fresh interpreter per sample; the time of the import statement alone; best of N
  (which also leaves out a first run that had to write bytecode caches).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

NS_PER_US = 1_000


def summary(samples_us: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "median_us": statistics.median(ordered),
        "p10_us": ordered[len(ordered) // 10],
        "p90_us": ordered[(len(ordered) * 9) // 10],
        "n": len(ordered),
    }


def sequential(
    contenders: Sequence[Any],
    pick: Callable[[Any], Callable[[], Any]],
    *,
    rounds: int,
    per_round: int,
    warmup: int,
) -> dict[str, dict[str, float]]:
    """Per-call wall time and this thread's CPU time (µs) for each contender, rounds
    interleaved. CPU time leaves out the server and the wait for a busy core, so it shows a
    client's own cost even when other processes load the machine."""
    wall: dict[str, list[float]] = {c.name: [] for c in contenders}
    cpu: dict[str, list[float]] = {c.name: [] for c in contenders}
    for c in contenders:
        fn = pick(c)
        for _ in range(warmup):
            fn()
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for r in range(rounds):
        shift = r % len(contenders)
        for c in [*contenders[shift:], *contenders[:shift]]:
            fn, w, t = pick(c), wall[c.name], cpu[c.name]
            for _ in range(per_round):
                started, started_cpu = clock(), cpu_clock()
                fn()
                t.append((cpu_clock() - started_cpu) / NS_PER_US)
                w.append((clock() - started) / NS_PER_US)
    return {
        name: {**summary(wall[name]), "cpu_median_us": statistics.median(cpu[name])}
        for name in wall
    }


def peak_kib(fn: Callable[[], Any], repeat: int) -> float:
    """Peak Python heap growth (KiB) while calling ``fn`` ``repeat`` times."""
    fn()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(repeat):
            fn()
        return (tracemalloc.get_traced_memory()[1] - base) / 1024
    finally:
        tracemalloc.stop()


async def throughput(
    call: Callable[[], Awaitable[Any]], *, concurrency: int, duration: float
) -> dict[str, Any]:
    """Calls per second with ``concurrency`` requests always in flight."""
    done = errors = 0
    first_error: str | None = None
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal done, errors, first_error
        while time.perf_counter() < deadline and errors < 100:
            try:
                await call()
            except Exception as exc:  # a failed call is counted and reported, not fatal
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
            else:
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"calls_per_s": done / elapsed, "calls": done, "errors": errors, "error": first_error}


async def burst(call: Callable[[], Awaitable[Any]], count: int) -> None:
    """``count`` calls at once (warm-up: opens the connections)."""
    await asyncio.gather(*(call() for _ in range(count)))


async def apeak_kib(call: Callable[[], Awaitable[Any]], *, concurrency: int, total: int) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(max(1, total // concurrency)):
            await burst(call, concurrency)
        return (tracemalloc.get_traced_memory()[1] - base) / 1024
    finally:
        tracemalloc.stop()


_IMPORT_PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def import_ms(statement: str, *, repeats: int, env: dict[str, str]) -> dict[str, Any]:
    """Best and median wall time (ms) of ``statement`` in fresh interpreters."""
    samples = []
    for _ in range(repeats):  # the best run is the one least disturbed (and with warm .pyc)
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE.format(stmt=statement)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            return {"error": last}
        samples.append(float(done.stdout.strip()) * 1000)
    return {"best_ms": min(samples), "median_ms": statistics.median(samples), "n": len(samples)}


def subprocess_env(root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISA_", "OPENAI_"))}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
