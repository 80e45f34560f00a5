from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.core.helpers import KEY, Recorder

if TYPE_CHECKING:
    from aisa_core import AISAClient, AsyncAISAClient
    from aisa_core.standin import StandIn


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(recorder: Recorder) -> Iterator[Callable[..., Any]]:
    from aisa_core import AISAClient

    made: list[AISAClient] = []

    def make(**kwargs: Any) -> AISAClient:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", "https://api.aisa.one/v1")
        kwargs.setdefault("model", "gpt-4.1")
        client = AISAClient(transport=httpx.MockTransport(recorder), **kwargs)
        client._sleep = recorder.sleeps.append  # record waits instead of sleeping
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(aisa_standin: StandIn) -> Iterator[AISAClient]:
    """The core client on the stand-in gateway (a real loopback socket); retries do not sleep."""
    from aisa_core import AISAClient

    c = AISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, model="gpt-4.1", timeout=5
    )
    c._sleep = lambda s: None
    yield c
    c.close()


@pytest.fixture
async def aclient(aisa_standin: StandIn) -> AsyncIterator[AsyncAISAClient]:
    from aisa_core import AsyncAISAClient

    c = AsyncAISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, model="gpt-4.1", timeout=5
    )

    async def no_sleep(s: float) -> None:
        return None

    c._sleep = no_sleep
    yield c
    await c.aclose()
