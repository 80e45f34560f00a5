"""The core client against the stand-in gateway over a real loopback socket: every fault mode."""

from __future__ import annotations

from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient, StreamHandler
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn

BODY_STYLES = ["object", "string", "top_code", "text"]
STATUS_CLASSES = {
    400: E.BadRequestError,
    401: E.AuthenticationError,
    402: E.InsufficientCreditsError,
    403: E.PermissionDeniedError,
    404: E.NotFoundError,
    422: E.UnprocessableEntityError,
    429: E.RateLimitError,
    500: E.ServerError,
    502: E.ServerError,
    504: E.ServerError,
}


def test_chat_round_trip(client: AISAClient, aisa_standin: StandIn) -> None:
    done = client.chat("hello there", temperature=0.1)
    assert done.text.startswith("Hello from the AIsa stand-in (gpt-4.1)")
    assert done.model == "gpt-4.1" and done.finish_reason == "stop"
    assert done.usage is not None and done.usage.cost is not None and done.usage.cost > 0
    assert done.meta.cost_micros_usd == round(done.usage.cost * 1e6)
    assert done.meta.request_id
    sent = aisa_standin.last_request
    assert sent is not None and sent.headers["x-aisa-source"] == "aisa-llm-python"
    assert sent.json == {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hello there"}],
        "temperature": 0.1,
    }


def test_stream_tokens_usage_and_reasoning(client: AISAClient) -> None:
    stream = client.stream("think about it", model="claude-sonnet-4-5-20250929-thinking")
    texts = [c.text for c in stream]
    done = stream.completion()
    assert len([t for t in texts if t]) > 2 and "".join(texts) == done.text
    assert done.message.reasoning_content and done.usage is not None and done.usage.total_tokens > 0


def test_streamed_tool_call_validates(client: AISAClient) -> None:
    def get_weather(city: str, days: int) -> str:
        """Forecast."""
        return city

    done = client.stream("weather in Paris", tools=[get_weather]).completion()
    (call,) = done.tool_calls
    args = call.parsed_arguments()
    assert (
        call.name == "get_weather"
        and isinstance(args["city"], str)
        and isinstance(args["days"], int)
    )
    assert done.finish_reason == "tool_calls"


def test_scripted_answers(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.enqueue_text("exactly this")
    aisa_standin.enqueue_tool_call("lookup", {"q": "x"})
    assert client.chat("a").text == "exactly this"
    assert (
        client.stream("b", tools=[{"name": "lookup"}]).completion().tool_calls[0].name == "lookup"
    )


@pytest.mark.parametrize("style", BODY_STYLES)
@pytest.mark.parametrize("status", sorted(STATUS_CLASSES))
def test_every_status_and_body_shape(
    client: AISAClient, aisa_standin: StandIn, status: int, style: str
) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(status=status, body_style=style))  # type: ignore[arg-type]
    with pytest.raises(STATUS_CLASSES[status]) as info:
        client.chat("hi")
    assert info.value.status_code == status
    retried = STATUS_CLASSES[status].retryable
    assert len(aisa_standin.requests) == (3 if retried else 1)


def test_retry_after_then_success(client: AISAClient, aisa_standin: StandIn) -> None:
    waits: list[float] = []
    client._sleep = waits.append
    aisa_standin.enqueue_fault(Fault(status=429, retry_after=0.25))
    assert client.chat("hi").meta.failed_models == ["gpt-4.1"]
    assert waits == [0.25]


def test_unknown_model_falls_back(client: AISAClient) -> None:
    done = client.chat("hi", model="retired-model-1", fallback_models=["gpt-4.1-mini"])
    assert done.model == "gpt-4.1-mini"
    assert isinstance(done.meta.attempts[0].error, E.UnknownModelError)


def test_in_band_error_before_content_falls_back(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(error_after_chunks=0))
    stream = client.stream("hi", fallback_models=["gpt-4.1-mini"])
    assert stream.completion().text and stream.model == "gpt-4.1-mini"


def test_in_band_error_after_content_raises(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(error_after_chunks=2))
    got: list[str] = []
    with pytest.raises(E.APIError):
        for c in client.stream("a long question for you", fallback_models=["gpt-4.1-mini"]):
            got.append(c.text)
    assert len(got) >= 1 and len(aisa_standin.requests) == 1


def test_drop_mid_stream(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(drop_after_chunks=3), times=1)
    with pytest.raises(E.StreamInterruptedError):
        client.stream("a long question for you today").completion()
    aisa_standin.fail_model("gpt-4.1", Fault(drop_after_chunks=0), times=1)
    assert client.stream("again").completion().text  # dropped before content: retried


def test_drop_non_streaming_is_retried(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(drop_after_chunks=0), times=2)
    done = client.chat("hi")
    assert [type(a.error) for a in done.meta.attempts] == [E.APIConnectionError] * 2


def test_timeouts(aisa_standin: StandIn) -> None:
    c = AISAClient(
        api_key="k", base_url=aisa_standin.base_url, model="gpt-4.1", timeout=0.3, max_retries=0
    )
    aisa_standin.fail_model("gpt-4.1", Fault(delay=1.0), times=1)
    with pytest.raises(E.APITimeoutError):
        c.chat("hi")
    aisa_standin.fail_model("gpt-4.1", Fault(chunk_delay=1.0), times=1)
    with pytest.raises(E.APIConnectionError):
        c.stream("hi").completion()
    c.close()


def test_malformed(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(malformed=True))
    with pytest.raises(E.MalformedResponseError):
        client.chat("hi", fallback_models=[])
    with pytest.raises(E.MalformedResponseError):
        client.stream("hi").completion()


def test_header_fault_spec(client: AISAClient) -> None:
    with pytest.raises(E.RateLimitError):
        client.chat("hi", extra_headers={"x-standin-fault": "status=429"}, fallback_models=[])


def test_invalid_key(aisa_standin: StandIn) -> None:
    c = AISAClient(api_key="sk-aisa-invalid", base_url=aisa_standin.base_url, model="gpt-4.1")
    with pytest.raises(E.AuthenticationError, match="AISA_API_KEY"):
        c.chat("hi")
    c.close()


def test_models_balance_quote_gemini_compare(client: AISAClient) -> None:
    models = {m.id: m for m in client.list_models()}
    assert models["gpt-4.1"].known and models["gpt-4.1"].context_window > 1_000_000
    one = client.get_model("gpt-4.1")
    assert one is not None and one.id == "gpt-4.1" and one.known
    assert client.get_model("no-such-model") is None
    assert client.balance().available_balance_micros_usd is not None
    assert (client.quote("hi").estimated_cost_micros_usd or 0) > 0
    gemini = client.generate_content("gemini-2.5-flash", "hi")
    assert gemini["candidates"][0]["content"]["parts"][0]["text"]
    results = client.compare_models("hi", ["gpt-4.1", "unknown-x", "gemini-2.5-flash"])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_type == "UnknownModelError"


class Recorder(StreamHandler):
    def __init__(self) -> None:
        self.names: list[str] = []

    async def on_start(self, model: str, request: dict[str, Any]) -> None:
        self.names.append("start")

    def on_token(self, text: str) -> None:
        self.names.append("token")

    def on_usage(self, usage: Any) -> None:
        self.names.append("usage")

    def on_end(self, completion: Any) -> None:
        self.names.append("end")


async def test_async_fault_modes(aclient: AsyncAISAClient, aisa_standin: StandIn) -> None:
    rec = Recorder()
    stream = aclient.stream("hi there", handlers=[rec])
    done = await stream.completion()
    assert done.text and rec.names[0] == "start" and rec.names[-2:] == ["usage", "end"]
    aisa_standin.fail_model("gpt-4.1", Fault(drop_after_chunks=3), times=1)
    with pytest.raises(E.StreamInterruptedError):
        await aclient.stream("a long question for you today").completion()
    aisa_standin.fail_model("gpt-4.1", Fault(status=502), times=3)
    done = await aclient.chat("hi", fallback_models=["gpt-4.1-mini"])
    assert done.model == "gpt-4.1-mini" and done.meta.failed_models == ["gpt-4.1"] * 3
    aisa_standin.fail_model("gpt-4.1", Fault(error_after_chunks=0), times=3)
    s = aclient.stream("hi", fallback_models=["gpt-4.1-mini"])
    assert (await s.completion()).text and s.model == "gpt-4.1-mini"


async def test_async_many_in_flight(aclient: AsyncAISAClient) -> None:
    import asyncio

    results = await asyncio.gather(*(aclient.chat(f"q{i}") for i in range(50)))
    assert all(r.text.endswith(f"q{i}") for i, r in enumerate(results))


def test_sync_streams_reuse_one_connection(client: AISAClient) -> None:
    for i in range(5):
        assert client.stream(f"stream {i}").completion().text
    pool = client.http._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == 1


async def test_async_direct_transport_and_injected_client_agree(aisa_standin: StandIn) -> None:
    import httpx

    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    injected = httpx.AsyncClient(event_hooks={"request": [hook]})
    direct = AsyncAISAClient(api_key="k", base_url=aisa_standin.base_url, model="gpt-4.1")
    hooked = AsyncAISAClient(
        api_key="k", base_url=aisa_standin.base_url, model="gpt-4.1", http_client=injected
    )
    from aisa_core.transport import AiohttpHTTP, HttpxAsyncHTTP

    assert isinstance(direct._http, AiohttpHTTP) and isinstance(hooked._http, HttpxAsyncHTTP)
    a, b = await direct.chat("same"), await hooked.chat("same")
    assert a.text == b.text and seen == ["/v1/chat/completions"]  # hooks run on the httpx path
    s1 = await direct.stream("same").completion()
    s2 = await hooked.stream("same").completion()
    assert s1.text == s2.text == a.text
    await direct.aclose()
    await injected.aclose()
