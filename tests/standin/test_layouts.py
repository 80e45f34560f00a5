"""The less usual layouts AIsa documents, on the wire: every error body layout (with
``retryable``), Gemini's own errors on its route, ``X-RateLimit-*`` headers in both schemes,
usage on a content chunk, the quote's ``estimated_at`` and ``invalid_cost_mode``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aisa_core.standin import FAULT_HEADER, Fault, StandIn

Parse = Callable[[str], list[Any]]
BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "one two three"}]}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "one two three"}]}]}


def post(client: httpx.Client, body: dict[str, Any] = BODY, **kwargs: Any) -> httpx.Response:
    return client.post("/chat/completions", json=body, **kwargs)


def generate(client: httpx.Client, **kwargs: Any) -> httpx.Response:
    url = client.base_url.copy_with(path="/v1beta/models/gemini-2.5-flash:generateContent")
    return client.post(url, json=GEMINI, **kwargs)


# -- error layouts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            "runtime",
            {
                "code": "rate_limit_exceeded",
                "error": "Rate limit exceeded, retry later.",
                "request_id": "req-standin-1",
                "retryable": True,
            },
        ),
        (
            "gemini",
            {
                "error": {
                    "code": 429,
                    "message": "Rate limit exceeded, retry later.",
                    "status": "RESOURCE_EXHAUSTED",
                    "retryable": True,
                }
            },
        ),
        (
            "object",
            {
                "error": {
                    "type": "rate_limit_error",
                    "code": "rate_limit_exceeded",
                    "message": "Rate limit exceeded, retry later.",
                    "request_id": "req-standin-1",
                    "retryable": True,
                }
            },
        ),
        (
            "string",
            {"error": "Rate limit exceeded, retry later.", "retryable": True},
        ),
        (
            "top_code",
            {
                "error": {"message": "Rate limit exceeded, retry later."},
                "code": "rate_limit_exceeded",
                "retryable": True,
            },
        ),
    ],
)
def test_every_json_layout_carries_retryable(
    client: httpx.Client, standin: StandIn, style: str, expected: dict[str, Any]
) -> None:
    standin.enqueue_fault(Fault(status=429, body_style=style, retryable=True))  # type: ignore[arg-type]
    response = post(client)
    assert response.status_code == 429
    assert response.json() == expected


def test_runtime_layout_without_retryable(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=503, body_style="runtime", code="upstream_unavailable"))
    assert post(client).json() == {
        "code": "upstream_unavailable",
        "error": "No available channels for model gpt-4.1 under group default",
        "request_id": "req-standin-1",
    }


def test_gemini_route_answers_in_its_own_layout(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=503))
    response = generate(client)
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": 503,
            "message": "No available channels for model gemini-2.5-flash under group default",
            "status": "UNAVAILABLE",
        }
    }
    standin.enqueue_fault(Fault(status=400, code="FAILED_PRECONDITION", message="Not here."))
    assert generate(client).json()["error"] == {
        "code": 400,
        "message": "Not here.",
        "status": "FAILED_PRECONDITION",
    }
    standin.enqueue_fault(Fault(status=429, body_style="object"))  # a gateway-level error
    assert generate(client).json()["error"]["code"] == "rate_limit_exceeded"


def test_gemini_route_refuses_a_missing_key_in_its_layout(anon_client: httpx.Client) -> None:
    url = anon_client.base_url.copy_with(path="/v1beta/models/gemini-2.5-flash:generateContent")
    response = anon_client.post(url, json=GEMINI)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (401, "UNAUTHENTICATED")
    assert post(anon_client).json()["error"]["code"] == "missing_api_key"  # chat: its own


def test_layouts_by_header(client: httpx.Client) -> None:
    fault = Fault(status=502, body_style="runtime", retryable=False)
    response = post(client, headers={FAULT_HEADER: fault.spec()})
    assert response.json()["retryable"] is False
    assert response.json()["code"] == "upstream_unavailable"


# -- rate-limit headers ---------------------------------------------------------------------

SPLIT = [
    f"x-ratelimit-{what}-{kind}"
    for kind in ("requests", "tokens")
    for what in ("limit", "remaining", "reset")
]
PLAIN = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]


def test_split_rate_limit_headers_count_down(client: httpx.Client, standin: StandIn) -> None:
    standin.fail_model("gpt-4.1", Fault(rate_limit="split"))
    first, second = post(client), post(client)
    assert first.status_code == second.status_code == 200
    for name in SPLIT:
        assert name in first.headers
    assert not any(name in first.headers for name in PLAIN)
    assert first.headers["x-ratelimit-limit-requests"] == "600"
    assert first.headers["x-ratelimit-limit-tokens"] == "600000"
    assert first.headers["x-ratelimit-remaining-requests"] == "599"
    assert second.headers["x-ratelimit-remaining-requests"] == "598"
    used = first.json()["usage"]["total_tokens"]  # each answer counts itself
    assert int(first.headers["x-ratelimit-remaining-tokens"]) == 600_000 - used
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 600_000 - 2 * used
    reset = int(first.headers["x-ratelimit-reset-requests"])
    assert time.time() < reset <= time.time() + 61


def test_plain_rate_limit_headers_on_a_429(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=429, retry_after=2, rate_limit="plain"))
    response = post(client)
    assert response.status_code == 429
    assert [response.headers[name] for name in PLAIN[:2]] == ["600", "0"]
    assert int(response.headers["x-ratelimit-reset"]) > time.time()
    assert response.headers["retry-after"] == "2"
    assert not any(name in response.headers for name in SPLIT)


def test_no_rate_limit_headers_unless_asked(client: httpx.Client) -> None:
    assert not any(k.startswith("x-ratelimit") for k in post(client).headers)


# -- usage on a content chunk -----------------------------------------------------------------


def test_usage_rides_on_the_last_content_chunk(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    standin.enqueue_fault(Fault(usage_in_content=True))
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    events = parse_sse(post(client, body).text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(chunk["choices"] for chunk in chunks), "no empty-choices usage chunk"
    last = chunks[-1]
    assert last["choices"][0]["delta"]["content"]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"]["completion_tokens"] > 0
    assert [c for c in chunks if "usage" in c] == [last]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)


def test_usage_in_content_by_header(client: httpx.Client, parse_sse: Parse) -> None:
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    events = parse_sse(post(client, body, headers={FAULT_HEADER: "usage_in_content"}).text)
    assert "usage" in events[-2] and events[-2]["choices"][0]["delta"]["content"]


# -- quotes and balance ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["estimate", "", "quote-please"])
def test_unknown_cost_mode_is_a_400(client: httpx.Client, standin: StandIn, mode: str) -> None:
    response = post(client, headers={"X-AISA-Cost-Mode": mode})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cost_mode"
    assert standin.spent_micros_usd == 0


def test_quote_header_is_case_insensitive(client: httpx.Client) -> None:
    body = post(client, headers={"X-AISA-Cost-Mode": "Quote"}).json()
    assert body["object"] == "cost_estimate" and body["estimated_at"].endswith("Z")


def test_balance_has_a_currency(client: httpx.Client) -> None:
    assert client.get("/credits/balance").json()["currency"] == "USD"


# -- the Fault value --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=503, body_style="runtime", retryable=False),
        Fault(status=429, body_style="gemini", retryable=True, rate_limit="plain"),
        Fault(usage_in_content=True, rate_limit="split"),
    ],
)
def test_new_fields_round_trip_through_the_spec(fault: Fault) -> None:
    assert Fault.parse(fault.spec()) == fault


@pytest.mark.parametrize(
    "kwargs",
    [{"rate_limit": "openai"}, {"retryable": "yes"}, {"body_style": "html"}],
)
def test_new_fields_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Fault"):
        Fault(**kwargs)
