"""Streams let go of without ``close()`` (issue 10, item 2): ``for chunk in client.stream(...):
break`` must never deadlock, form no reference cycle, and give back its connection and its
rate-limit slot.

The deadlock seen in the audit: a stream caught in a reference cycle is finalised by the cyclic
garbage collector, which may run while httpcore holds its pool lock on the same thread; a
finaliser that closes the response waits for that lock forever. ``ReentryTrap`` replaces the
pool's lock with one that runs the collector each time it is taken, and reports (instead of
hanging) when the thread that holds it asks for it again.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, RateLimiter
from aisa_core.standin import StandIn
from aisa_core.transport import graveyard
from tests.core.helpers import KEY, chunk, sse

LONG = "one two three four five six seven eight nine ten " * 20


class ReentryTrap:
    """httpcore's pool lock, with the garbage collector run while it is held."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._owner: int | None = None
        self.collections = 0
        self.reentries = 0

    def __enter__(self) -> ReentryTrap:
        me = threading.get_ident()
        if self._owner == me:  # the real lock would wait here forever
            self.reentries += 1
            raise RuntimeError("deadlock: the pool lock was asked for by the thread holding it")
        self._inner.__enter__()
        self._owner = me
        self.collections += 1
        gc.collect()  # what the collector may do at any allocation inside the pool
        return self

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._inner.__exit__(*exc)


def trap_pool(client: AISAClient) -> tuple[ReentryTrap, Any]:
    client.chat("warm up")  # the pool exists from the first call
    pool = client.http._transport._pool  # type: ignore[attr-defined]
    trap = ReentryTrap(pool._optional_thread_lock)
    pool._optional_thread_lock = trap
    return trap, pool


def in_a_cycle(thing: Any) -> None:
    """Let go of ``thing`` so that only the cyclic collector can free it."""
    loop: list[Any] = [thing]
    loop.append(loop)


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()`` on a thread; a deadlock fails the test instead of hanging it."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still blocked after {seconds} s: a deadlock")
    return out[0] if out else None


@pytest.fixture
def standin_client(aisa_standin: StandIn) -> Iterator[Callable[..., AISAClient]]:
    made: list[AISAClient] = []

    def make(**settings: Any) -> AISAClient:
        aisa_standin.reset()
        client = AISAClient(
            api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, **settings
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_streams_finalised_inside_the_pool_lock_never_deadlock(
    standin_client: Callable[..., AISAClient], aisa_standin: StandIn
) -> None:
    limiter = RateLimiter(None, max_concurrent=2)
    client = standin_client(model="gpt-4.1", rate_limiter=limiter)
    trap, pool = trap_pool(client)

    def drop_many() -> None:
        for _ in range(60):
            aisa_standin.enqueue_text(LONG)
            stream = client.stream("hi")
            next(stream)
            in_a_cycle(stream)  # the collector will finalise it inside the next request
            del stream

    within(60, drop_many)
    assert within(30, lambda: client.chat("after").text)
    assert trap.reentries == 0 and trap.collections >= 60
    assert limiter.in_flight == 0
    assert len(pool.connections) <= 2, "every dropped stream's connection was closed"


def test_a_generator_wrapping_a_stream_is_as_safe(
    standin_client: Callable[..., AISAClient], aisa_standin: StandIn
) -> None:
    """The adapters (and many callers) wrap a stream in a generator that closes it in its
    ``finally``; that ``finally`` runs in the collector too when the generator is dropped in a
    cycle."""
    client = standin_client(model="gpt-4.1")
    trap, pool = trap_pool(client)

    def texts() -> Iterator[str]:
        with client.stream("hi") as stream:
            for piece in stream:
                yield piece.text

    def drop_many() -> None:
        for _ in range(30):
            aisa_standin.enqueue_text(LONG)
            gen = texts()
            next(gen)
            in_a_cycle(gen)
            del gen

    within(60, drop_many)
    within(30, lambda: client.chat("after"))
    assert trap.reentries == 0 and len(pool.connections) <= 2


class Body(httpx.SyncByteStream):
    """A streamed body (an in-memory one is read, and closed, as soon as it is made)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data


def _script(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Response]]:
    sent: list[httpx.Response] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(queue.pop(0))
        return sent[-1]

    return httpx.MockTransport(handler), sent


def _streamed(n: int = 20) -> httpx.Response:
    body = Body(sse(*(chunk(str(i)) for i in range(n))))
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)


FAILED = httpx.Response(500, json={"error": {"message": "busy", "code": "upstream_unavailable"}})


def closed(response: httpx.Response) -> bool:
    return response.is_closed


OURS = (
    "ChatStream",
    "_IO",
    "Driver",
    "StreamState",
    "ChunkReader",
    "AttemptPlan",
    "SyncBody",
    "Chat",
)


def ours(garbage: list[Any]) -> list[Any]:
    """What of one stream's own machinery is in ``garbage`` (its generators included)."""
    found = [o for o in garbage if type(o).__name__ in OURS]
    code = [getattr(o, "gi_code", None) for o in garbage]
    return found + [c.co_name for c in code if c and "aisa_core" in c.co_filename]


@pytest.mark.parametrize("retried", [False, True], ids=["first-try", "after-a-retry"])
def test_a_dropped_stream_is_freed_at_once_without_the_collector(retried: bool) -> None:
    """No reference cycle: with the collector off, letting go of the stream frees it (and the
    generator inside it), closes its response and gives back its slot, right there."""
    responses = (FAILED, _streamed()) if retried else (_streamed(),)
    transport, sent = _script(*responses)
    limiter = RateLimiter(None, max_concurrent=1)
    client = AISAClient(api_key=KEY, model="m", transport=transport, rate_limiter=limiter)
    client._sleep = lambda _: None
    gc.disable()
    gc.collect()  # from here, only garbage this test makes
    try:
        stream = client.stream("hi")
        assert next(stream).text == "0"
        stream_ref, gen_ref = weakref.ref(stream), weakref.ref(stream._driver._gen)
        del stream
        assert stream_ref() is None and gen_ref() is None
        assert closed(sent[-1]) and limiter.in_flight == 0
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        assert ours(gc.garbage) == [], "the stream's objects were left in reference cycles"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        client.close()


def test_a_stream_dropped_in_a_cycle_gives_its_slot_back_at_the_next_call() -> None:
    transport, sent = _script(_streamed(), _streamed())
    limiter = RateLimiter(None, max_concurrent=1)
    client = AISAClient(api_key=KEY, model="m", transport=transport, rate_limiter=limiter)
    stream = client.stream("hi")
    next(stream)
    in_a_cycle(stream)
    del stream
    gc.collect()  # finalised by the collector: closing waits for ordinary code
    assert limiter.in_flight == 1 and not closed(sent[0]) and graveyard.GRAVEYARD
    assert within(30, lambda: client.stream("again").completion().text)  # not blocked
    assert closed(sent[0]) and limiter.in_flight == 0


@pytest.mark.parametrize("mode", ["aiohttp", "httpx", "httpx-injected"])
async def test_a_dropped_async_stream_gives_back_its_connection_and_slot(
    mode: str, aisa_standin: StandIn
) -> None:
    extra: dict[str, Any] = {
        "aiohttp": {},
        "httpx": {"prefer_aiohttp": False},
        "httpx-injected": {"transport": httpx.AsyncHTTPTransport()},
    }[mode]
    limiter = RateLimiter(None, max_concurrent=1)
    client = AsyncAISAClient(
        api_key=aisa_standin.api_key,
        base_url=aisa_standin.base_url,
        model="gpt-4.1",
        rate_limiter=limiter,
        **extra,
    )
    try:
        for cycle in (False, True, False, True):
            aisa_standin.enqueue_text(LONG)
            stream = client.stream("hi")
            async for _ in stream:
                break
            ref = weakref.ref(stream)
            if cycle:
                in_a_cycle(stream)
                del stream
                gc.collect()
            else:  # no cycle of ours: freed on the spot, the collector off
                gc.disable()
                try:
                    del stream
                    assert ref() is None
                finally:
                    gc.enable()
            assert ref() is None
            for _ in range(20):  # the close runs on the loop, soon after
                if limiter.in_flight == 0:
                    break
                await asyncio.sleep(0.01)
            assert limiter.in_flight == 0
        answer = await asyncio.wait_for(client.chat("after"), 30)
        assert answer.text
    finally:
        await client.aclose()
        if "transport" in extra:
            await extra["transport"].aclose()


def test_nothing_is_closed_while_the_collector_runs(aisa_standin: StandIn) -> None:
    """Finalisers (a dropped client's ``__del__`` included) only hand things to the graveyard;
    ordinary code closes them afterwards."""
    closes: list[bool] = []

    class Probe:
        def close(self) -> None:
            closes.append(graveyard.collecting())

    client = AISAClient(api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, model="m")
    client.chat("make the pool")
    pool = client.http

    class Finaliser:
        def __del__(self) -> None:
            graveyard.close_buried()  # must do nothing here
            client.close()  # must not close the pool here

    graveyard.bury(Probe())
    in_a_cycle(Finaliser())
    gc.collect()
    assert closes == [] and not pool.is_closed
    graveyard.close_buried()
    assert closes == [False] and pool.is_closed
