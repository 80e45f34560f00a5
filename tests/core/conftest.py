from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.core.helpers import KEY, Recorder


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
