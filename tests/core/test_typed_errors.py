"""Typed errors, never raw ones (issue 10, items 10 and 11): answers of the wrong shape, a
redirect on a stream, ids and bodies that cannot be sent, path segments from user input; and a
fuzz of the public calls, where anything raised must be an ``AISAError``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E
from aisa_core.content import text_part, tool_result, user
from tests.core.helpers import KEY, Recorder, completion_body

NOT_OBJECTS = [b"[1, 2]", b'"credits"', b"null", b"5", b"[" * 5000]


def client_for(recorder: Recorder, **kwargs: Any) -> AISAClient:
    kwargs.setdefault("model", "gpt-4.1")
    client = AISAClient(api_key=KEY, transport=httpx.MockTransport(recorder), **kwargs)
    client._sleep = lambda seconds: None
    return client


def json_answer(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=body)


# --- answers of the wrong shape ------------------------------------------------------------


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_balance_and_quote_on_a_body_that_is_not_an_object(body: bytes) -> None:
    recorder = Recorder(script=[json_answer(body)] * 2)
    client = client_for(recorder, max_retries=0)
    with pytest.raises(E.MalformedResponseError, match="credits/balance"):
        client.balance()
    with pytest.raises(E.MalformedResponseError, match="cost quote"):
        client.quote("hi")


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("balance", {"account_balance_micros_usd": "a lot"}),
        ("balance", {"api_key": "not an object"}),
        ("quote", {"estimated_cost_micros_usd": [1]}),
        ("list_models", {"data": [{"id": "m", "created": "yesterday"}]}),
        ("generate_content", [1, 2]),
    ],
)
def test_an_answer_of_the_wrong_shape_is_malformed(call: str, body: Any) -> None:
    recorder = Recorder(script=[json_answer(json.dumps(body).encode())])
    client = client_for(recorder, max_retries=0)
    args = {"quote": ("hi",), "generate_content": ("gemini-2.5-flash", "hi")}.get(call, ())
    with pytest.raises(E.MalformedResponseError):
        getattr(client, call)(*args)


async def test_the_async_client_types_them_too() -> None:
    recorder = Recorder(script=[json_answer(b"[1]"), json_answer(b"[1]")])
    client = AsyncAISAClient(
        api_key=KEY, model="gpt-4.1", max_retries=0, transport=httpx.MockTransport(recorder)
    )
    with pytest.raises(E.MalformedResponseError):
        await client.balance()
    with pytest.raises(E.MalformedResponseError):
        await client.quote("hi")
    await client.aclose()


NESTED = b"[" * 100_000


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(500, content=NESTED), E.ServerError),
        (httpx.Response(400, json={"error": {"message": "m"}, "x": [[[[1]]]]}), E.BadRequestError),
        (
            httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=b"data: " + NESTED + b"\n\n",
            ),
            E.MalformedResponseError,
        ),
    ],
)
def test_json_nested_too_deeply_is_a_typed_error(answer: httpx.Response, error: type) -> None:
    recorder = Recorder(script=[answer] * 2)
    client = client_for(recorder, max_retries=0)
    with pytest.raises(error):
        client.stream("hi").completion()


# --- a redirect on a stream is the typed redirect error, not a retried malformed stream -----


@pytest.fixture
def redirecting_server() -> Iterator[tuple[str, list[bytes]]]:
    """A raw loopback server answering every request with a 302 (an event-stream type, even)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    seen: list[bytes] = []
    answer = (
        b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.test/v1\r\n"
        b"Content-Type: text/event-stream\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        b"data: {}\n\n"
    )

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                seen.append(conn.recv(65536))
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1", seen
    server.close()


def check_redirect(error: E.AISAError, seen: list[bytes]) -> None:
    assert type(error) is E.APIError and error.status_code == 302
    assert not error.retryable and "elsewhere.test" in (error.hint or "")
    assert len(seen) == 1  # not retried, not fallen back from


def test_a_redirect_on_a_stream_is_typed_and_not_retried(
    redirecting_server: tuple[str, list[bytes]],
) -> None:
    url, seen = redirecting_server
    client = AISAClient(api_key=KEY, base_url=url, model="gpt-4.1", fallback_models=["m2"])
    with pytest.raises(E.APIError) as caught:
        client.stream("hi").completion()
    check_redirect(caught.value, seen)
    client.close()


@pytest.mark.parametrize("prefer_aiohttp", [True, False])
async def test_a_redirect_on_an_async_stream_is_typed_and_not_retried(
    redirecting_server: tuple[str, list[bytes]], prefer_aiohttp: bool
) -> None:
    url, seen = redirecting_server
    client = AsyncAISAClient(
        api_key=KEY, base_url=url, model="gpt-4.1", prefer_aiohttp=prefer_aiohttp
    )
    with pytest.raises(E.APIError) as caught:
        await client.stream("hi").completion()
    check_redirect(caught.value, seen)
    await client.aclose()


# --- ids and bodies that cannot be sent are refused before anything is sent -----------------

BAD_IDS = ["a" * 70_000, "gpt\x00-4", "gpt-4.1\u200b", "\ud800", "line\nbreak", ""]


@pytest.mark.parametrize("model_id", BAD_IDS)
def test_a_model_id_that_cannot_be_sent_is_refused(model_id: str) -> None:
    recorder = Recorder()
    client = client_for(recorder)
    for call in (
        lambda: client.get_model(model_id),
        lambda: client.generate_content(model_id, "hi"),
        lambda: client.chat("hi", model=model_id or " "),
        lambda: client.stream("hi", model="gpt-4.1", fallback_models=[model_id or " "]),
    ):
        with pytest.raises(E.ConfigurationError):
            call()
    assert recorder.requests == []


async def test_the_async_client_refuses_them_too(aisa_standin: Any) -> None:
    client = AsyncAISAClient(api_key=KEY, base_url=aisa_standin.base_url, model="gpt-4.1")
    for model_id in BAD_IDS:
        with pytest.raises(E.ConfigurationError):
            await client.get_model(model_id)
    assert aisa_standin.requests == []
    await client.aclose()


BAD_MESSAGES: list[Any] = [
    [{"role": "user", "content": [1, 2]}],
    [{"role": "user", "content": 5}],
    [{"role": "user", "content": ["a bare string part"]}],
    [{"role": "user", "content": [{"text": "no type"}]}],
    [{"role": "user", "content": [{"type": "text", "text": 5}]}],
    [{"role": "user", "content": [object()]}],
    [{"role": "user", "content": "hi", "meta": float("inf")}],
    [{"role": "user", "content": "hi", "meta": {1, 2}}],
    [{"role": "user", "content": "lone \ud800 surrogate"}],
]


@pytest.mark.parametrize("messages", BAD_MESSAGES)
def test_messages_that_cannot_be_sent_are_refused(messages: Any) -> None:
    recorder = Recorder()
    client = client_for(recorder)
    with pytest.raises(E.InvalidInputError):
        client.chat(messages)
    with pytest.raises(E.InvalidInputError):
        client.stream(messages)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("options", "json_invalid"),
    [
        ({"extra_body": {"x": float("nan")}}, True),
        ({"extra_body": {"x": [float("-inf")]}}, True),
        ({"seed": float("nan")}, True),
        ({"logit_bias": {"1": float("inf")}}, True),
        ({"metadata": b"bytes"}, True),
        ({"seed": 1.5}, False),
        ({"stop": ["ok", 5]}, False),
    ],
)
def test_parameters_that_cannot_be_sent_are_refused(
    options: dict[str, Any], json_invalid: bool
) -> None:
    recorder = Recorder()
    client = client_for(recorder)
    with pytest.raises(E.InvalidInputError):
        client.chat("hi", **options)
    with pytest.raises(E.InvalidInputError):
        client.quote("hi", **options)
    if json_invalid:  # generate_content passes its extras through, but only as valid JSON
        with pytest.raises(E.InvalidInputError, match="not valid JSON"):
            client.generate_content("gemini-2.5-flash", "hi", **options)
    assert recorder.requests == []


def test_the_builders_check_their_parts() -> None:
    for build in (
        lambda: user(5),  # type: ignore[arg-type]
        lambda: user("look", 7),  # type: ignore[arg-type]
        lambda: text_part(None),  # type: ignore[arg-type]
        lambda: tool_result("call-1", 5),  # type: ignore[arg-type]
        lambda: tool_result("call-1", [3]),  # type: ignore[list-item]
    ):
        with pytest.raises(E.InvalidInputError):
            build()
    assert user("a", {"type": "text", "text": "b"})["content"][1] == {"type": "text", "text": "b"}


def test_generate_content_checks_its_prompt() -> None:
    recorder = Recorder()
    client = client_for(recorder)
    for prompt in (5, [1], [{"parts": []}, "loose"]):
        with pytest.raises(E.InvalidInputError):
            client.generate_content("gemini-2.5-flash", prompt)  # type: ignore[arg-type]
    assert recorder.requests == []


# --- every path segment from user input is quoted, dot segments included --------------------


@pytest.mark.parametrize(
    ("model_id", "path"),
    [
        ("..", b"/v1/models/%2E%2E"),
        (".", b"/v1/models/%2E"),
        ("a/../b", b"/v1/models/a%2F..%2Fb"),
        ("x?y#z", b"/v1/models/x%3Fy%23z"),
        ("gpt-4.1", b"/v1/models/gpt-4.1"),
    ],
)
def test_get_model_keeps_the_id_in_one_segment(model_id: str, path: bytes) -> None:
    recorder = Recorder(script=[httpx.Response(404, text="404 page not found")])
    assert client_for(recorder).get_model(model_id) is None
    assert recorder.requests[0].url.raw_path == path


def test_a_gemini_model_id_never_reaches_another_endpoint() -> None:
    recorder = Recorder(script=[json_answer(b"{}")])
    client_for(recorder).generate_content("gemini-x/../../chat/completions#frag", "hi")
    assert recorder.requests[0].url.raw_path == (
        b"/v1beta/models/gemini-x%2F..%2F..%2Fchat%2Fcompletions%23frag:generateContent"
    )


# --- fuzz: whatever a caller passes, anything raised is an AISAError --------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
odd = st.one_of(st.binary(max_size=4), st.sets(st.integers(), max_size=2), st.builds(object))
values = st.recursive(
    st.one_of(json_leaf, odd),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
roles = st.sampled_from(["user", "system", "assistant", "tool", "developer", "bogus", None])
message = st.one_of(
    st.text(max_size=20),
    st.fixed_dictionaries({"role": roles, "content": values}, optional={"extra": values}),
    values,
)
messages = st.one_of(message, st.lists(message, max_size=3))
NAMES = ["temperature", "max_tokens", "top_p", "seed", "stop", "n", "extra_body", "user", "x"]
NAMES += ["tools", "tool_choice", "response_format", "strict", "parallel_tool_calls"]
NAMES += ["extra_headers", "timeout"]
params = st.dictionaries(st.sampled_from(NAMES), values, max_size=3)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answered_client() -> AISAClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":generateContent"):
            return httpx.Response(200, json={"candidates": []})
        if request.url.path.startswith("/v1/models"):
            return httpx.Response(200, json={"id": "m", "object": "model"})
        return httpx.Response(200, json=completion_body())

    return AISAClient(api_key=KEY, model="gpt-4.1", transport=httpx.MockTransport(answer))


FUZZ_CLIENT = answered_client()


def only_typed(call: Any) -> None:
    with contextlib.suppress(E.AISAError):
        call()


@FUZZ
@given(model_id=st.text(max_size=300))
def test_fuzz_model_ids(model_id: str) -> None:
    only_typed(lambda: FUZZ_CLIENT.get_model(model_id))
    only_typed(lambda: FUZZ_CLIENT.generate_content(model_id, "hi"))
    only_typed(lambda: FUZZ_CLIENT.chat("hi", model=model_id))


@FUZZ
@given(messages=messages, options=params)
def test_fuzz_messages_and_parameters(messages: Any, options: dict[str, Any]) -> None:
    only_typed(lambda: FUZZ_CLIENT.chat(messages, **options))
    only_typed(lambda: FUZZ_CLIENT.stream(messages, **options).close())
    only_typed(lambda: FUZZ_CLIENT.generate_content("gemini-2.5-flash", messages, **options))


@FUZZ
@given(headers=st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2))
def test_fuzz_headers(headers: dict[str, str]) -> None:
    only_typed(lambda: FUZZ_CLIENT.chat("hi", extra_headers=headers))
    only_typed(lambda: AISAClient(api_key=KEY, default_headers=headers))


async def test_the_async_client_refuses_bad_messages_too() -> None:
    recorder = Recorder()
    client = AsyncAISAClient(api_key=KEY, model="gpt-4.1", transport=httpx.MockTransport(recorder))
    for bad in BAD_MESSAGES:
        with pytest.raises(E.InvalidInputError):
            await client.chat(bad)
    assert recorder.requests == []
    await client.aclose()


SETTING_NAMES = ["base_url", "model", "fallback_models", "timeout", "max_retries", "seed"]
SETTING_NAMES += ["default_headers", "source", "handlers", "rate_limiter", "allow_insecure"]
setting_values = st.one_of(
    json_leaf,
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    st.builds(object),
    st.sampled_from(["http://[", "https://a:99999/v1", "https://a b", "http://127.0.0.1:1/v1"]),
)


@FUZZ
@given(kwargs=st.dictionaries(st.sampled_from(SETTING_NAMES), setting_values, max_size=3))
def test_fuzz_client_settings(kwargs: dict[str, Any]) -> None:
    def make() -> None:
        AISAClient(api_key=KEY, **kwargs).close()

    only_typed(make)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fallback_models": "gpt-4.1-mini"},  # a string would be read letter by letter
        {"fallback_models": None, "max_retries": None},
        {"handlers": None},
        {"seed": []},
        {"rate_limiter": 5},
        {"timeout": float("nan")},
        {"base_url": "https://api.aisa.one:99999/v1"},
        {"base_url": "http://[::1"},
    ],
)
def test_settings_of_the_wrong_kind_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(E.ConfigurationError):
        AISAClient(api_key=KEY, **kwargs)


def test_compare_models_refuses_a_bare_string() -> None:
    recorder = Recorder()
    with pytest.raises(E.ConfigurationError, match="models"):
        client_for(recorder).compare_models("hi", "gpt-4.1")  # type: ignore[arg-type]
    assert recorder.requests == []
