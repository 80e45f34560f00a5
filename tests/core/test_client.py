"""AISAClient / AsyncAISAClient through httpx.MockTransport: exact payloads and behaviour."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aisa_core import (
    AISAClient,
    AsyncAISAClient,
    StreamHandler,
    image_part,
    user,
)
from aisa_core import (
    errors as E,
)
from tests.core.helpers import KEY, Recorder, chunk, completion_body, sse

MakeClient = Callable[..., AISAClient]


def stream_response(body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream", **headers}, content=body
    )


def err(status: int, code: str = "x", message: str = "boom", **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        headers=headers,
        json={"error": {"message": message, "code": code, "request_id": "rq"}},
    )


# --- configuration ------------------------------------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        AISAClient(model="gpt-4.1")


def test_openai_variables_are_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-should-not-be-used")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    with pytest.raises(E.ConfigurationError):
        AISAClient()
    monkeypatch.setenv("AISA_API_KEY", KEY)
    assert AISAClient().settings.base_url == "https://api.aisa.one/v1"


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.example/v1",
        "https://gw.example/v1/",
        "https://gw.example",
        "https://gw.example/",
    ],
)
def test_base_url_with_or_without_v1(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AISA_BASE_URL", url)
    assert AISAClient(api_key=KEY).settings.base_url == "https://gw.example/v1"


def test_plain_http_only_to_loopback() -> None:
    assert AISAClient(api_key=KEY, base_url="http://127.0.0.1:9/v1").settings.base_url
    assert AISAClient(api_key=KEY, base_url="http://localhost:9").settings.base_url
    with pytest.raises(E.ConfigurationError, match="plain http"):
        AISAClient(api_key=KEY, base_url="http://gw.example/v1")
    assert AISAClient(api_key=KEY, base_url="http://gw.example", allow_insecure=True)


def test_construction_does_no_io_and_makes_the_pool_lazily() -> None:
    client = AISAClient(api_key=KEY)
    assert not client._http.made


def test_one_pool_for_every_call(make_client: MakeClient) -> None:
    client = make_client()
    client.chat("a")
    first = client.http
    client.chat("b")
    assert client.http is first


# --- request payloads ---------------------------------------------------------------------


def test_chat_request_is_exactly_what_we_mean(make_client: MakeClient, recorder: Recorder) -> None:
    client = make_client(model="aisa/gpt-4.1", default_headers={"X-Team": "a"})
    client.chat(
        [{"role": "system", "content": "be brief"}, "hi"],
        temperature=0.2,
        max_tokens=50,
        stop=["\n"],
        seed=7,
        extra_body={"custom": {"a": 1}},
    )
    request = recorder.requests[0]
    assert request.url == "https://api.aisa.one/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-aisa-source"] == "aisa-llm-python"
    assert request.headers["x-team"] == "a"
    assert json.loads(request.content) == {
        "model": "gpt-4.1",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["\n"],
        "seed": 7,
        "custom": {"a": 1},
    }


def test_stream_request_asks_for_usage(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(stream_response(sse(chunk("x"))))
    make_client().stream("hi").completion()
    body = recorder.bodies()[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert recorder.requests[0].headers["accept"] == "text/event-stream"


def test_tools_tool_choice_and_response_format(make_client: MakeClient, recorder: Recorder) -> None:
    def get_weather(city: str, unit: str = "c") -> str:
        """Weather for a city."""
        return city

    make_client().chat(
        "hi", tools=[get_weather], tool_choice="get_weather", strict=True, parallel_tool_calls=False
    )
    body = recorder.bodies()[0]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city.",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "required": ["city"],
                    "properties": {
                        "city": {"title": "City", "type": "string"},
                        "unit": {"default": "c", "title": "Unit", "type": "string"},
                    },
                },
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens must be an integer of at least 1"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"n": 0}, "n must be"),
        ({"tool_choice": "required"}, "no tools"),
        ({"tools": [{"name": "bad name!"}]}, "invalid"),
        ({"tools": [{"name": "f"}], "tool_choice": "g"}, "not among"),
        ({"response_format": 42}, "response_format"),
    ],
)
def test_bad_input_fails_before_any_request(
    make_client: MakeClient, recorder: Recorder, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(E.InvalidInputError, match=match):
        make_client().chat("hi", **kwargs)
    assert recorder.requests == []


def test_zero_top_logprobs_is_allowed(make_client: MakeClient, recorder: Recorder) -> None:
    make_client().chat("hi", logprobs=True, top_logprobs=0)
    assert json.loads(recorder.requests[0].content)["top_logprobs"] == 0


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), "5", True])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(
    make_client: MakeClient, recorder: Recorder, timeout: object
) -> None:
    with pytest.raises(E.ConfigurationError, match="timeout must be"):
        make_client(timeout=timeout)
    with pytest.raises(E.ConfigurationError, match="timeout must be"):
        make_client().chat("hi", timeout=timeout)
    assert recorder.requests == []


def test_bad_messages_fail_before_any_request(make_client: MakeClient, recorder: Recorder) -> None:
    client = make_client()
    for bad in (
        [],
        [{"role": "wizard", "content": "x"}],
        [{"role": "tool", "content": "x"}],
        [{"role": "user"}],
        [42],
    ):
        with pytest.raises(E.InvalidInputError):
            client.chat(bad)
    with pytest.raises(E.ConfigurationError, match="no model"):
        make_client(model=None).chat("hi")
    assert recorder.requests == []


def test_image_from_bytes_and_file(
    tmp_path: Path, make_client: MakeClient, recorder: Recorder
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    path = tmp_path / "pic.bin"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * 8)
    make_client().chat(
        [
            user(
                "what?",
                image_part(png),
                image_part(path),
                image_part("https://x.test/cat.webp", detail="low"),
            )
        ]
    )
    parts = recorder.bodies()[0]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "what?"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert parts[2]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[3] == {
        "type": "image_url",
        "image_url": {"url": "https://x.test/cat.webp", "detail": "low"},
    }
    with pytest.raises(E.InvalidInputError, match="not found"):
        image_part(tmp_path / "missing.png")
    with pytest.raises(E.InvalidInputError, match="image type"):
        image_part(b"plain text")


def test_model_quirks_applied_per_model(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [err(503, "provider_unavailable")]
    make_client(model="gpt-4.1", fallback_models=["kimi-k2.5"], max_retries=0).chat(
        [{"role": "developer", "content": "d"}, "hi"], temperature=0.3
    )
    first, second = recorder.bodies()
    assert (first["model"], first["temperature"]) == ("gpt-4.1", 0.3)
    assert (second["model"], second["temperature"]) == ("kimi-k2.5", 1)
    make_client(model="qwen3-max").chat([{"role": "developer", "content": "d"}, "hi"])
    assert recorder.bodies()[2]["messages"][0]["role"] == "system"


# --- answers --------------------------------------------------------------------------------


def test_answer_metadata(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(
        httpx.Response(
            200,
            headers={
                "x-request-id": "req-1",
                "X-AISA-Customer-Cost-Micros-USD": "123456789012345678",
                "x-ratelimit-remaining-requests": "59",
                "x-ratelimit-tokens-limit": "1000",
            },
            json=completion_body(
                "yo",
                model="gpt-4.1-2025-04-14",
                usage={
                    "prompt_tokens": 1,
                    "completion_tokens": 2,
                    "total_tokens": 3,
                    "prompt_tokens_details": {"cached_tokens": 1},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                    "cost": 0.5,
                    "credits_remaining": 9.5,
                },
            ),
        )
    )
    done = make_client().chat("hi")
    assert (done.text, done.model, done.meta.request_id) == ("yo", "gpt-4.1-2025-04-14", "req-1")
    assert done.meta.cost_micros_usd == 123456789012345678  # exact: never through float
    assert done.meta.rate_limit is not None
    assert (done.meta.rate_limit.remaining_requests, done.meta.rate_limit.limit_tokens) == (
        59,
        1000,
    )
    assert done.usage is not None and done.usage.cached_tokens == 1 and done.usage.cost == 0.5
    assert done.usage.credits_remaining == 9.5


def test_cost_absent_is_none_not_zero(make_client: MakeClient) -> None:
    done = make_client().chat("hi")
    assert done.cost_usd is None and done.usage is not None and done.usage.cost is None


def test_list_content_answers_are_kept(make_client: MakeClient, recorder: Recorder) -> None:
    body = completion_body()
    body["choices"][0]["message"]["content"] = [
        {"type": "image", "image": "https://x/i.png"},
        {"type": "text", "text": "here"},
    ]
    recorder.script.append(httpx.Response(200, json=body))
    done = make_client().chat("draw")
    assert done.text == "here" and isinstance(done.message.content, list)


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, content=b"{not json"), httpx.Response(200, json={"object": "x"})],
)
def test_malformed_answers(
    make_client: MakeClient, recorder: Recorder, response: httpx.Response
) -> None:
    recorder.script += [response] * 3
    with pytest.raises(E.MalformedResponseError):
        make_client(max_retries=0).chat("hi")


def test_error_body_with_200_status(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(
        httpx.Response(200, json={"error": {"message": "nope", "code": "invalid_api_key"}})
    )
    with pytest.raises(E.AuthenticationError):
        make_client().chat("hi")


# --- retries --------------------------------------------------------------------------------


def test_retries_429_then_succeeds_honouring_retry_after(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [err(429, "rate_limit_exceeded", **{"Retry-After": "1.5"}), err(502)]
    done = make_client().chat("hi")
    assert done.text == "hi" and len(recorder.requests) == 3
    assert recorder.sleeps[0] == 1.5 and 1.5 <= recorder.sleeps[1] <= 2.5
    assert [type(a.error) for a in done.meta.attempts] == [E.RateLimitError, E.ServerError]
    assert all(r.is_closed for r in recorder.responses)  # failed answers are closed: no leak


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
def test_never_retries_client_errors(
    make_client: MakeClient, recorder: Recorder, status: int
) -> None:
    recorder.script.append(err(status))
    with pytest.raises(E.APIError) as info:
        make_client(fallback_models=["claude-haiku-4-5"]).chat("hi")
    assert info.value.status_code == status and len(recorder.requests) == 1
    assert recorder.sleeps == []


def test_retry_count_is_bounded(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [err(500)] * 10
    with pytest.raises(E.ServerError):
        make_client(max_retries=3).chat("hi")
    assert len(recorder.requests) == 4


def test_connection_errors_are_typed_and_retried(
    make_client: MakeClient, recorder: Recorder
) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    recorder.script += [boom, slow]
    assert make_client().chat("hi").text == "hi"
    recorder.script += [slow] * 3
    with pytest.raises(E.APITimeoutError) as info:
        make_client().chat("hi")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


# --- fallbacks ------------------------------------------------------------------------------


def test_fallback_chain_reports_who_answered_and_who_failed(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [
        err(503, message="No available channels for model old"),
        err(429, "quota_exceeded"),
        err(429, "quota_exceeded"),
        err(429, "quota_exceeded"),
        lambda r: httpx.Response(200, json=completion_body(model="m3")),
    ]
    done = make_client(model="old", fallback_models=["m2", "m3"]).chat("hi")
    assert [b["model"] for b in recorder.bodies()] == ["old", "m2", "m2", "m2", "m3"]
    assert done.model == "m3" and done.meta.requested_model == "m3"
    assert done.meta.failed_models == ["old", "m2", "m2", "m2"]


def test_all_failing_raises_one_error_with_every_attempt(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [err(503)] * 2
    with pytest.raises(E.AllModelsFailedError) as info:
        make_client(model="a", fallback_models=["b"], max_retries=0).chat("hi")
    assert [a.model for a in info.value.attempts] == ["a", "b"]


def test_per_call_chain_overrides(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [err(503)]
    with pytest.raises(E.ServerError):
        make_client(model="a", fallback_models=["b"], max_retries=0).chat("hi", fallback_models=[])
    recorder.script += [err(503)]
    make_client(max_retries=0).chat("hi", model="x", fallback_models=["y", "x"])
    assert [b["model"] for b in recorder.bodies()[1:]] == ["x", "y"]


# --- streams --------------------------------------------------------------------------------


class Log(StreamHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_start(self, model: str, request: dict[str, Any]) -> None:
        self.events.append(("start", model))

    def on_token(self, text: str) -> None:
        self.events.append(("token", text))

    def on_reasoning(self, text: str) -> None:
        self.events.append(("reasoning", text))

    def on_tool_call_delta(self, delta: Any) -> None:
        self.events.append(("tool", delta.index))

    def on_usage(self, usage: Any) -> None:
        self.events.append(("usage", usage.total_tokens))

    def on_end(self, completion: Any) -> None:
        self.events.append(("end", completion.text))

    def on_error(self, error: Any) -> None:
        self.events.append(("error", type(error).__name__))


USAGE = {
    "id": "c1",
    "model": "gpt-4.1",
    "choices": [],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}


def test_stream_yields_content_only_and_calls_handlers_in_order(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script.append(
        stream_response(
            sse(
                chunk("", role="assistant"),
                chunk(reasoning_content="hm"),
                chunk("He"),
                chunk(
                    "llo", tool_calls=[{"id": "t", "function": {"name": "f", "arguments": "{}"}}]
                ),
                chunk(finish_reason="stop"),
                USAGE,
            ),
            **{"x-request-id": "r-s"},
        )
    )
    log = Log()
    stream = make_client().stream("hi", handlers=[log])
    texts = [c.text for c in stream]
    assert texts == ["", "He", "llo", "", ""]  # no empty role-only chunk
    done = stream.completion()
    assert (done.text, done.message.reasoning_content, done.finish_reason) == (
        "Hello",
        "hm",
        "stop",
    )
    assert done.meta.request_id == "r-s" and stream.model == "gpt-4.1"
    assert log.events == [
        ("start", "gpt-4.1"),
        ("reasoning", "hm"),
        ("token", "He"),
        ("token", "llo"),
        ("tool", 0),
        ("usage", 3),
        ("end", "Hello"),
    ]


def test_stream_falls_back_while_nothing_reached_the_caller(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [
        err(429, "rate_limit_exceeded"),
        stream_response(
            sse(
                chunk("", role="assistant"),
                {"error": {"message": "upstream died", "code": "upstream_unavailable"}},
                done=False,
            )
        ),
        stream_response(sse(chunk("", role="assistant", model="c"), chunk("ok", model="c"))),
    ]
    log = Log()
    client = make_client(model="a", fallback_models=["b", "c"], max_retries=0)
    stream = client.stream("hi", handlers=[log])
    assert stream.completion().text == "ok"
    assert stream.model == "c" and stream.meta.failed_models == ["a", "b"]
    assert [b["model"] for b in recorder.bodies()] == ["a", "b", "c"]
    assert log.events[0] == ("start", "c")
    assert all(r.is_closed for r in recorder.responses)


def test_no_fallback_after_the_first_token(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(
        stream_response(
            sse(
                chunk("partial"),
                {"error": {"message": "died", "code": "upstream_unavailable"}},
                done=False,
            )
        )
    )
    log = Log()
    stream = make_client(model="a", fallback_models=["b"]).stream("hi", handlers=[log])
    got = []
    with pytest.raises(E.ServerError, match="died"):
        for c in stream:
            got.append(c.text)
    assert got == ["partial"] and len(recorder.requests) == 1
    assert log.events[-1] == ("error", "ServerError")


def test_dropped_connection_mid_stream_is_interrupted(
    make_client: MakeClient, recorder: Recorder
) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield sse(chunk("first"), done=False)
            raise httpx.RemoteProtocolError("peer closed connection")

    recorder.script.append(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Broken())
    )
    stream = make_client(fallback_models=["b"]).stream("hi")
    assert next(stream).text == "first"
    with pytest.raises(E.StreamInterruptedError):
        next(stream)
    assert len(recorder.requests) == 1


def test_drop_before_first_token_falls_back(make_client: MakeClient, recorder: Recorder) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
            raise httpx.RemoteProtocolError("peer closed connection")

    recorder.script += [
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Broken()),
        stream_response(sse(chunk("fine", model="b"))),
    ]
    stream = make_client(model="a", fallback_models=["b"], max_retries=0).stream("hi")
    assert stream.completion().text == "fine"
    assert isinstance(stream.meta.attempts[0].error, E.APIConnectionError)


def test_breaking_out_early_closes_the_response(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script.append(stream_response(sse(*(chunk(str(i)) for i in range(50)))))
    with make_client().stream("hi") as stream:
        for c in stream:
            if c.text == "3":
                break
    assert recorder.responses[0].is_closed


def test_stream_json_answer_when_backend_ignores_stream(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script.append(httpx.Response(200, json=completion_body("whole")))
    assert make_client().stream("hi").completion().text == "whole"


def test_stream_without_done_and_empty_stream(make_client: MakeClient, recorder: Recorder) -> None:
    # Issue 10 item 1 changed this: a body ending with neither [DONE] nor a finish_reason was
    # accepted; now only a finish_reason (or [DONE]) makes it whole (see test_stream_end.py).
    recorder.script += [
        stream_response(sse(chunk("a"), chunk(finish_reason="stop"), done=False)),
        stream_response(sse(chunk("a"), done=False)),
        stream_response(b": nothing\n\n"),
        stream_response(b""),
    ]
    assert make_client().stream("hi").completion().text == "a"
    with pytest.raises(E.StreamInterruptedError):
        make_client(max_retries=0).stream("hi").completion()
    with pytest.raises(E.MalformedResponseError):
        make_client(max_retries=0).stream("hi").completion()
    with pytest.raises(E.MalformedResponseError):
        make_client(max_retries=0).stream("hi").completion()


# --- account, models, misc ------------------------------------------------------------------


def test_models_merge_the_capability_table(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(
        httpx.Response(
            200,
            json={
                "object": "list",
                "data": [
                    {
                        "id": "gpt-4.1",
                        "object": "model",
                        "owned_by": "openai",
                        "supported_endpoint_types": ["openai"],
                    },
                    {"id": "mystery-1", "object": "model"},
                ],
            },
        )
    )
    models = make_client().list_models()
    assert [(m.id, m.known, m.context_window, m.vision) for m in models] == [
        ("gpt-4.1", True, 1_048_576, True),  # AIsa's published context window
        ("mystery-1", False, 32_768, False),
    ]
    assert models[0].owned_by == "openai"
    recorder.script.append(httpx.Response(404, text="404 page not found"))
    assert make_client().list_models() == []


def test_balance_and_quote(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [
        httpx.Response(
            200,
            json={
                "account_balance_micros_usd": 5_000_000,
                "available_balance_micros_usd": 4_250_000,
                "api_key": {"unlimited": False},
                "as_of": "2026-11-21",
            },
        ),
        httpx.Response(
            200,
            json={
                "object": "cost_estimate",
                "currency": "USD",
                "estimate_kind": "upper_bound",
                "estimated_cost_micros_usd": 12,
                "may_exceed_estimate": False,
            },
        ),
    ]
    client = make_client()
    assert client.balance().available_usd == 4.25
    assert client.quote("hi").estimated_cost_micros_usd == 12
    assert recorder.requests[1].headers["x-aisa-cost-mode"] == "quote"


def test_compare_models_runs_concurrently_and_keeps_errors(
    make_client: MakeClient, recorder: Recorder
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        if model == "bad":
            return err(401, "invalid_api_key")
        return httpx.Response(200, json=completion_body(f"from {model}", model=model))

    recorder.script += [answer] * 3
    results = make_client().compare_models("hi", ["a", "bad", "c"])
    assert [(r.model, r.ok, r.text, r.error_type) for r in results] == [
        ("a", True, "from a", None),
        ("bad", False, None, "AuthenticationError"),
        ("c", True, "from c", None),
    ]


def test_gemini_native_route_with_legacy_fallback(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [
        httpx.Response(404, text="404 page not found"),
        httpx.Response(200, json={"candidates": []}),
    ]
    assert make_client().generate_content("gemini-2.5-flash", "hi") == {"candidates": []}
    assert [r.url.path for r in recorder.requests] == [
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1/models/gemini-2.5-flash:generateContent",
    ]
    assert recorder.bodies()[0] == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


# --- the key never shows --------------------------------------------------------------------


def test_key_absent_from_repr_errors_logs_and_pickles(
    make_client: MakeClient,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    recorder.script.append(err(401, "invalid_api_key", message=f"key {KEY} is revoked"))
    with pytest.raises(E.AuthenticationError) as info:
        client.chat("hi")
    texts = [
        repr(client),
        str(client),
        repr(client.settings),
        repr(client.settings.api_key),
        str(info.value),
        repr(info.value),
        info.value.body or "",
        caplog.text,
    ]
    for text in texts:
        assert KEY not in text
    plain = AISAClient(api_key=KEY, model="gpt-4.1")  # no test transport holding requests
    plain.http  # noqa: B018 - a live pool must not stop pickling
    data = pickle.dumps(plain)
    assert KEY.encode() not in data  # a pickle is a serialised object: never the key
    unkeyed = pickle.loads(data)  # loads without a key (issue 10 item 9): the first call says so
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        unkeyed.chat("hi")
    monkeypatch.setenv("AISA_API_KEY", KEY)  # the loading process has the key
    clone = pickle.loads(data)
    assert clone.settings.api_key.get_secret_value() == KEY
    assert clone.settings.headers["Authorization"] == f"Bearer {KEY}"
    assert not clone._http.made
    import copy

    assert copy.deepcopy(client.settings).api_key == client.settings.api_key  # copies keep it


# --- async parity ---------------------------------------------------------------------------


async def test_async_client_behaves_the_same(recorder: Recorder) -> None:
    recorder.script += [
        err(503),
        stream_response(sse(chunk("", role="assistant"), chunk("a"), chunk("b"), USAGE)),
    ]
    log = Log()

    class AsyncLog(StreamHandler):
        async def on_token(self, text: str) -> None:
            log.events.append(("async-token", text))

    client = AsyncAISAClient(
        api_key=KEY,
        model="a",
        fallback_models=["b"],
        max_retries=0,
        transport=httpx.MockTransport(recorder),
    )
    stream = client.stream("hi", handlers=[log, AsyncLog()])
    texts = [c.text async for c in stream]
    assert texts == ["a", "b", ""]
    done = await stream.completion()
    assert done.text == "ab" and done.meta.failed_models == ["a"] and stream.model == "b"
    assert ("async-token", "a") in log.events and log.events[-1] == ("end", "ab")
    recorder.script.append(err(429, **{"retry-after": "0.5"}))
    waits: list[float] = []

    async def fake_sleep(s: float) -> None:
        waits.append(s)

    client._sleep = fake_sleep
    done = await client.chat("x", max_tokens=5)
    assert done.text == "hi" and done.meta.failed_models == ["a"]
    client2 = AsyncAISAClient(api_key=KEY, model="a", transport=httpx.MockTransport(recorder))
    client2._sleep = fake_sleep
    recorder.script.append(err(429, **{"retry-after": "0.5"}))
    assert (await client2.chat("y")).text == "hi" and waits == [0.5]
    await client2.aclose()
    await client.aclose()


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        (True, "required"),
        ("f", {"type": "function", "function": {"name": "f"}}),
        (
            {"type": "function", "function": {"name": "f"}},
            {"type": "function", "function": {"name": "f"}},
        ),
        ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
        ({"type": "any"}, "required"),
        ({"type": "auto"}, "auto"),
        ({"name": "f"}, {"type": "function", "function": {"name": "f"}}),
    ],
)
def test_tool_choice_in_every_form(choice: Any, wire: Any) -> None:
    from aisa_core import normalize_tool_choice

    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert normalize_tool_choice(choice, tools) == wire


def test_pool_is_made_once_under_concurrent_first_calls(make_client: MakeClient) -> None:
    import threading

    client = make_client()
    pools: list[Any] = []
    threads = [threading.Thread(target=lambda: pools.append(client.http)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in pools}) == 1


def test_gemini_extras_reach_gemini_only(make_client: MakeClient, recorder: Recorder) -> None:
    history = [
        "weather?",
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}"},
                    "extra_content": {"google": {"thought_signature": "sig"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    recorder.script.append(err(503))
    make_client(model="gemini-2.5-flash", fallback_models=["gpt-4.1"], max_retries=0).chat(history)
    to_gemini, to_gpt = (b["messages"][1]["tool_calls"][0] for b in recorder.bodies())
    assert to_gemini["extra_content"] == {"google": {"thought_signature": "sig"}}
    assert "extra_content" not in to_gpt
    assert "extra_content" in history[1]["tool_calls"][0]  # the caller's history is untouched


def test_response_format_leaves_strict_out_unless_asked() -> None:
    from pydantic import BaseModel

    from aisa_core import to_response_format

    class Answer(BaseModel):
        text: str

    assert "strict" not in to_response_format(Answer)["json_schema"]
    assert to_response_format(Answer, strict=True)["json_schema"]["strict"] is True


def test_accumulator_matches_what_the_caller_has_seen(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script.append(stream_response(sse(chunk("a"), chunk("b"), chunk("c"))))  # one read
    stream = make_client().stream("hi")
    seen = ""
    for c in stream:
        seen += c.text
        assert stream.accumulator.completion().text == seen
    assert seen == "abc"


def test_oversized_answers_are_refused(
    make_client: MakeClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aisa_core.transport.reading as base

    monkeypatch.setattr(base, "MAX_BODY_BYTES", 1000)
    recorder.script += [httpx.Response(200, json=completion_body("x" * 2000))] * 3
    with pytest.raises(E.MalformedResponseError, match="larger than 1000 bytes"):
        make_client(max_retries=0).chat("hi")

    class Endless(httpx.SyncByteStream):  # no Content-Length: caught while reading
        def __iter__(self) -> Any:
            while True:
                yield b"x" * 512

    recorder.script.append(httpx.Response(200, stream=Endless()))
    with pytest.raises(E.MalformedResponseError, match="larger than"):
        make_client(max_retries=0).chat("hi")


async def test_oversized_answers_are_refused_async(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aisa_core.transport.reading as base

    monkeypatch.setattr(base, "MAX_BODY_BYTES", 1000)
    recorder.script.append(httpx.Response(200, json=completion_body("x" * 2000)))
    client = AsyncAISAClient(
        api_key=KEY, model="m", max_retries=0, transport=httpx.MockTransport(recorder)
    )
    with pytest.raises(E.MalformedResponseError, match="larger than") as info:
        await client.chat("hi")
    assert info.value.model == "m"
    await client.aclose()


def test_redirects_are_refused_not_followed(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(httpx.Response(307, headers={"location": "https://elsewhere.test/v1"}))
    with pytest.raises(E.APIError, match="redirect") as info:
        make_client().chat("hi")
    assert info.value.status_code == 307 and "elsewhere.test" in str(info.value)
    assert len(recorder.requests) == 1  # nothing was sent to the new location


def test_get_model_uses_the_single_model_route(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [
        httpx.Response(200, json={"id": "gpt-4.1", "object": "model", "owned_by": "openai"}),
        httpx.Response(404, text="404 page not found"),
    ]
    client = make_client()
    info = client.get_model("gpt-4.1")
    assert info is not None and info.owned_by == "openai" and info.known
    assert client.get_model("aisa/x y") is None
    assert [r.url.raw_path for r in recorder.requests] == [
        b"/v1/models/gpt-4.1",
        b"/v1/models/aisa%2Fx%20y",
    ]


def test_a_trickling_answer_hits_the_total_timeout(
    make_client: MakeClient, recorder: Recorder
) -> None:
    import time

    from aisa_core import Timeouts

    class Trickle(httpx.SyncByteStream):  # each read is quick, the whole never ends
        def __iter__(self) -> Any:
            while True:
                time.sleep(0.02)
                yield b" "

    recorder.script.append(httpx.Response(200, stream=Trickle()))
    started = time.monotonic()
    with pytest.raises(E.APITimeoutError, match="total timeout"):
        make_client(max_retries=0, timeout=Timeouts(read=5, total=0.2)).chat("hi")
    assert time.monotonic() - started < 2
