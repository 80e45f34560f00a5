"""Against the real AIsa gateway. Runs only when AISA_API_KEY is set (``make test`` skips it
otherwise); pick the models with AISA_LIVE_MODEL / AISA_LIVE_FALLBACK."""

from __future__ import annotations

import os

import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E

pytestmark = [pytest.mark.live, pytest.mark.enable_socket]

MODEL = os.environ.get("AISA_LIVE_MODEL", "gpt-4.1-mini")
FALLBACK = os.environ.get("AISA_LIVE_FALLBACK", "gpt-4.1-nano")


@pytest.fixture
def client() -> AISAClient:
    return AISAClient(model=MODEL, source="aisa-llm-python-live-tests")


def test_chat(client: AISAClient) -> None:
    done = client.chat("Reply with the single word: pong", max_tokens=10, temperature=0)
    assert "pong" in done.text.lower()
    assert done.usage is not None and done.usage.total_tokens > 0


def test_stream_with_usage(client: AISAClient) -> None:
    stream = client.stream("Count from 1 to 5, digits separated by spaces.", max_tokens=30)
    pieces = [c.text for c in stream]
    done = stream.completion()
    assert len(pieces) > 1 and "3" in done.text
    assert done.usage is not None and done.usage.completion_tokens > 0


def test_tool_call(client: AISAClient) -> None:
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return city

    done = client.chat(
        "What's the weather in Paris? Use the tool.", tools=[get_weather], tool_choice="required"
    )
    (call,) = done.tool_calls[:1]
    assert call.name == "get_weather" and "paris" in str(call.parsed_arguments()).lower()


def test_unknown_model_is_typed_and_falls_back(client: AISAClient) -> None:
    with pytest.raises((E.UnknownModelError, E.NotFoundError, E.BadRequestError)):
        client.chat("hi", model="no-such-model-xyz", fallback_models=[], max_tokens=5)
    done = client.chat("hi", model="no-such-model-xyz", fallback_models=[FALLBACK], max_tokens=5)
    assert done.meta.failed_models[0] == "no-such-model-xyz"


def test_models_and_balance(client: AISAClient) -> None:
    models = client.list_models()
    assert any(m.id.startswith("gpt") for m in models)
    balance = client.balance()
    assert balance.available_balance_micros_usd is None or balance.available_balance_micros_usd >= 0


def test_bad_key_is_authentication_error() -> None:
    bad = AISAClient(api_key="sk-aisa-invalid-key-for-tests", model=MODEL)
    with pytest.raises(E.AuthenticationError):
        bad.chat("hi", max_tokens=5)


async def test_async_chat() -> None:
    async with AsyncAISAClient(model=MODEL) as client:
        done = await client.chat("Reply with: ok", max_tokens=5)
        assert done.text
