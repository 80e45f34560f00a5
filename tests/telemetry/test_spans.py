"""Spans and metrics of real calls through the stand-in, read back from the SDK's in-memory
exporter and metric reader: names, GenAI attributes, attempts, metrics, nesting."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from aisa_core import AISAClient, AsyncAISAClient, ModelHealth
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn
from tests.telemetry.conftest import Otel

A, B, C = "gpt-4.1", "claude-haiku-4-5-20251001", "gemini-2.5-flash"


def client(gw: StandIn, otel: Otel, **kw: object) -> AISAClient:
    kw.setdefault("max_retries", 0)
    kw.setdefault("retry_before_fallback", False)
    return AISAClient(api_key="k", base_url=gw.base_url, model=A, observers=[otel.observer()], **kw)


def test_a_plain_chat_is_one_client_span_with_the_genai_attributes(
    aisa_standin: StandIn, otel: Otel
) -> None:
    answer = client(aisa_standin, otel).chat("hello", temperature=0.5, max_tokens=64, top_p=0.9)
    [span] = otel.spans()
    assert span.name == "chat gpt-4.1" and span.kind is SpanKind.CLIENT
    assert answer.usage is not None and answer.cost_usd is not None
    port = int(aisa_standin.base_url.split(":")[2].split("/")[0])
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "aisa",
        "gen_ai.request.model": A,
        "gen_ai.request.stream": False,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.response.model": answer.model,
        "gen_ai.response.id": answer.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": answer.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": answer.usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "server.address": "127.0.0.1",
        "server.port": port,
        "aisa.cost_usd": answer.cost_usd,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time and span.start_time
    assert 0 < (span.end_time - span.start_time) / 1e9 <= answer.meta.latency_s + 0.05
    [duration] = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.response.model"] == answer.model
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum for p in otel.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": answer.usage.prompt_tokens, "output": answer.usage.completion_tokens}
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []


def test_a_stream_has_its_time_to_first_chunk(aisa_standin: StandIn, otel: Otel) -> None:
    stream = client(aisa_standin, otel).stream("one two three four")
    done = stream.completion()
    [span] = otel.spans()
    attrs = span.attributes or {}
    assert span.name == "chat gpt-4.1" and attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.output_tokens"] == done.usage.completion_tokens  # type: ignore[union-attr]
    first = attrs["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first, float)
    assert span.end_time and span.start_time
    assert 0 < first <= (span.end_time - span.start_time) / 1e9
    [point] = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert point.count == 1 and point.sum == pytest.approx(first)


def test_a_tool_call_says_so_and_shows_the_call_only_when_content_is_on(
    aisa_standin: StandIn, otel: Otel
) -> None:
    def get_weather(city: str) -> str:
        """Forecast for a city."""
        return city

    aisa_standin.enqueue_tool_call("get_weather", {"city": "Paris"}, call_id="call_1")
    c = client(aisa_standin, otel)
    c.chat("weather in Paris?", tools=[get_weather])
    c.settings.observe(otel.observer(capture_content=True))
    c.settings.unobserve(c.settings.observers[0])
    aisa_standin.enqueue_tool_call("get_weather", {"city": "Paris"}, call_id="call_2")
    c.chat("weather in Paris?", tools=[get_weather])
    plain, captured = otel.spans()
    assert plain.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)  # type: ignore[index]
    assert not any(
        k.startswith(("gen_ai.input", "gen_ai.output.messages", "gen_ai.tool"))
        for k in plain.attributes or {}
    )
    attrs = captured.attributes or {}
    assert (
        '"type": "tool_call", "id": "call_2", "name": "get_weather", "arguments": {"city": "Paris"}'
        in str(attrs["gen_ai.output.messages"])
    )
    assert '"name": "get_weather", "description": "Forecast for a city."' in str(
        attrs["gen_ai.tool.definitions"]
    )
    assert (
        attrs["gen_ai.input.messages"]
        == '[{"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]}]'
    )


def test_a_call_that_falls_back_twice_shows_each_attempt(aisa_standin: StandIn, otel: Otel) -> None:
    aisa_standin.fail_model(A, Fault(status=503))
    aisa_standin.fail_model(B, Fault(status=429, retry_after=0))
    answer = client(aisa_standin, otel, fallback_models=[B, C]).chat("hi")
    call = otel.span("chat gpt-4.1")
    assert call.attributes["gen_ai.response.model"] == answer.model  # type: ignore[index]
    assert call.attributes["aisa.fallback_models"] == (B, C)  # type: ignore[index]
    assert call.status.status_code is StatusCode.UNSET
    kids = otel.children(call)
    assert [(k.name, k.kind, k.status.status_code) for k in kids] == [
        (f"aisa.attempt {A}", SpanKind.INTERNAL, StatusCode.ERROR),
        (f"aisa.attempt {B}", SpanKind.INTERNAL, StatusCode.ERROR),
        (f"aisa.attempt {C}", SpanKind.INTERNAL, StatusCode.UNSET),
    ]
    facts = [
        {
            k: v
            for k, v in (kid.attributes or {}).items()
            if k
            in (
                "gen_ai.request.model",
                "error.type",
                "http.response.status_code",
                "aisa.attempt.outcome",
            )
        }
        for kid in kids
    ]
    assert facts == [
        {
            "gen_ai.request.model": A,
            "error.type": "UnknownModelError",
            "http.response.status_code": 503,
            "aisa.attempt.outcome": "error",
        },
        {
            "gen_ai.request.model": B,
            "error.type": "RateLimitError",
            "http.response.status_code": 429,
            "aisa.attempt.outcome": "error",
        },
        {"gen_ai.request.model": C, "http.response.status_code": 200, "aisa.attempt.outcome": "ok"},
    ]
    assert call.start_time and call.end_time
    for kid in kids:  # inside the call, in order
        assert kid.start_time and kid.end_time
        assert call.start_time <= kid.start_time <= kid.end_time <= call.end_time
    assert [k.start_time for k in kids] == sorted(k.start_time for k in kids)  # type: ignore[type-var]
    [duration] = otel.points("gen_ai.client.operation.duration")
    assert "error.type" not in duration.attributes


def test_a_model_skipped_for_health_is_a_child_that_says_why(
    aisa_standin: StandIn, otel: Otel
) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    c = client(aisa_standin, otel, fallback_models=[B], health=health)
    aisa_standin.fail_model(A, Fault(status=503))
    c.chat("hi")  # A fails and cools down
    otel.exporter.clear()
    c.chat("hi")
    call = otel.span("chat gpt-4.1")
    assert call.attributes["aisa.skipped_models"] == (A,)  # type: ignore[index]
    skipped, served = otel.children(call)
    assert skipped.name == f"aisa.attempt {A}" and skipped.start_time == skipped.end_time
    assert skipped.attributes["aisa.attempt.outcome"] == "skipped"  # type: ignore[index]
    assert skipped.attributes["aisa.attempt.skip_reason"] == "cooling down"  # type: ignore[index]
    assert served.attributes["gen_ai.request.model"] == B  # type: ignore[index]


def test_a_failed_call_is_an_error_span_with_its_error_type(
    aisa_standin: StandIn, otel: Otel
) -> None:
    aisa_standin.fail_model(A, Fault(status=401, code="invalid_api_key"))
    with pytest.raises(E.AuthenticationError):
        client(aisa_standin, otel).chat("hi")
    call = otel.span("chat gpt-4.1")
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description and call.status.description.startswith("AuthenticationError: ")
    assert call.attributes["error.type"] == "AuthenticationError"  # type: ignore[index]
    assert "gen_ai.response.model" not in (call.attributes or {})
    [attempt] = otel.children(call)
    assert attempt.attributes["http.response.status_code"] == 401  # type: ignore[index]
    [duration] = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "AuthenticationError"
    assert otel.points("gen_ai.client.token.usage") == []


def test_spans_nest_under_the_callers_current_span(aisa_standin: StandIn, otel: Otel) -> None:
    aisa_standin.fail_model(A, Fault(status=503))
    tracer = otel.tracer_provider.get_tracer("web")
    with tracer.start_as_current_span("GET /ask", kind=SpanKind.SERVER) as request:
        client(aisa_standin, otel, fallback_models=[B]).chat("hi")
    web = otel.span("GET /ask")
    call = otel.span("chat gpt-4.1")
    assert call.parent is not None and call.parent.span_id == request.get_span_context().span_id
    assert call.context.trace_id == web.context.trace_id  # type: ignore[union-attr]
    assert {k.context.trace_id for k in otel.children(call)} == {web.context.trace_id}  # type: ignore[union-attr]


async def test_async_calls_nest_under_the_tasks_current_span(
    aisa_standin: StandIn, otel: Otel
) -> None:
    aclient = AsyncAISAClient(
        api_key="k", base_url=aisa_standin.base_url, model=A, observers=[otel.observer()]
    )
    tracer = otel.tracer_provider.get_tracer("web")
    with tracer.start_as_current_span("POST /chat") as request:
        await aclient.chat("hi")
        await aclient.stream("hi there").completion()
    await aclient.aclose()
    calls = [s for s in otel.spans() if s.name == "chat gpt-4.1"]
    assert len(calls) == 2
    assert {c.parent.span_id for c in calls if c.parent} == {request.get_span_context().span_id}


def test_gateway_housekeeping_is_a_plain_span_without_genai_metrics(
    aisa_standin: StandIn, otel: Otel
) -> None:
    client(aisa_standin, otel).list_models()
    [span] = otel.spans()
    assert span.name == "aisa.list_models" and span.kind is SpanKind.CLIENT
    assert not any(k.startswith("gen_ai.") for k in span.attributes or {})
    assert otel.points("gen_ai.client.operation.duration") == []
