"""Protocol details from AIsa's published examples (issue 10, item 16): usage without
``total_tokens``, ``choices[].index: null``, the settled-cost header, the plain
``X-RateLimit-*`` headers, ``generate_content`` retrying and falling back, and every choice of
an ``n > 1`` answer kept by the LlamaIndex adapter."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E
from aisa_core.protocol.wire import Reply, cost_micros_from, meta_from
from aisa_core.standin import Fault, StandIn
from aisa_core.types import ChatCompletion, Usage
from tests.core.helpers import KEY, Recorder, chunk, completion_body, sse

NO_TOTAL = {"prompt_tokens": 3, "completion_tokens": 1}


def client_for(*responses: httpx.Response, **kwargs: Any) -> AISAClient:
    recorder = Recorder(script=list(responses))
    kwargs.setdefault("model", "gpt-4.1")
    client = AISAClient(api_key=KEY, transport=httpx.MockTransport(recorder), **kwargs)
    client._sleep = lambda seconds: None
    return client


def stream_answer(*events: Any) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*events))


# --- usage without total_tokens --------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "total"),
    [
        (NO_TOTAL, 4),
        ({**NO_TOTAL, "total_tokens": None}, 4),
        ({**NO_TOTAL, "total_tokens": 0}, 4),
        ({**NO_TOTAL, "total_tokens": 9}, 9),  # what the gateway says wins
        ({}, 0),
    ],
)
def test_usage_total_is_computed_when_left_out(usage: dict[str, Any], total: int) -> None:
    assert Usage.model_validate(usage).total_tokens == total


def test_every_core_surface_computes_the_total() -> None:
    body = completion_body(usage=NO_TOTAL)
    finish = chunk(finish_reason="stop")
    usage_chunk = {**chunk(), "choices": [], "usage": NO_TOTAL}
    client = client_for(
        httpx.Response(200, json=body), stream_answer(chunk("hi"), finish, usage_chunk)
    )
    done = client.chat("hi")
    assert done.usage is not None and done.usage.total_tokens == 4
    streamed = client.stream("hi").completion()
    assert streamed.usage is not None and streamed.usage.total_tokens == 4


def test_the_adapters_report_the_computed_total() -> None:
    from langchain_aisa import ChatAISA
    from llama_index_aisa import AISA

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=completion_body(usage=NO_TOTAL))

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        message = ChatAISA(model="gpt-4.1", api_key=KEY, http_client=http).invoke("hi")
        assert message.usage_metadata is not None
        assert message.usage_metadata["total_tokens"] == 4
        response = AISA("gpt-4.1", api_key=KEY, http_client=http).complete("hi")
        assert response.additional_kwargs["total_tokens"] == 4


# --- choices[].index: null --------------------------------------------------------------------


def test_a_null_choice_index_is_accepted() -> None:
    body = completion_body("a picture")
    body["choices"][0]["index"] = None
    null_chunk = chunk("streamed")
    null_chunk["choices"][0]["index"] = None
    client = client_for(httpx.Response(200, json=body), stream_answer(null_chunk))
    assert client.chat("draw").text == "a picture"
    assert client.stream("draw").completion().text == "streamed"


def test_several_null_indexes_are_numbered_by_position() -> None:
    choice = {"index": None, "message": {"role": "assistant", "content": "x"}}
    completion = ChatCompletion.model_validate(
        {"choices": [{**choice, "message": {"content": str(i)}} for i in range(3)]}
    )
    assert [(c.index, c.message.content) for c in completion.choices] == [
        (0, "0"),
        (1, "1"),
        (2, "2"),
    ]


# --- the settled-cost header ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1234", 1234),
        (" 42 ", 42),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),  # past int64
        ("1" * 5000, None),  # would pass int()'s digit limit as a ValueError
        ("\u0661\u0662\u0663", None),  # Arabic-Indic digits: str.isdigit() says yes
        ("\uff11\uff12", None),  # full-width digits
        ("\u00b2", None),  # a superscript two
        ("-1", None),
        ("+5", None),
        ("1e3", None),
        ("12.5", None),
        ("", None),
        (None, None),
    ],
)
def test_the_cost_header_is_ascii_digits_within_int64(raw: str | None, value: int | None) -> None:
    assert cost_micros_from(raw) == value


def test_a_bad_cost_header_on_an_answer_means_no_cost_known() -> None:
    # Header bytes are read as latin-1: 0xB2 is "²", which str.isdigit() accepts and int() refuses.
    headers = [(b"X-AISA-Customer-Cost-Micros-USD", b"\xb2")]
    done = client_for(httpx.Response(200, json=completion_body(), headers=headers)).chat("hi")
    assert done.meta.cost_micros_usd is None and done.cost_usd is None


# --- the plain X-RateLimit-* headers ----------------------------------------------------------


def test_plain_rate_limit_headers_are_read_as_requests() -> None:
    headers = {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "59", "x-ratelimit-reset": "1s"}
    limits = meta_from(Reply(200, headers), "m").rate_limit
    assert limits is not None
    assert (limits.limit_requests, limits.remaining_requests, limits.reset_requests) == (
        60,
        59,
        "1s",
    )
    both = {**headers, "x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-tokens": "5"}
    limits = meta_from(Reply(200, both), "m").rate_limit
    assert limits is not None
    assert (limits.limit_requests, limits.remaining_requests, limits.remaining_tokens) == (
        600,  # the named scheme wins over the plain one
        59,
        5,
    )


def test_a_chat_answer_carries_the_plain_headers() -> None:
    headers = {"X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "2999"}
    done = client_for(httpx.Response(200, json=completion_body(), headers=headers)).chat("hi")
    assert done.meta.rate_limit is not None
    assert done.meta.rate_limit.remaining_requests == 2999


# --- generate_content retries with the core's policy and falls back ----------------------------


def test_generate_content_retries_like_chat(aisa_standin: StandIn) -> None:
    client = AISAClient(api_key=KEY, base_url=aisa_standin.base_url, max_retries=2)
    client._sleep = lambda seconds: None
    aisa_standin.fail_model("gemini-2.5-flash", Fault(status=502), times=2)
    answer = client.generate_content("gemini-2.5-flash", "hi")
    assert answer["candidates"]
    paths = [r.path for r in aisa_standin.requests]
    assert paths == ["/v1beta/models/gemini-2.5-flash:generateContent"] * 3
    client.close()


def test_generate_content_falls_back_to_the_gemini_models_given(aisa_standin: StandIn) -> None:
    client = AISAClient(
        api_key=KEY,
        base_url=aisa_standin.base_url,
        max_retries=0,
        fallback_models=["gpt-4.1"],  # the client's chat chain is not used here
    )
    aisa_standin.fail_model("gemini-2.5-pro", Fault(status=429))
    answer = client.generate_content("gemini-2.5-pro", "hi", fallback_models=["gemini-2.5-flash"])
    assert answer["candidates"]
    models = [r.path.split("/")[-1] for r in aisa_standin.requests]
    assert models == ["gemini-2.5-pro:generateContent", "gemini-2.5-flash:generateContent"]
    aisa_standin.fail_model("gemini-2.5-flash", Fault(status=502))
    with pytest.raises(E.AllModelsFailedError) as caught:
        client.generate_content("gemini-2.5-pro", "hi", fallback_models=["gemini-2.5-flash"])
    assert [a.model for a in caught.value.attempts] == ["gemini-2.5-pro", "gemini-2.5-flash"]
    aisa_standin.reset()
    client.generate_content("gemini-2.5-flash", "hi")  # no fallback given: the chain is one
    assert len(aisa_standin.requests) == 1
    client.close()


async def test_async_generate_content_retries_and_falls_back(aisa_standin: StandIn) -> None:
    client = AsyncAISAClient(api_key=KEY, base_url=aisa_standin.base_url, max_retries=1)

    async def no_sleep(seconds: float) -> None:
        return None

    client._sleep = no_sleep
    aisa_standin.fail_model("gemini-2.5-pro", Fault(status=502))
    answer = await client.generate_content(
        "gemini-2.5-pro", "hi", fallback_models=["gemini-2.5-flash"]
    )
    assert answer["candidates"]
    assert len(aisa_standin.requests) == 3  # pro, pro again, then flash
    await client.aclose()


# --- every choice of an n > 1 answer, in LlamaIndex --------------------------------------------


def test_llama_index_keeps_every_choice() -> None:
    from llama_index.core.base.llms.types import ChatMessage

    from llama_index_aisa import AISA

    body = completion_body("first")
    body["choices"] = [
        {
            "index": i,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "length" if i == 3 else "stop",
        }
        for i, text in enumerate(["first", "second", "third", "fourth"])
    ]
    recorder = Recorder(script=[httpx.Response(200, json=body)])
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http:
        llm = AISA("gpt-4.1", api_key=KEY, http_client=http, additional_kwargs={"n": 4})
        response = llm.chat([ChatMessage(role="user", content="four ways")])
    assert json.loads(recorder.requests[0].content)["n"] == 4
    assert response.message.content == "first"
    choices = response.additional_kwargs["choices"]
    assert [c.content for c in choices] == ["first", "second", "third", "fourth"]
    assert choices[3].additional_kwargs["finish_reason"] == "length"
    assert isinstance(response.raw, ChatCompletion) and len(response.raw.choices) == 4
