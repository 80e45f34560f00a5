"""The key (issue 10, items 5, 6, 7 and 9): never echoed back in an error whatever its shape,
refused at construction when HTTP cannot carry it (headers too), never in a pickle, and an
unpickled object without ``AISA_API_KEY`` fails at its first call, not at load."""

from __future__ import annotations

import copy
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, Secret, StreamHandler
from aisa_core import errors as E
from aisa_core.client.settings import ClientSettings
from aisa_core.standin import StandIn
from tests.core.helpers import Recorder, chunk, sse

SHAPES = ["aisa-live-XYZ12345", "abc123DEF456ghi789", "sk-aisa-0123456789abcdef", "Zm9v+/YmFy=="]


def texts_of(error: BaseException) -> list[str]:
    """Everything a user could see of an error: its texts, its fields, the chain behind it."""
    out: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        out += [str(seen), repr(seen), *(str(a) for a in seen.args)]
        out += [str(v) for v in vars(seen).values()]
        for attempt in getattr(seen, "attempts", ()):
            out += texts_of(attempt.error)
        seen = seen.__cause__ or seen.__context__
    return out


def assert_clean(error: BaseException, key: str) -> None:
    for text in texts_of(error):
        assert key not in text, f"the key leaked in: {text[:300]!r}"
        assert key[:12] not in text, f"the start of the key leaked in: {text[:300]!r}"


def echo(status: int) -> Any:
    """A server that echoes the request's Authorization header back in its error body."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        body = {"error": {"message": f"invalid header {sent!r}", "code": "x", "echo": sent}}
        return httpx.Response(status, json=body)

    return answer


def client_for(handler: Any, key: str, **kwargs: Any) -> AISAClient:
    kwargs.setdefault("model", "gpt-4.1")
    client = AISAClient(api_key=key, transport=httpx.MockTransport(handler), **kwargs)
    client._sleep = lambda seconds: None
    return client


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for key in SHAPES:
        assert key not in caplog.text


# --- item 5: the client's own key is redacted wherever it appears, whatever its shape -------


@pytest.mark.parametrize("key", SHAPES)
def test_an_echoed_key_is_redacted_whatever_its_shape(key: str) -> None:
    client = client_for(echo(401), key)
    with pytest.raises(E.AuthenticationError) as caught:
        client.chat("hi")
    assert_clean(caught.value, key)
    assert "***" in caught.value.message and "***" in (caught.value.body or "")


@pytest.mark.parametrize("key", SHAPES)
def test_a_key_cut_short_by_a_length_limit_is_redacted_too(key: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = "x" * 490 + request.headers["authorization"] + " and more"  # cut at 500 chars
        return httpx.Response(500, text=page)

    with pytest.raises(E.ServerError) as caught:
        client_for(answer, key, max_retries=0).chat("hi")
    assert_clean(caught.value, key)


def test_a_fallback_chains_summary_and_every_attempt_are_redacted() -> None:
    key = SHAPES[0]
    client = client_for(echo(503), key, fallback_models=["gpt-4.1-mini"], max_retries=0)
    with pytest.raises(E.AllModelsFailedError) as caught:
        client.chat("hi")
    assert len(caught.value.attempts) == 2
    assert_clean(caught.value, key)


@pytest.mark.parametrize("chunks_first", [0, 1])
def test_an_in_band_stream_error_echoing_the_key_is_redacted(chunks_first: int) -> None:
    key = SHAPES[1]

    def answer(request: httpx.Request) -> httpx.Response:
        bad = {"error": {"message": f"upstream saw {request.headers['authorization']}"}}
        events = [chunk("hi")] * chunks_first + [bad]
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=sse(*events, done=False))

    client = client_for(answer, key, max_retries=0)
    with pytest.raises(E.StreamError) as caught:
        client.stream("hi").completion()
    assert_clean(caught.value, key)


def test_transport_error_texts_and_redirect_hints_are_redacted() -> None:
    key = SHAPES[3]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused https://proxy.test/?auth={key}", request=request)

    with pytest.raises(E.APIConnectionError) as caught:
        client_for(refuse, key, max_retries=0).chat("hi")
    assert_clean(caught.value, key)

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": f"https://elsewhere.test/?key={key}"})

    with pytest.raises(E.APIError) as caught_redirect:
        client_for(redirect, key).chat("hi")
    assert_clean(caught_redirect.value, key)
    assert "***" in (caught_redirect.value.hint or "")


async def test_the_async_client_redacts_the_same() -> None:
    key = SHAPES[0]
    client = AsyncAISAClient(
        api_key=key, model="gpt-4.1", max_retries=0, transport=httpx.MockTransport(echo(429))
    )
    with pytest.raises(E.RateLimitError) as caught:
        await client.chat("hi")
    assert_clean(caught.value, key)
    with pytest.raises(E.RateLimitError) as caught_stream:
        await client.stream("hi").completion()
    assert_clean(caught_stream.value, key)
    await client.aclose()


class ErrorHandler(StreamHandler):
    """Keeps what a handler would log, as it was when the handler was told."""

    def __init__(self) -> None:
        self.logged: list[list[str]] = []

    def on_error(self, error: BaseException) -> None:
        self.logged.append(texts_of(error))


async def test_stream_handlers_never_see_the_key() -> None:
    key = SHAPES[0]
    handler = ErrorHandler()
    sync = client_for(echo(401), key, handlers=[handler])
    with pytest.raises(E.AuthenticationError):
        sync.stream("hi").completion()
    aclient = AsyncAISAClient(
        api_key=key, model="m", transport=httpx.MockTransport(echo(401)), handlers=[handler]
    )
    with pytest.raises(E.AuthenticationError):
        await aclient.stream("hi").completion()
    assert len(handler.logged) == 2
    for texts in handler.logged:
        assert not any(key in text for text in texts)
    await aclient.aclose()


def test_scrub_masks_the_key_and_its_start_but_leaves_other_text() -> None:
    key = "abcdefghijklmnop"
    assert E.redact(f"a {key} b {key[:10]}' c", key) == "a *** b ***' c"
    assert E.redact("abcdefg is short of the head", key) == "abcdefg is short of the head"


# --- item 6: a key or header HTTP cannot carry is refused at construction ------------------

BAD_KEYS = [
    "sk-aisa-abc\u200bdef0123",  # a zero-width space pasted from a web page
    "sk-aisa-abc\x01def0123",  # a control character
    "sk-aisa-abc\u00e9def0123",  # latin-1, still not sendable the same on every stack
    "sk-aisa-abc\x7fdef0123",  # DEL
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_http_cannot_carry_is_refused_without_printing_it(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    for make in (
        lambda: AISAClient(api_key=key, transport=httpx.MockTransport(recorder)),
        lambda: AsyncAISAClient(api_key=key),
        lambda: ClientSettings(api_key=Secret(key)),
    ):
        with pytest.raises(E.ConfigurationError, match="cannot carry") as caught:
            make()
        assert_clean(caught.value, key)
        assert "def0123" not in str(caught.value)
    monkeypatch.setenv("AISA_API_KEY", key)
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        AISAClient(model="m")
    assert recorder.requests == []


@pytest.mark.parametrize("key", BAD_KEYS[:2])
def test_the_adapters_refuse_it_too_without_printing_it(key: str) -> None:
    from langchain_aisa import ChatAISA
    from llama_index_aisa import AISA

    with pytest.raises(ValueError, match="cannot carry") as lc:
        ChatAISA(model="gpt-4.1", api_key=key)
    with pytest.raises(E.ConfigurationError, match="cannot carry") as li:
        AISA("gpt-4.1", api_key=key)
    for error in (lc.value, li.value):
        assert key not in str(error) and "def0123" not in str(error)


def test_a_bad_argument_never_prints_the_key_in_a_validation_error() -> None:
    from langchain_aisa import ChatAISA

    key = "k3y-0123abcd"  # short enough that pydantic would print all of its input
    with pytest.raises(ValueError, match="unknown argument") as caught:
        ChatAISA(api_key=key, m=1)
    assert key not in str(caught.value)


BAD_HEADERS = [
    {"X-Title": "a\r\nInjected: yes"},
    {"X-Title": "line\nfeed"},
    {"X-Title": "euro \u20ac"},
    {"X-Title": "caf\u00e9"},
    {"X-Title": "nul\x00"},
    {"Bad Name": "value"},
    {"": "value"},
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_default_headers_that_cannot_be_sent_are_refused_at_construction(
    headers: dict[str, str],
) -> None:
    with pytest.raises(E.ConfigurationError):
        AISAClient(api_key=SHAPES[0], default_headers=headers)
    with pytest.raises(E.ConfigurationError):
        AsyncAISAClient(api_key=SHAPES[0], default_headers=headers)


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_extra_headers_that_cannot_be_sent_are_refused_before_any_request(
    headers: dict[str, str],
) -> None:
    recorder = Recorder()
    client = client_for(recorder, SHAPES[0])
    with pytest.raises(E.InvalidInputError):
        client.chat("hi", extra_headers=headers)
    with pytest.raises(E.InvalidInputError):
        client.stream("hi", extra_headers=headers)
    assert recorder.requests == []
    client.close()


async def test_the_aiohttp_path_never_sees_a_bad_header(aisa_standin: StandIn) -> None:
    client = AsyncAISAClient(api_key=SHAPES[0], base_url=aisa_standin.base_url, model="gpt-4.1")
    with pytest.raises(E.InvalidInputError):
        await client.chat("hi", extra_headers={"X-Title": "a\r\nb"})
    assert (await client.chat("hi", extra_headers={"X-Title": "plain\tascii ok"})).text
    assert aisa_standin.last_request.headers["x-title"] == "plain\tascii ok"
    assert len(aisa_standin.requests) == 1
    await client.aclose()


def test_a_header_value_error_names_the_header_not_the_value() -> None:
    with pytest.raises(E.ConfigurationError) as caught:
        AISAClient(api_key=SHAPES[0], default_headers={"X-Token": "secret-token\n"})
    assert "X-Token" in str(caught.value) and "secret-token" not in str(caught.value)


# --- item 7: no pickle holds the key --------------------------------------------------------

KEY = SHAPES[2]


def keyed_objects(base_url: str) -> dict[str, Any]:
    from langchain_aisa import ChatAISA
    from langchain_aisa.router import RouterRunnable, Rule
    from llama_index_aisa import AISA

    llm = ChatAISA(model="gpt-4.1", api_key=KEY, base_url=base_url)
    return {
        "Secret": Secret(KEY),
        "ClientSettings": ClientSettings(api_key=KEY, base_url=base_url),
        "AISAClient": AISAClient(api_key=KEY, base_url=base_url),
        "AsyncAISAClient": AsyncAISAClient(api_key=KEY, base_url=base_url),
        "ChatAISA": llm,
        "AISA": AISA("gpt-4.1", api_key=KEY, base_url=base_url),
        "RouterRunnable": RouterRunnable(
            {"a": llm, "b": "gpt-4.1-mini"},
            [Rule("b", keywords=["zebra"])],
            default="a",
            chat_kwargs={"api_key": KEY, "base_url": base_url},
        ),
    }


def test_no_pickle_holds_the_key(aisa_standin: StandIn) -> None:
    for name, thing in keyed_objects(aisa_standin.base_url).items():
        data = pickle.dumps(thing)
        assert KEY.encode() not in data, f"a pickled {name} holds the key"


def test_a_pickled_secret_reads_the_key_of_the_process_that_loads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    again = pickle.loads(pickle.dumps(Secret(KEY)))
    assert repr(again) == "Secret('**********')"
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        again.get_secret_value()
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-of-the-loader-1")
    assert again.get_secret_value() == "sk-aisa-of-the-loader-1"


def test_copies_in_one_process_keep_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-some-other-key")  # a copy must not take this one
    for client in (AISAClient(api_key=KEY), AsyncAISAClient(api_key=KEY)):
        for clone in (copy.copy(client), copy.deepcopy(client)):
            assert clone.settings.headers["Authorization"] == f"Bearer {KEY}"
    settings = ClientSettings(api_key=KEY)
    for clone in (copy.copy(Secret(KEY)), copy.deepcopy(Secret(KEY))):
        assert clone.get_secret_value() == KEY
    for copied in (copy.copy(settings), copy.deepcopy(settings)):
        assert copied.api_key.get_secret_value() == KEY
        assert copied.headers["Authorization"] == f"Bearer {KEY}"


# --- item 9: unpickled without AISA_API_KEY, an object loads and fails at its first call ------


def test_an_unpickled_client_fails_at_its_first_call_and_can_be_given_a_key(
    aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pickle.dumps(AISAClient(api_key=KEY, base_url=aisa_standin.base_url, model="gpt-4.1"))
    client = pickle.loads(data)  # no AISA_API_KEY here: loading still works
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY") as caught:
        client.chat("hi")
    assert "unpickled" in str(caught.value)
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        client.stream("hi")
    assert aisa_standin.requests == []  # nothing was sent without a key
    client.settings.api_key = KEY  # given a key...
    assert client.chat("hi").text
    assert aisa_standin.last_request.headers["authorization"] == f"Bearer {KEY}"
    later = pickle.loads(data)
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-set-later")  # ...or the variable
    assert later.chat("hi").text
    assert aisa_standin.last_request.headers["authorization"] == "Bearer sk-aisa-set-later"
    client.close()
    later.close()


async def test_an_unpickled_async_client_fails_at_its_first_call(
    aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = AsyncAISAClient(api_key=KEY, base_url=aisa_standin.base_url, model="gpt-4.1")
    client = pickle.loads(pickle.dumps(made))
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        await client.chat("hi")
    monkeypatch.setenv("AISA_API_KEY", KEY)
    assert (await client.chat("hi")).text
    await client.aclose()


def test_unpickled_models_fail_at_their_first_call_and_can_be_given_a_key(
    aisa_standin: StandIn,
) -> None:
    from pydantic import SecretStr

    from langchain_aisa import ChatAISA
    from llama_index_aisa import AISA

    chat = pickle.loads(
        pickle.dumps(ChatAISA(model="gpt-4.1", api_key=KEY, base_url=aisa_standin.base_url))
    )
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        chat.invoke("hi")
    chat.api_key = SecretStr(KEY)
    assert chat.invoke("hi").content

    llm = pickle.loads(pickle.dumps(AISA("gpt-4.1", api_key=KEY, base_url=aisa_standin.base_url)))
    with pytest.raises(E.ConfigurationError, match="AISA_API_KEY"):
        llm.complete("hi")
    llm.api_key = KEY  # type: ignore[assignment]  # validated into a SecretStr
    assert llm.complete("hi").text
    assert aisa_standin.last_request.headers["authorization"] == f"Bearer {KEY}"
    chat.close()
    llm.close()
