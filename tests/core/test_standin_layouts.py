"""The core client reads every layout AIsa documents, as the stand-in sends them: each error body
into the right typed error with its code, request id and ``retryable``; rate-limit headers; usage
on a content chunk; the quote's ``estimated_at`` and ``invalid_cost_mode``; the balance's
currency; and ``reasoning_content`` goes back only to the models that need it."""

from __future__ import annotations

from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient, assistant, tool_result, user
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn


@pytest.mark.parametrize(
    ("fault", "cls", "code"),
    [
        (Fault(status=429, body_style="runtime"), E.RateLimitError, "rate_limit_exceeded"),
        (Fault(status=402, body_style="runtime"), E.InsufficientCreditsError, "x"),
        (Fault(status=429, body_style="gemini"), E.RateLimitError, "RESOURCE_EXHAUSTED"),
        (Fault(status=403, body_style="gemini"), E.PermissionDeniedError, "PERMISSION_DENIED"),
        (Fault(status=503, body_style="gemini"), E.UnknownModelError, "UNAVAILABLE"),
        (Fault(status=500, body_style="text"), E.ServerError, None),
        (Fault(status=422, body_style="top_code"), E.UnprocessableEntityError, "x"),
    ],
)
def test_each_layout_becomes_the_right_error(
    client: AISAClient, aisa_standin: StandIn, fault: Fault, cls: type[E.APIError], code: str
) -> None:
    if code == "x":
        code = fault.described("gpt-4.1")[1]  # the layout's own AIsa code
    aisa_standin.fail_model("gpt-4.1", fault)
    with pytest.raises(cls) as caught:
        client.chat("hi")
    error = caught.value
    assert (error.status_code, error.code) == (fault.status, code)
    # The body's request id where the layout has one, else the X-Request-ID header.
    assert error.request_id == f"req-standin-{len(aisa_standin.requests)}"
    assert error.message == fault.described("gpt-4.1")[2] or fault.body_style == "text"


@pytest.mark.parametrize(
    ("fault", "retryable", "requests"),
    [
        (Fault(status=502, body_style="runtime", retryable=False), False, 1),
        (Fault(status=429, body_style="object", retryable=False), False, 1),
        (Fault(status=409, body_style="runtime", retryable=True), True, 3),
        (Fault(status=504, body_style="gemini", retryable=False), False, 1),
        (Fault(status=502, body_style="runtime"), True, 3),  # absent: the class decides
        (Fault(status=400, body_style="string"), False, 1),
    ],
)
def test_the_body_retryable_field_decides_retries(
    client: AISAClient, aisa_standin: StandIn, fault: Fault, retryable: bool, requests: int
) -> None:
    aisa_standin.fail_model("gpt-4.1", fault)
    with pytest.raises(E.APIError) as caught:
        client.chat("hi")
    assert caught.value.retryable is retryable
    assert len(aisa_standin.requests) == requests


def test_retryable_false_still_falls_back(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(status=503, body_style="runtime", retryable=False))
    done = client.chat("hi", fallback_models=["gpt-4.1-mini"])
    assert done.model == "gpt-4.1-mini"
    assert [r.json["model"] for r in aisa_standin.requests] == ["gpt-4.1", "gpt-4.1-mini"]


def test_retryable_survives_pickling() -> None:
    import pickle

    error = E.error_from_response(503, {}, b'{"code":"x","error":"m","retryable":false}')
    assert pickle.loads(pickle.dumps(error)).retryable is False
    assert E.ServerError.retryable is True  # the class default is untouched


def test_gemini_route_errors(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gemini-2.5-flash", Fault(status=429, retry_after=0), times=3)
    with pytest.raises(E.RateLimitError) as caught:
        client.generate_content("gemini-2.5-flash", "hi")
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert caught.value.message == "Rate limit exceeded, retry later."


def test_split_rate_limit_headers_reach_the_answer(
    client: AISAClient, aisa_standin: StandIn
) -> None:
    aisa_standin.enqueue_fault(Fault(rate_limit="split"))
    limit = client.chat("hi").meta.rate_limit
    assert limit is not None
    assert (limit.limit_requests, limit.remaining_requests) == (600, 599)
    assert limit.limit_tokens == 600_000 and limit.remaining_tokens is not None


async def test_usage_on_a_content_chunk(
    client: AISAClient, aclient: AsyncAISAClient, aisa_standin: StandIn
) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(usage_in_content=True))
    with client.stream("one two three") as stream:
        done = stream.completion()
    async with aclient.stream("one two three") as astream:
        adone = await astream.completion()
    for answer in (done, adone):
        assert answer.text.startswith("Hello from the AIsa stand-in")
        assert answer.finish_reason == "stop"
        assert answer.usage is not None and answer.usage.completion_tokens > 0


def test_quote_and_balance_fields(client: AISAClient) -> None:
    quote = client.quote("hi", max_tokens=10)
    assert quote.estimated_at is not None and quote.estimated_at.endswith("Z")
    assert client.balance().currency == "USD"


def test_invalid_cost_mode_is_a_bad_request(client: AISAClient, aisa_standin: StandIn) -> None:
    with pytest.raises(E.BadRequestError) as caught:
        client.chat("hi", extra_headers={"X-AISA-Cost-Mode": "estimate"})
    assert caught.value.code == "invalid_cost_mode"
    assert len(aisa_standin.requests) == 1


# -- reasoning in history -------------------------------------------------------------------

CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def history(reasoning: str | None) -> list[dict[str, Any]]:
    return [
        user("What is the weather in Oslo?"),
        assistant(None, tool_calls=[CALL], reasoning_content=reasoning),
        tool_result("c1", "sunny"),
    ]


@pytest.mark.parametrize("model", ["deepseek-v4-flash", "deepseek-v3.2", "kimi-k2-thinking"])
def test_reasoning_goes_back_to_thinking_models(
    client: AISAClient, aisa_standin: StandIn, model: str
) -> None:
    done = client.chat(history("I should call the tool."), model=model, tools=[WEATHER])
    assert done.text == "The tool returned: sunny"
    sent = aisa_standin.last_request.json["messages"]
    assert sent[1]["reasoning_content"] == "I should call the tool."
    assert all("reasoning_content" not in m for m in (sent[0], sent[2]))


@pytest.mark.parametrize("model", ["gpt-4.1", "deepseek-r1", "claude-sonnet-4-5-20250929"])
def test_reasoning_is_stripped_for_other_models(
    client: AISAClient, aisa_standin: StandIn, model: str
) -> None:
    client.chat(history("I should call the tool."), model=model, tools=[WEATHER])
    assert all("reasoning_content" not in m for m in aisa_standin.last_request.json["messages"])


def test_each_attempt_of_a_fallback_chain_gets_its_own_rule(
    client: AISAClient, aisa_standin: StandIn
) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(status=503))
    done = client.chat(
        history("Think."), model="gpt-4.1", fallback_models=["deepseek-v4-pro"], tools=[WEATHER]
    )
    assert done.model == "deepseek-v4-pro"
    first, second = (r.json["messages"][1] for r in aisa_standin.requests)
    assert "reasoning_content" not in first
    assert second["reasoning_content"] == "Think."


def test_a_thinking_model_refuses_a_history_without_reasoning(client: AISAClient) -> None:
    with pytest.raises(E.BadRequestError, match="reasoning_content in the thinking mode"):
        client.chat(history(None), model="deepseek-v4-flash", tools=[WEATHER])
