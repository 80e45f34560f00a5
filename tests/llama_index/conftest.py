"""Fixtures: ``AISA`` on a scripted MockTransport gateway, and ``AISA`` on the stand-in gateway
(a real server on a loopback socket, from the ``aisa_standin`` plugin fixture)."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from aisa_core.standin import StandIn
from llama_index_aisa import AISA
from tests.llama_index.helpers import BASE, KEY, Gateway

MakeLLM = Callable[..., AISA]


@pytest.fixture(autouse=True)
def _close_llama_index_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """LlamaIndex's sync helpers (``asyncio_run``, e.g. in ``PromptHelper`` token estimates)
    create an event loop on the main thread and leave it open; close it after sync tests so
    it is not reported as a leak in whichever test happens to collect it."""
    yield
    if inspect.iscoroutinefunction(request.function):
        return  # pytest-asyncio owns the loop of async tests
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return  # no loop was left behind
    if not loop.is_running():
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture
def make_llm(gateway: Gateway) -> Iterator[MakeLLM]:
    """``AISA`` whose sync and async calls both go to ``gateway``; retries do not sleep."""
    made: list[httpx.Client] = []

    def make(model: str = "gpt-4.1", **kwargs: Any) -> AISA:
        transport = httpx.MockTransport(gateway)
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("http_client", httpx.Client(transport=transport))
        kwargs.setdefault("async_http_client", httpx.AsyncClient(transport=transport))
        made.append(kwargs["http_client"])
        llm = AISA(model, **kwargs)
        _no_sleep(llm)
        return llm

    yield make
    for http in made:
        http.close()


def _no_sleep(llm: AISA) -> None:
    async def asleep(_: float) -> None:
        return None

    llm.client._sleep = lambda _: None
    llm.async_client._sleep = asleep


@pytest.fixture
def standin(aisa_standin: StandIn) -> StandIn:
    return aisa_standin


@pytest.fixture
def standin_llm(standin: StandIn) -> Iterator[MakeLLM]:
    """``AISA`` on the stand-in over a real socket, with its own (closed afterwards) pools."""
    made: list[AISA] = []

    def make(model: str = "gpt-4.1", **kwargs: Any) -> AISA:
        kwargs.setdefault("max_retries", 0)
        llm = AISA(model, api_key=standin.api_key, base_url=standin.base_url, **kwargs)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


@pytest.fixture
async def astandin_llm(standin: StandIn) -> AsyncIterator[MakeLLM]:
    """Like ``standin_llm`` for async tests: the async pools are closed on the test's loop."""
    made: list[AISA] = []

    def make(model: str = "gpt-4.1", **kwargs: Any) -> AISA:
        kwargs.setdefault("max_retries", 0)
        llm = AISA(model, api_key=standin.api_key, base_url=standin.base_url, **kwargs)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()
        llm.close()
