"""What the worker processes of ``test_fleet.py`` run (started with "spawn": a fresh interpreter
each, as gunicorn, Celery or a process pool would give). Each builds its own clients on its own
``RedisStore`` from the URL it is given, says it is ready, waits for ``go``, works, and puts a
summary on ``results``. Nothing here imports pytest."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aisa_core import (
    AISAClient,
    AsyncAISAClient,
    Budget,
    CostLedger,
    ModelHealth,
    RateLimiter,
)
from aisa_core.errors import AISAError, BudgetExceededError
from aisa_core.stores import RedisStore

Job = dict[str, Any]


def main(target: str, job: Job, go: Any, results: Any) -> None:
    """The process's entry point: ``target`` names one of the functions below."""
    name = job["name"]
    try:
        work: Callable[[Job, Any, Any], dict[str, Any]] = globals()[target]
        summary = work(job, go, results)
        results.put({"name": name, "kind": "done", **summary})
    except BaseException:
        results.put({"name": name, "kind": "crashed", "error": traceback.format_exc()})


def _client(job: Job, **options: Any) -> AISAClient:
    return AISAClient(
        api_key=job["api_key"],
        base_url=job["base_url"],
        max_retries=0,
        default_headers={"x-worker": job["name"]},
        **options,
    )


def _ready(job: Job, go: Any, results: Any) -> float:
    """Say so, wait for the start, and return the deadline (``time.monotonic``)."""
    results.put({"name": job["name"], "kind": "ready"})
    if not go.wait(120):
        raise TimeoutError("no go")
    return time.monotonic() + job.get("seconds", 0)


def _loop(threads: int, deadline: float, one: Callable[[int], str]) -> dict[str, Any]:
    """``threads`` threads calling ``one(i)`` until ``deadline``; what came out."""
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def thread(index: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            outcome = one(index * 1000 + i)
            i += 1
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(thread, range(threads)))
    return {"outcomes": outcomes}


def _outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except AISAError as error:
        return f"{type(error).__name__}: {error.message}"
    return "ok"


# --- rate and concurrency, shared by a fleet ---------------------------------------------------


def _limiter(job: Job) -> RateLimiter:
    store = RedisStore(job["redis"])
    store.now()  # connected before the start
    return RateLimiter(job["rpm"], job["concurrent"], store=store, lease=job.get("lease", 30.0))


def fleet_threads(job: Job, go: Any, results: Any) -> dict[str, Any]:
    """Threads calling through one client, every fourth call a stream."""
    client = _client(job, rate_limiter=_limiter(job), timeout=60)

    def one(i: int) -> str:
        if i % 4 == 3:
            return _outcome(lambda: client.stream(f"q{i}", model=job["model"]).completion())
        return _outcome(lambda: client.chat(f"q{i}", model=job["model"]))

    deadline = _ready(job, go, results)
    with client:
        return _loop(job["threads"], deadline, one)


def fleet_tasks(job: Job, go: Any, results: Any) -> dict[str, Any]:
    """The same, as asyncio tasks on one event loop."""
    limiter = _limiter(job)
    deadline = _ready(job, go, results)

    async def run() -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        async with AsyncAISAClient(
            api_key=job["api_key"],
            base_url=job["base_url"],
            max_retries=0,
            rate_limiter=limiter,
            timeout=60,
        ) as client:

            async def task(index: int) -> None:
                i = 0
                while time.monotonic() < deadline:
                    try:
                        if i % 4 == 3:
                            stream = client.stream(f"a{index}-{i}", model=job["model"])
                            await stream.completion()
                        else:
                            await client.chat(f"a{index}-{i}", model=job["model"])
                        outcome = "ok"
                    except AISAError as error:
                        outcome = f"{type(error).__name__}: {error.message}"
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    i += 1

            await asyncio.gather(*(task(n) for n in range(job["threads"])))
        await limiter.store.aclose()  # type: ignore[attr-defined]
        return {"outcomes": outcomes}

    return asyncio.run(run())


def hold_streams(job: Job, go: Any, results: Any) -> dict[str, Any]:
    """Open ``threads`` slow streams, say so, and keep reading them (until killed)."""
    client = _client(job, rate_limiter=_limiter(job), timeout=120)
    _ready(job, go, results)
    opened = threading.Semaphore(0)

    def hold(i: int) -> None:
        with client.stream(f"hold {i}", model=job["model"]) as stream:
            next(stream)
            opened.release()
            for _ in stream:
                pass

    pool = ThreadPoolExecutor(job["threads"])
    for i in range(job["threads"]):
        pool.submit(hold, i)
    for _ in range(job["threads"]):
        opened.acquire()
    results.put({"name": job["name"], "kind": "holding"})
    time.sleep(600)  # the test kills this process long before
    return {}


# --- health and budgets, shared by a fleet -----------------------------------------------------


class _Attempts:
    """An observer keeping every attempt (as plain data, for the queue)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def on_attempt(self, report: Any) -> None:
        with self._lock:
            self.seen.append(
                {
                    "model": report.model,
                    "outcome": report.outcome,
                    "started": report.started,
                    "ended": report.started + report.duration_s,
                    "probe": report.probe,
                }
            )


def health_calls(job: Job, go: Any, results: Any) -> dict[str, Any]:
    """Call the chain ``job["models"]`` with a shared ``ModelHealth``, ``job["calls"]`` times
    (or until ``seconds``), a call at a time per thread."""
    store = RedisStore(job["redis"])
    store.now()
    health = ModelHealth(
        store=store, failure_threshold=job["threshold"], cooldown=job["cooldown"], window=60
    )
    seen = _Attempts()
    client = _client(
        job,
        health=health,
        observers=[seen],
        model=job["models"][0],
        fallback_models=job["models"][1:],
    )
    deadline = _ready(job, go, results)
    with client:
        if "calls" in job:
            outcomes = [_outcome(lambda i=i: client.chat(f"h{i}")) for i in range(job["calls"])]
            summary: dict[str, Any] = {"outcomes": {o: outcomes.count(o) for o in outcomes}}
        else:

            def one(i: int) -> str:
                time.sleep(job.get("pause", 0))  # a caller's own work between calls
                return _outcome(lambda: client.chat(f"h{i}"))

            summary = _loop(job["threads"], deadline, one)
    return {**summary, "attempts": seen.seen}


def budget_calls(job: Job, go: Any, results: Any) -> dict[str, Any]:
    """Threads calling under one shared ``Budget`` until it is spent (a refusal with less room
    left than a call's estimate), with a ``CostLedger`` under this worker's label."""
    store = RedisStore(job["redis"])
    store.now()
    budget = Budget(job["usd"], per="total", store=store, prices=job["prices"])
    ledger = CostLedger(store, label=job["label"])
    client = _client(job, budget=budget, observers=[ledger], model=job["model"])
    prompt = "x" * job["prompt_chars"]
    _ready(job, go, results)
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def thread(_: int) -> None:
        while True:
            try:
                client.chat(prompt, max_tokens=job["max_tokens"])
                outcome = "ok"
            except BudgetExceededError as error:
                outcome = "refused"
                if error.estimate is not None and budget.remaining() < error.estimate:
                    with lock:
                        counts[outcome] += 1
                    return
            with lock:
                counts[outcome] += 1

    with client, ThreadPoolExecutor(job["threads"]) as pool:
        list(pool.map(thread, range(job["threads"])))
    return {"counts": counts}
