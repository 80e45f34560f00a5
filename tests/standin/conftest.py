"""Shared fixtures: the plugin's stand-in fixtures, httpx clients on it, an SSE parser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from aisa_core.standin import StandIn
from aisa_core.standin import pytest_plugin as _plugin

# The package's pytest11 entry point registers these when it is installed; defining them
# here makes the suite work from a plain checkout too (a conftest definition simply wins).
aisa_standin = _plugin.aisa_standin
aisa_standin_session = _plugin.aisa_standin_session

USER = {"role": "user", "content": "What is the weather in Paris?"}


def sse_payloads(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded except ``[DONE]``; asserts framing."""
    assert text.endswith("\n\n"), "an SSE body ends with a blank line"
    payloads: list[Any] = []
    for block in text.split("\n\n")[:-1]:
        lines = block.split("\n")
        assert len(lines) == 1, f"one field per event expected: {block!r}"
        line = lines[0]
        if line.startswith(":"):
            continue
        assert line.startswith("data: "), line
        data = line[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


@pytest.fixture
def parse_sse() -> Callable[[str], list[Any]]:
    return sse_payloads


@pytest.fixture
def standin(aisa_standin: StandIn) -> StandIn:
    return aisa_standin


@pytest.fixture(scope="session")
def session_client(aisa_standin_session: StandIn) -> Iterator[httpx.Client]:
    # One client for the session: building one costs ~40 ms (it loads CA certificates).
    headers = {"Authorization": f"Bearer {aisa_standin_session.api_key}"}
    base_url = aisa_standin_session.base_url
    with httpx.Client(base_url=base_url, headers=headers, timeout=5) as http:
        yield http


@pytest.fixture(scope="session")
def session_anon_client(aisa_standin_session: StandIn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=aisa_standin_session.base_url, timeout=5) as http:
        yield http


@pytest.fixture
def anon_client(standin: StandIn, session_anon_client: httpx.Client) -> httpx.Client:
    """An httpx client on the stand-in that sends no API key."""
    return session_anon_client


@pytest.fixture
def client(standin: StandIn, session_client: httpx.Client) -> httpx.Client:
    """An httpx client on the stand-in, which has been reset for this test."""
    return session_client


@pytest.fixture
async def aclient(standin: StandIn) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {standin.api_key}"}
    # Plain HTTP on loopback: verify=False only skips loading CA certificates.
    async with httpx.AsyncClient(
        base_url=standin.base_url, headers=headers, timeout=5, verify=False
    ) as http:
        yield http
