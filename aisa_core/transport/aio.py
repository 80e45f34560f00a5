"""Asyncio HTTP, every read bounded in bytes and time: on our own aiohttp pool (the default) or
on an ``httpx.AsyncClient`` (when the caller passes one, or a transport, or asks for it).

Why aiohttp: httpx's own async pool tops out near 550 calls/s with 100 requests in flight on
loopback, while an aiohttp pool driven directly does several times that (see ``bench/``). The
aiohttp path skips httpx's per-request machinery entirely (cookie jar, auth flow, redirect loop,
URL merging); an injected ``httpx.AsyncClient`` keeps all of it, event hooks included.

Pools belong to one event loop and one process (``loops.LoopPools``): a client used from a
second ``asyncio.run`` or in a forked child gets a fresh pool, and each pool is closed on its own
loop when that loop ends, so nothing leaks and no socket is shared across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import httpx

from aisa_core.config import Timeouts
from aisa_core.errors import APITimeoutError
from aisa_core.protocol.wire import Reply, Request, reads_whole

from .boundary import map_transport_errors
from .loops import LoopPools
from .reading import Budget, Decoder, deadline_after
from .sync import build_request, headers_of, to_httpx_timeout

__all__ = ["AiohttpHTTP", "AsyncBody", "AsyncHTTP", "HttpxAsyncHTTP", "has_aiohttp"]

T = TypeVar("T")

HTTPX_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=20)
"""For our httpx pool: httpcore checks every idle kept-alive connection (a ``poll`` each) for
every request it places, so keeping 100 alive (as the sync pool does) halves its throughput at
100 requests in flight; 20 is httpx's own default (see ``bench/``)."""


def has_aiohttp() -> bool:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


async def within(deadline: float | None, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, cut short at ``deadline`` (``time.monotonic()`` seconds)."""
    if deadline is None:
        return await awaitable
    left = deadline - time.monotonic()
    if left <= 0:
        if isinstance(awaitable, Awaitable) and hasattr(awaitable, "close"):
            awaitable.close()
        raise TimeoutError("the deadline for this read has passed")
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(left):
            return await awaitable
    return await asyncio.wait_for(awaitable, left)  # pragma: no cover - Python 3.10


class _Source(Protocol):
    async def __call__(self) -> bytes: ...


class AsyncBody:
    """The open body of an event stream: decoded pieces, one ``read`` at a time."""

    __slots__ = (
        "_close",
        "_deadline",
        "_decoder",
        "_ended",
        "_length",
        "_model",
        "_next",
        "_pending",
        "_read_timeout",
    )

    def __init__(
        self,
        next_raw: _Source,
        close: Callable[[], Awaitable[None]],
        headers: dict[str, str],
        model: str,
        read: float,
        deadline: float | None,
    ) -> None:
        self._next = next_raw
        self._close = close
        self._decoder = Decoder(headers.get("content-encoding"), model=model)
        self._length = headers.get("content-length")
        self._model = model
        self._read_timeout = read
        self._deadline = deadline
        self._pending: Iterator[bytes] = iter(())
        self._ended = False

    async def _piece(self) -> bytes:
        """The next decoded piece, decoding one piece at a time: a small compressed read may
        inflate to gigabytes, which are never held at once."""
        while not (piece := next(self._pending, b"")):
            if self._ended:
                return b""
            data = await within(self._deadline, self._next())
            if data:
                self._pending = self._decoder.pieces(data)
            else:
                self._ended = True
                self._pending = self._decoder.flush()
        return piece

    async def read(self, *, fresh: bool, streaming: bool) -> bytes:
        """The next decoded piece (``b""`` at the end); see ``SyncBody.read``."""
        if fresh:
            self._deadline = time.monotonic() + self._read_timeout
        with map_transport_errors(model=self._model, streaming=streaming):
            return await self._piece()

    async def read_all(self, deadline: float | None) -> bytes:
        budget = Budget(self._model, deadline, self._length)
        self._deadline = deadline
        with map_transport_errors(model=self._model):
            while piece := await self._piece():
                budget.add(piece)
        return budget.body()

    async def close(self, *, drain: bool = False) -> None:
        await self._close()


class AsyncHTTP(Protocol):
    """What the async client needs from its HTTP layer."""

    async def send(self, request: Request, model: str) -> Reply: ...

    async def open(self, request: Request, model: str) -> tuple[Reply, AsyncBody | None]: ...

    async def aclose(self) -> None: ...


class _Base:
    """``send`` and ``open`` on top of one ``_start`` per HTTP library."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts

    def __getstate__(self) -> dict[str, Any]:
        # Pools are per process and per event loop: a pickle (or a copy) carries the settings.
        return {k: v for k, v in self.__dict__.items() if k != "_pools"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pools = self._new_pools()

    def _new_pools(self) -> LoopPools[Any]:
        raise NotImplementedError

    async def _start(
        self, request: Request, model: str, t: Timeouts, deadline: float | None
    ) -> tuple[Reply, AsyncBody]:
        raise NotImplementedError

    async def send(self, request: Request, model: str) -> Reply:
        """Send and read the whole answer, bounded in size and by the total timeout (which
        starts before the headers: one timer for the whole exchange)."""
        t = request.timeouts or self._timeouts
        try:
            return await within(deadline_after(t.total), self._whole(request, model, t))
        except TimeoutError as exc:  # our timer (the transport's own are mapped inside)
            raise APITimeoutError(
                f"the answer took longer than the total timeout ({t.total} s) to arrive",
                model=model,
            ) from exc

    async def _whole(self, request: Request, model: str, t: Timeouts) -> Reply:
        reply, body = await self._start(request, model, t, None)
        try:
            reply.body = await body.read_all(None)
        finally:
            await body.close()
        return reply

    async def open(self, request: Request, model: str) -> tuple[Reply, AsyncBody | None]:
        """Send a stream request; see ``SyncHTTP.open``."""
        t = request.timeouts or self._timeouts
        total = deadline_after(t.total)
        reply, body = await self._start(request, model, t, time.monotonic() + t.read)
        if not reads_whole(reply):
            return reply, body
        try:
            reply.body = await body.read_all(total)
        finally:
            await body.close()
        return reply, None


class HttpxAsyncHTTP(_Base):
    """On an ``httpx.AsyncClient``: the caller's, or ours (one per event loop)."""

    def __init__(
        self,
        timeouts: Timeouts,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        super().__init__(timeouts)
        self._default_timeout = to_httpx_timeout(timeouts)
        self._given = client
        self._transport = transport
        self._trust_env = trust_env
        self._pools = self._new_pools()

    def _new_pools(self) -> LoopPools[httpx.AsyncClient]:
        make = functools.partial(
            httpx.AsyncClient,
            timeout=self._default_timeout,
            limits=HTTPX_LIMITS,
            transport=self._transport,
            follow_redirects=False,
            trust_env=self._trust_env,
        )
        return LoopPools(make, _aclose)

    @property
    def client(self) -> httpx.AsyncClient:
        """The caller's client, else ours for the running loop. On an injected transport, our
        per-loop client closes the transport's connections when its loop ends, so the
        transport serves the next loop with fresh ones."""
        return self._given if self._given is not None else self._pools.get()

    async def _start(
        self, request: Request, model: str, t: Timeouts, deadline: float | None
    ) -> tuple[Reply, AsyncBody]:
        client = self.client
        built = build_request(self._given, request, self._default_timeout)
        with map_transport_errors(model=model):
            response = await within(deadline, client.send(built, stream=True))
        headers = headers_of(response)
        if response.is_stream_consumed:  # built in memory (a mock): read, and so decoded
            raw: AsyncIterator[bytes] = _once(response.content)
            headers.pop("content-encoding", None)
        else:
            raw = response.aiter_raw()
        body = AsyncBody(lambda: anext(raw, b""), response.aclose, headers, model, t.read, deadline)
        return Reply(response.status_code, headers), body

    async def aclose(self) -> None:
        await self._pools.aclose()  # the caller's own client stays open


class AiohttpHTTP(_Base):
    """On our own aiohttp connection pool, one per event loop (and per process)."""

    def __init__(self, timeouts: Timeouts, *, limit: int = 200, proxy: str | None = None) -> None:
        super().__init__(timeouts)
        self._limit = limit
        self._proxy = proxy
        self._pools = self._new_pools()

    def _new_pools(self) -> LoopPools[Any]:
        return LoopPools(functools.partial(_session, self._limit), _aclose, _abandon)

    @property
    def sessions(self) -> list[Any]:
        return self._pools.all()

    async def _start(
        self, request: Request, model: str, t: Timeouts, deadline: float | None
    ) -> tuple[Reply, AsyncBody]:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.read)
        with map_transport_errors(model=model):
            response = await within(
                deadline,
                self._pools.get().request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.body,
                    timeout=timeout,
                    allow_redirects=False,
                    proxy=self._proxy,
                ),
            )
        headers = {k.lower(): v for k, v in response.headers.items()}

        async def close() -> None:
            response.release()

        body = AsyncBody(response.content.readany, close, headers, model, t.read, deadline)
        return Reply(response.status, headers), body

    async def aclose(self) -> None:
        await self._pools.aclose()


def _session(limit: int) -> Any:
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=30),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
        trust_env=False,  # no netrc, and proxies resolved once (``proxies.env_proxy``)
    )


async def _aclose(pool: Any) -> None:
    close = getattr(pool, "aclose", None) or pool.close  # httpx's client, aiohttp's session
    await close()


def _abandon(session: Any) -> None:
    """An aiohttp pool whose event loop is closed (without shutting down): nothing will ever
    run asyncio's callbacks for it, so its sockets are closed and let go of here (and the
    transports no longer warn that they were left open). Only for a closed loop: on a live
    one, ``abort()`` schedules a callback that still needs the socket."""
    connector = session.connector
    if connector is None or connector.closed:
        return
    for conns in list(getattr(connector, "_conns", {}).values()):
        for proto, _ in conns:
            transport = proto.transport
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.abort()  # unhooks what it can; its callback cannot be scheduled
                sock = getattr(transport, "_sock", None)  # asyncio's selector transports
                if sock is not None:
                    with contextlib.suppress(Exception):
                        sock.close()
                        transport._sock = None
    with contextlib.suppress(Exception):
        connector._close()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
