"""ModelHealth: each rule of the breaker, with a fake clock; then shared by threads and tasks."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from aisa_core import errors as E
from aisa_core.attempts import AttemptInfo, AttemptReport
from aisa_core.health import ModelHealth, counts_against_health
from aisa_core.stores import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def report(model: str, error: E.AISAError | None = None, duration: float = 0.1) -> AttemptReport:
    outcome = "ok" if error is None else "error"
    return AttemptReport("chat", model, outcome, 0.0, duration, error=error)


def fail(health: ModelHealth, model: str, error: E.AISAError | None = None) -> bool:
    """One attempt that fails; whether it was admitted at all."""
    ticket = health.admit(AttemptInfo("chat", model))
    if ticket.skipped is not None:
        return False
    health.record(ticket, report(model, error or E.ServerError("boom", status_code=503)))
    return True


def succeed(health: ModelHealth, model: str) -> bool:
    ticket = health.admit(AttemptInfo("chat", model))
    if ticket.skipped is not None:
        return False
    health.record(ticket, report(model))
    return True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> ModelHealth:
    return ModelHealth(
        failure_threshold=3,
        window=60,
        cooldown=30,
        max_cooldown=100,
        store=MemoryStore(clock=clock),
    )


def test_trips_at_the_threshold_not_before(health: ModelHealth) -> None:
    assert fail(health, "m") and fail(health, "m")
    assert health.is_available("m")
    assert fail(health, "m")  # the third failure within the window trips it
    assert not health.is_available("m")
    assert not fail(health, "m")  # cooling down: the attempt is skipped, nothing sent


def test_failures_outside_the_window_do_not_add_up(health: ModelHealth, clock: Clock) -> None:
    for _ in range(5):
        fail(health, "m")
        fail(health, "m")
        clock.now += 61  # the window passes before the third
    assert health.is_available("m")


@pytest.mark.parametrize(
    "error",
    [
        E.BadRequestError("bad", status_code=400),
        E.AuthenticationError("key", status_code=401),
        E.InsufficientCreditsError("money", status_code=402),
        E.PermissionDeniedError("no", status_code=403),
        E.UnknownModelError("typo", status_code=404),
        E.UnprocessableEntityError("param", status_code=422),
        E.ContextWindowExceededError("long", status_code=400),
    ],
)
def test_client_errors_never_count(health: ModelHealth, error: E.AISAError) -> None:
    assert not counts_against_health(error)
    for _ in range(10):
        assert fail(health, "m", error)
    assert health.is_available("m")


@pytest.mark.parametrize(
    "error",
    [
        E.RateLimitError("slow", status_code=429),
        E.ServerError("down", status_code=502),
        E.APITimeoutError("slow"),
        E.APIConnectionError("refused"),
        E.StreamInterruptedError("cut"),
        E.StreamError("in-band"),
        E.UnknownModelError("No available channels for model x", status_code=503),
    ],
)
def test_failures_that_count(health: ModelHealth, error: E.AISAError) -> None:
    assert counts_against_health(error)
    for _ in range(3):
        fail(health, "m", error)
    assert not health.is_available("m")


def test_cooldown_then_one_probe_then_closed(health: ModelHealth, clock: Clock) -> None:
    for _ in range(3):
        fail(health, "m")
    clock.now += 29
    assert not health.admit(AttemptInfo("chat", "m")).probe and not health.is_available("m")
    clock.now += 2  # cooldown over: half-open
    probe = health.admit(AttemptInfo("chat", "m"))
    assert probe.skipped is None and probe.probe
    other = health.admit(AttemptInfo("chat", "m"))  # a second caller while the probe is out
    assert other.skipped is not None and "probing" in other.skipped.reason
    health.record(probe, report("m"))  # the probe answered: closed
    assert all(succeed(health, "m") for _ in range(5))
    assert fail(health, "m") and fail(health, "m") and health.is_available("m")  # counts anew


def test_a_failed_probe_reopens_with_backoff_up_to_the_cap(
    health: ModelHealth, clock: Clock
) -> None:
    for _ in range(3):
        fail(health, "m")
    cooldowns = []
    for _ in range(4):
        until = health.cooling_until("m")
        assert until is not None
        cooldowns.append(round(until - clock.now))
        clock.now = until + 0.1
        assert fail(health, "m")  # the probe fails: open again, longer
    assert cooldowns == [30, 60, 100, 100]  # doubled, then capped at max_cooldown


def test_a_longer_retry_after_is_honoured(health: ModelHealth, clock: Clock) -> None:
    for _ in range(3):
        fail(health, "m", E.RateLimitError("slow", status_code=429, retry_after=90))
    until = health.cooling_until("m")
    assert until is not None and round(until - clock.now) == 90


def test_a_probe_that_never_reports_is_let_go(health: ModelHealth, clock: Clock) -> None:
    for _ in range(3):
        fail(health, "m")
    clock.now += 31
    assert health.admit(AttemptInfo("chat", "m")).probe  # taken, then the caller dies
    assert health.admit(AttemptInfo("chat", "m")).skipped is not None
    clock.now += health.probe_timeout + 1
    assert health.admit(AttemptInfo("chat", "m")).probe


def test_a_caller_that_read_the_state_before_a_failed_probe_does_not_probe_again(
    health: ModelHealth, clock: Clock
) -> None:
    """Across processes, reading the breaker and claiming its probe are two steps: a caller
    may read "half-open" just before the probe fails (reopening it and freeing the claim) and
    claim just after. Stepped by hand here, in exactly that order."""
    for _ in range(3):
        fail(health, "m")
    clock.now += 31
    probe = health.admit(AttemptInfo("chat", "m"))
    late = health.admit_ops(AttemptInfo("chat", "m"))
    op = late.send(None)
    assert op.name == "get_many"  # type: ignore[union-attr]
    state = health.store.get_many(*op.args)  # type: ignore[union-attr]  # half-open, probe out
    health.record(probe, report("m", E.ServerError("still down", status_code=503)))  # reopened
    op = late.send(state)
    assert op.name == "add"  # type: ignore[union-attr]
    with pytest.raises(StopIteration) as done:
        while True:  # the rest of its steps, now that the probe has failed
            op = late.send(getattr(health.store, op.name)(*op.args))  # type: ignore[union-attr]
    ticket = done.value.value
    assert not ticket.probe and ticket.skipped is not None
    assert ticket.skipped.reason == "cooling down"
    assert health.admit(AttemptInfo("chat", "m")).skipped is not None  # and nobody else probes
    clock.now += 61
    assert health.admit(AttemptInfo("chat", "m")).probe  # until the next cooldown ends


def test_latency_and_error_rate_are_averaged(health: ModelHealth) -> None:
    for duration in (1.0, 1.0, 3.0):
        ticket = health.admit(AttemptInfo("chat", "m"))
        health.record(ticket, report("m", duration=duration))
    fail(health, "m")
    stats = health.stats("m")
    assert stats.samples == 4
    assert stats.latency_s == pytest.approx(1.0 + 0.2 * (3.0 - 1.0))
    assert stats.error_rate == pytest.approx(0.2)
    assert health.stats("unseen").samples == 0


def test_models_are_independent(health: ModelHealth) -> None:
    for _ in range(3):
        fail(health, "a")
    assert not health.is_available("a") and health.is_available("b")


def test_shared_by_32_threads_one_probe(health: ModelHealth, clock: Clock) -> None:
    with ThreadPoolExecutor(32) as pool:
        admitted = list(pool.map(lambda _: fail(health, "m"), range(32)))
    assert not health.is_available("m") and admitted.count(True) >= 3
    clock.now += 31
    barrier = threading.Barrier(32)

    def try_probe(_: int) -> bool:
        barrier.wait()
        return health.admit(AttemptInfo("chat", "m")).probe

    with ThreadPoolExecutor(32) as pool:
        probes = Counter(pool.map(try_probe, range(32)))
    assert probes[True] == 1  # exactly one caller probes; the other 31 are turned away


async def test_shared_by_200_tasks_and_threads(health: ModelHealth, clock: Clock) -> None:
    async def one() -> bool:
        ticket = await health.aadmit(AttemptInfo("chat", "m"))
        if ticket.skipped is not None:
            return False
        await asyncio.sleep(0)
        await health.arecord(ticket, report("m", E.ServerError("x", status_code=500)))
        return True

    results = await asyncio.gather(*(one() for _ in range(200)))
    assert not health.is_available("m") and sum(results) >= 3
    clock.now += 31
    tickets = await asyncio.gather(
        *(health.aadmit(AttemptInfo("chat", "m")) for _ in range(200)),
        asyncio.to_thread(lambda: [health.admit(AttemptInfo("chat", "m")) for _ in range(50)]),
    )
    flat = [t for t in tickets[:200]] + list(tickets[200])  # type: ignore[arg-type]
    assert sum(t.probe for t in flat) == 1


def test_default_is_opt_in_and_shared() -> None:
    assert ModelHealth.default() is ModelHealth.default()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(E.ConfigurationError):
        ModelHealth(failure_threshold=0)
    with pytest.raises(E.ConfigurationError):
        ModelHealth(cooldown=0)


def test_a_hostile_retry_after_cannot_cool_a_model_for_ever(
    health: ModelHealth, clock: Clock
) -> None:
    for _ in range(3):
        fail(health, "m", E.RateLimitError("slow", status_code=429, retry_after=1e12))
    until = health.cooling_until("m")
    assert until is not None and round(until - clock.now) == health.max_cooldown


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999"])
def test_retry_after_that_is_not_a_finite_number_is_ignored(value: str) -> None:
    from aisa_core._error_bodies import parse_retry_after

    assert parse_retry_after({"Retry-After": value}) is None
    assert parse_retry_after({"retry-after-ms": value, "Retry-After": "2"}) == 2.0


def test_timings_come_from_answers_and_from_streams_closed_early(health: ModelHealth) -> None:
    def seen(outcome: str, duration: float, first: float | None, error: E.AISAError | None) -> None:
        ticket = health.admit(AttemptInfo("chat", "m"))
        health.record(
            ticket,
            AttemptReport("chat", "m", outcome, 0.0, duration, first_chunk_s=first, error=error),  # type: ignore[arg-type]
        )

    seen("ok", 1.0, 0.5, None)
    seen("error", 0.01, None, E.BadRequestError("bad", status_code=400))  # a fast refusal
    seen("error", 9.0, 0.2, E.StreamError("cut"))  # a stream that failed after its first chunk
    seen("cancelled", 0.3, 0.1, None)  # the reader stopped after the first chunk
    seen("cancelled", 0.3, None, None)  # closed before anything came: nothing measured
    stats = health.stats("m")
    assert stats.samples == 4
    assert stats.latency_s == pytest.approx(1.0)  # only the whole answer's total time
    assert stats.first_chunk_s == pytest.approx(0.5 + 0.2 * (0.1 - 0.5))
    assert stats.error_rate == pytest.approx(0.2 * 0.8)  # the stream error counted, then decayed
