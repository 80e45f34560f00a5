"""Errors of endpoints that name no model (balance, the model list, one model's entry) carry
``model=None``: the label the call uses internally ("credits", "models") is not a model, and
must not reach the caller as ``model=credits``. Chat errors keep naming their model."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core.errors import AISAError, APIConnectionError, AuthenticationError
from aisa_core.standin import INVALID_API_KEY, StandIn

WRONG_KEY = INVALID_API_KEY  # the stand-in answers 401 invalid_api_key to it

CALLS: dict[str, Callable[[Any], Any]] = {
    "balance": lambda c: c.balance(),
    "list_models": lambda c: c.list_models(),
    "get_model": lambda c: c.get_model("gpt-4.1"),
}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _assert_no_model(error: AISAError) -> None:
    assert error.model is None
    assert "model=" not in str(error)
    assert "credits" not in str(error)


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_a_401_names_no_model(aisa_standin: StandIn, call: str) -> None:
    with (
        AISAClient(api_key=WRONG_KEY, base_url=aisa_standin.base_url) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        CALLS[call](client)
    assert caught.value.status_code == 401
    _assert_no_model(caught.value)


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
async def test_a_401_names_no_model_async(aisa_standin: StandIn, call: str) -> None:
    async with AsyncAISAClient(api_key=WRONG_KEY, base_url=aisa_standin.base_url) as client:
        pending: Awaitable[Any] = CALLS[call](client)
        with pytest.raises(AuthenticationError) as caught:
            await pending
    _assert_no_model(caught.value)


def test_a_connection_failure_names_no_model() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    with (
        AISAClient(api_key=WRONG_KEY, base_url=base_url, max_retries=0) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.balance()
    _assert_no_model(caught.value)


def test_chat_errors_still_name_their_model(aisa_standin: StandIn) -> None:
    with (
        AISAClient(api_key=WRONG_KEY, base_url=aisa_standin.base_url) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.chat("Hi", model="gpt-4.1-mini")
    assert caught.value.model == "gpt-4.1-mini"
    assert "model=gpt-4.1-mini" in str(caught.value)
