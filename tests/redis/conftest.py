"""A real ``redis-server`` for the session (``redis_server``), flushed for every test
(``redis_url``), and stores on it that are closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from aisa_core.stores import RedisStore
from tests.redis.server import RedisServer


@pytest.fixture(autouse=True)
def _warn_afresh() -> None:
    """Each test sees the store's first "Redis is away" warning (one a minute per server)."""
    from aisa_core.stores import redis as module

    module._WARNED.clear()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    made = RedisStore(redis_url)
    yield made
    made.close()


@pytest.fixture
async def astore(redis_url: str) -> AsyncIterator[RedisStore]:
    made = RedisStore(redis_url)
    yield made
    await made.aclose()
    made.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[object]:
    """A plain client, to look at what the store wrote."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        yield client
