"""Latency profiles and scripted outages: models that are slow, down for a while, or flapping.

Outages are checked on a clock the test holds (no sleeping, no timing margins); profiles are
real delays, checked with lower bounds (a loaded machine only makes things slower) and with
comparisons against an unprofiled model.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from aisa_core.standin import FAULT_HEADER, Fault, StandIn

from .conftest import sse_payloads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def chat(client: httpx.Client, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi there"}], **extra}
    return client.post("/chat/completions", json=body)


def timed(client: httpx.Client, model: str, **extra: Any) -> float:
    started = time.perf_counter()
    assert chat(client, model, **extra).status_code == 200
    return time.perf_counter() - started


def first_token_s(client: httpx.Client, model: str) -> tuple[float, float, list[Any]]:
    """(time to the first content event, total time, the events) of one streamed answer."""
    body = {"model": model, "messages": [{"role": "user", "content": "one two three"}]}
    started = time.perf_counter()
    first = None
    text = ""
    with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
        for piece in response.iter_text():
            text += piece
            if first is None and '"content":"' in piece.replace('"content":""', ""):
                first = time.perf_counter() - started
    assert first is not None
    return first, time.perf_counter() - started, sse_payloads(text)


@pytest.fixture
def clock(standin: StandIn) -> Clock:
    clock = Clock()
    standin.set_clock(clock)
    return clock


def status(client: httpx.Client, model: str = "gpt-4.1") -> int:
    return chat(client, model).status_code


# --- profiles ---------------------------------------------------------------------------------


def test_a_profile_delays_the_first_token_of_a_stream(
    client: httpx.Client, standin: StandIn
) -> None:
    standin.set_profile("slow-model", ttft=0.3)
    slow_first, _, events = first_token_s(client, "slow-model")
    fast_first, _, _ = first_token_s(client, "fast-model")
    assert slow_first >= 0.3
    assert fast_first < slow_first
    assert events[-1] == "[DONE]"  # the answer itself is unchanged


def test_tokens_per_second_paces_a_stream(client: httpx.Client, standin: StandIn) -> None:
    standin.set_profile("paced", ttft=0.0, tokens_per_s=20)  # 50 ms between events
    first, total, events = first_token_s(client, "paced")
    content = [e for e in events if isinstance(e, dict) and e["choices"]]
    chunks = sum(1 for e in content if e["choices"][0]["delta"].get("content"))
    assert chunks >= 3
    assert total >= chunks * 0.05  # every content event but the first, and the tail, waited
    assert first < total


def test_a_whole_answer_waits_for_its_first_token_and_all_the_others(
    client: httpx.Client, standin: StandIn
) -> None:
    standin.set_profile("slow-model", ttft=0.2, tokens_per_s=100)
    answer = chat(client, "slow-model").json()
    tokens = answer["usage"]["completion_tokens"]
    assert tokens > 5
    assert timed(client, "slow-model") >= 0.2 + tokens / 100
    standin.clear_profile("slow-model")
    assert timed(client, "slow-model") < 0.2


def test_quotes_and_errors_are_not_paced(client: httpx.Client, standin: StandIn) -> None:
    standin.set_profile("slow-model", ttft=1.0)
    started = time.perf_counter()
    headers = {"X-AISA-Cost-Mode": "quote"}
    body = {"model": "slow-model", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/chat/completions", json=body, headers=headers).status_code == 200
    standin.fail_model("slow-model", Fault(status=503))
    assert status(client, "slow-model") == 503
    assert time.perf_counter() - started < 1.0


def test_bad_profiles_are_refused(standin: StandIn) -> None:
    with pytest.raises(ValueError, match="ttft"):
        standin.set_profile("m", ttft=-1)
    with pytest.raises(ValueError, match="tokens_per_s"):
        standin.set_profile("m", tokens_per_s=0)


# --- outages over time --------------------------------------------------------------------------


def test_an_outage_has_a_start_and_an_end(
    client: httpx.Client, standin: StandIn, clock: Clock
) -> None:
    standin.schedule_outage("gpt-4.1", start=1.0, end=3.0)
    seen = []
    for t in (0.0, 0.99, 1.0, 2.0, 2.99, 3.0, 10.0):
        clock.now = 100.0 + t
        seen.append(status(client))
    assert seen == [200, 200, 503, 503, 503, 200, 200]
    assert status(client, "gpt-4.1-mini") == 200  # other models are untouched


def test_an_outage_answers_its_fault_and_can_last_until_cleared(
    client: httpx.Client, standin: StandIn, clock: Clock
) -> None:
    standin.schedule_outage("gpt-4.1", fault=Fault(status=429, retry_after=2))
    clock.now += 1e6
    response = chat(client, "gpt-4.1")
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    standin.schedule_outage("gpt-4.1", fault="status=502")  # the latest wins while both run
    assert status(client) == 502
    standin.clear_outages("gpt-4.1")
    assert status(client) == 200


def test_flapping_goes_down_at_the_start_of_every_period(
    client: httpx.Client, standin: StandIn, clock: Clock
) -> None:
    standin.flap("gpt-4.1", period=4.0, down=1.0, start=2.0, end=14.0)
    assert timeline(client, clock, 0, 1.9, 2, 2.9, 3, 5.9, 6, 6.5, 7, 13.9, 14) == {
        0: 200,
        1.9: 200,
        2: 503,
        2.9: 503,
        3: 200,
        5.9: 200,
        6: 503,
        6.5: 503,
        7: 200,
        13.9: 200,
        14: 200,
    }


def test_flapping_is_down_half_of_each_period_by_default(
    client: httpx.Client, standin: StandIn, clock: Clock
) -> None:
    standin.flap("gpt-4.1", period=2.0)
    seen = timeline(client, clock, 0, 0.5, 1.0, 1.5, 2.0, 3.5)
    assert list(seen.values()) == [503, 503, 200, 200, 503, 200]


def timeline(client: httpx.Client, clock: Clock, *offsets: float) -> dict[float, int]:
    """The status of a call at each offset (seconds) from the clock's current reading."""
    start = clock.now
    seen = {}
    for t in offsets:
        clock.now = start + t
        seen[t] = status(client)
    return seen


def test_outages_come_before_model_faults_and_after_the_fault_header(
    client: httpx.Client, standin: StandIn
) -> None:
    standin.fail_model("gpt-4.1", Fault(status=429))
    standin.schedule_outage("gpt-4.1", fault=Fault(status=502))
    assert status(client) == 502
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    forced = client.post("/chat/completions", json=body, headers={FAULT_HEADER: "504"})
    assert forced.status_code == 504
    standin.clear_outages()
    assert status(client) == 429


def test_outages_reach_embeddings_too(client: httpx.Client, standin: StandIn) -> None:
    standin.schedule_outage("text-embedding-3-small")
    body = {"model": "text-embedding-3-small", "input": "hi"}
    assert client.post("/embeddings", json=body).status_code == 503


def test_reset_forgets_profiles_outages_and_the_clock(
    client: httpx.Client, standin: StandIn, clock: Clock
) -> None:
    standin.set_profile("gpt-4.1", ttft=5.0)
    standin.schedule_outage("gpt-4.1-mini")
    standin.reset()
    assert standin.now() != clock.now  # back on the monotonic clock
    assert timed(client, "gpt-4.1") < 5.0
    assert status(client, "gpt-4.1-mini") == 200


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.schedule_outage("m", start=3, end=1), "end after it starts"),
        (lambda s: s.schedule_outage("m", start=-1), "start"),
        (lambda s: s.flap("m", period=0), "period"),
        (lambda s: s.flap("m", period=1, down=2), "longer than the period"),
    ],
)
def test_bad_schedules_are_refused(standin: StandIn, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(standin)
