"""Live-signal scenarios: a dead primary with and without a shared ``ModelHealth``, and
``LowestLatency`` choosing between a 50 ms and a 300 ms model.

The server is the stand-in gateway (``aisa_core.standin``) in its own process, scripted at start
(``python bench/live.py --port N``): ``DEAD`` answers 503 after 50 ms on every request,
``HEALTHY`` answers after 10 ms, ``FAST`` and ``SLOW`` have time-to-first-token profiles of 50
and 300 ms. These scenarios measure decisions (which model is called, and latencies made of
those delays), not per-call client overhead (the call/stream sections measure that), so the
stand-in's own work per request (a few hundred µs, the same in every arm compared) does not
matter, while its per-model faults and profiles are what the scenarios need; the fixed-answer
``bench/server.py`` has neither. The fallback's 10 ms (a real model takes hundreds) keeps the
health ratio about what the dead primary costs rather than about the tens of µs the attempt
seam adds to a loopback call of under a millisecond.

Used by ``bench/run.py`` (scenarios ``health`` and ``latency``) and ``bench/report.py``
(:data:`TARGETS`, :func:`section`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEAD, HEALTHY = "gpt-4.1", "gpt-4.1-mini"
FAST, SLOW = "gemini-2.5-flash", "claude-sonnet-4-5-20250929"
KEY = "sk-bench-not-a-real-key"
PROMPT = "Say hello."
THRESHOLD, COOLDOWN = 3, 0.25  # a short cooldown, so that many pass during the run
MIN_SAMPLES = 3
NO_HEALTH_THREADS = 10  # each of its calls waits 50 ms for the dead model: run them 10 at a time


def serve(port: int) -> None:
    """The scripted stand-in, in the foreground."""
    from aisa_core.standin import Fault, StandIn, StandInApp

    app = StandInApp()
    app.fail_model(DEAD, Fault(status=503, delay=0.05))
    app.set_profile(HEALTHY, ttft=0.01)
    app.set_profile(FAST, ttft=0.05)
    app.set_profile(SLOW, ttft=0.3)
    StandIn.serve_forever("127.0.0.1", port, app=app)


# --- a dead primary ------------------------------------------------------------------------------


class DeadWatch:
    """An attempt observer keeping every attempt on the dead model."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []

    def on_attempt(self, report: Any) -> None:
        if report.model == DEAD:
            self.attempts.append(report)


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    answer = call()
    assert answer.meta.requested_model == HEALTHY, answer.meta
    return time.perf_counter() - started


def _arm(samples: list[float], watch: DeadWatch | None) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "calls": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[len(ordered) * 9 // 10] * 1000,
        "dead_requests": len(watch.attempts) if watch else 0,
    }


def _after_threshold(watch: DeadWatch, ended: float) -> dict[str, Any]:
    """Requests to the dead model once its breaker opened: probes, anything else, and how many
    probes the time since allows (one per cooldown; backoff only makes cooldowns longer)."""
    dead = sorted(watch.attempts, key=lambda r: r.started)
    if len(dead) < THRESHOLD:
        return {"tripped": False}
    last = dead[THRESHOLD - 1]
    tripped = last.started + last.duration_s
    after = dead[THRESHOLD:]
    probes = sum(1 for r in after if r.probe)
    allowed = 1 + int((ended - tripped) / COOLDOWN)
    return {
        "tripped": True,
        "seconds": ended - tripped,
        "probes": probes,
        "other_requests": len(after) - probes,
        "allowed_probes": allowed,
        "excess": len(after) - probes + max(0, probes - allowed),
    }


def health_scenario(base: str, calls: int) -> dict[str, Any]:
    """``calls`` calls each: the fallback directly; the chain with a shared ``ModelHealth``
    (both sequential, interleaved in ten blocks); the chain without one (concurrently)."""
    from aisa_core import AISAClient, ModelHealth

    common: dict[str, Any] = {"api_key": KEY, "base_url": base, "max_retries": 0}
    shared_watch, bare_watch = DeadWatch(), DeadWatch()
    health = ModelHealth(failure_threshold=THRESHOLD, cooldown=COOLDOWN)
    direct = AISAClient(model=HEALTHY, **common)
    chain = {"model": DEAD, "fallback_models": [HEALTHY], **common}
    shared = AISAClient(health=health, observers=[shared_watch], **chain)
    bare = AISAClient(observers=[bare_watch], **chain)
    try:
        _timed(lambda: direct.chat(PROMPT))  # opens the connection
        arms: dict[str, list[float]] = {"direct": [], "shared": []}
        for block in range(10):
            order = [("direct", direct), ("shared", shared)][:: 1 if block % 2 else -1]
            for name, client in order:
                arms[name] += [_timed(lambda c=client: c.chat(PROMPT)) for _ in range(calls // 10)]
        ended = time.time()
        with ThreadPoolExecutor(NO_HEALTH_THREADS) as pool:
            bare_samples = list(pool.map(lambda _: _timed(lambda: bare.chat(PROMPT)), range(calls)))
    finally:
        for client in (direct, shared, bare):
            client.close()
    result = {
        "calls": calls,
        "threshold": THRESHOLD,
        "cooldown_s": COOLDOWN,
        "arms": {
            "fallback called directly": _arm(arms["direct"], None),
            "chain, shared ModelHealth": _arm(arms["shared"], shared_watch),
            f"chain, no health ({NO_HEALTH_THREADS} at a time)": _arm(bare_samples, bare_watch),
        },
        "after_threshold": _after_threshold(shared_watch, ended),
    }
    result["median_over_direct"] = statistics.median(arms["shared"]) / statistics.median(
        arms["direct"]
    )
    return result


# --- latency routing ---------------------------------------------------------------------------


def latency_scenario(base: str, calls: int) -> dict[str, Any]:
    """``calls`` streamed calls through a router with ``LowestLatency`` over a 300 ms and a
    50 ms route (the slow one listed first); the share the fast one got after warm-up."""
    from aisa_core import ModelHealth
    from langchain_aisa.router import LowestLatency, RouterRunnable

    health = ModelHealth()
    router = RouterRunnable(
        {"slow": SLOW, "fast": FAST},
        [LowestLatency(min_samples=MIN_SAMPLES, seed=1)],
        aisa_health=health,
        chat_kwargs={"api_key": KEY, "base_url": base, "max_retries": 0},
    )
    routes: list[str] = []
    first_token: dict[str, list[float]] = {"slow": [], "fast": []}
    try:
        for _ in range(calls):
            started = time.perf_counter()
            chunks = router.stream(PROMPT)
            route = next(chunks).response_metadata["aisa_route"]
            first_token[route].append(time.perf_counter() - started)
            for _ in chunks:
                pass
            routes.append(route)
    finally:
        router.close()
    warmup = 2 * MIN_SAMPLES
    after = routes[warmup:]
    return {
        "calls": calls,
        "warmup": warmup,
        "explore": LowestLatency().explore,
        "routes": dict(Counter(routes)),
        "share_fast_after_warmup": after.count("fast") / len(after),
        "median_ttft_ms": {r: statistics.median(v) * 1000 for r, v in first_token.items() if v},
    }


# --- report -----------------------------------------------------------------------------------


def _health(key: str) -> Callable[[Mapping[str, Any], bool], float]:
    def value(results: Mapping[str, Any], cpu: bool) -> float:
        section = results["health"]
        if key == "excess":
            return float(section["after_threshold"]["excess"])
        return float(section[key])

    return value


def _share(results: Mapping[str, Any], cpu: bool) -> float:
    return float(results["latency"]["share_fast_after_warmup"])


TARGETS: tuple[tuple[str, Callable[[Mapping[str, Any], bool], float], str, float, bool], ...] = (
    (
        "dead primary, shared ModelHealth: requests to it after the threshold beyond one probe "
        "per cooldown",
        _health("excess"),
        "<=",
        0,
        False,
    ),
    (
        "dead primary, shared ModelHealth: median latency ≤ 1.2× calling the fallback directly",
        _health("median_over_direct"),
        "<=",
        1.2,
        False,
    ),
    (
        "LowestLatency (50 ms vs 300 ms to first token): share to the fast model after warm-up",
        _share,
        ">=",
        0.9,
        False,
    ),
)


def section(results: Mapping[str, Any]) -> list[str]:
    """The markdown of both scenarios (whichever ran)."""
    out: list[str] = []
    if "health" in results:
        h = results["health"]
        out += [
            f"A primary that answers 503 after 50 ms and a fallback that answers in 10 ms; "
            f"{h['calls']} calls "
            f"per arm; ModelHealth(failure_threshold={h['threshold']}, cooldown={h['cooldown_s']})"
            " (its default backoff doubles a cooldown after each failed probe).",
            "",
            "| arm | median ms | p90 ms | requests to the dead model |",
            "|---|---|---|---|",
        ]
        for name, arm in h["arms"].items():
            out.append(
                f"| {name} | {arm['median_ms']:.2f} | {arm['p90_ms']:.2f} | "
                f"{arm['dead_requests']} |"
            )
        a = h["after_threshold"]
        if a.get("tripped"):
            out += [
                "",
                f"After the breaker opened: {a['probes']} probe(s) and {a['other_requests']} other "
                f"request(s) to the dead model in {a['seconds']:.2f} s (at most "
                f"{a['allowed_probes']} probes allowed: one per cooldown). Median with health / "
                f"direct: {h['median_over_direct']:.3f}×.",
            ]
    if "latency" in results:
        lat = results["latency"]
        ttft = ", ".join(f"{r} {ms:.1f} ms" for r, ms in lat["median_ttft_ms"].items())
        out += [
            "",
            f"LowestLatency over a 300 ms and a 50 ms (time to first token) route, "
            f"{lat['calls']} streamed calls, warm-up {lat['warmup']}, exploration "
            f"{lat['explore']:.0%}: calls per route {lat['routes']}; share to the fast route "
            f"after warm-up {lat['share_fast_after_warmup']:.1%}; median time to first token: "
            f"{ttft}.",
        ]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve the scripted stand-in for bench/live.py")
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)
