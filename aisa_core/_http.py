"""The only module that touches the HTTP stack: client factories, the fast async transport and
the one boundary that maps transport failures to our errors.

Why an aiohttp transport: httpx's own async connection pool tops out near 550 calls/s with 100
requests in flight on loopback, while httpx driving an aiohttp connection pool does ~3,300/s on
the same machine (see ``bench/``). We keep httpx's API (``httpx.AsyncClient``, events, mounts,
``MockTransport`` in tests) and swap only the transport, and only when aiohttp is installed
(``pip install 'aisa-llm[speed]'``). Sync calls use httpx's default transport, which is fast.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from .config import Timeouts
from .errors import AISAError, APIConnectionError, APITimeoutError, StreamInterruptedError

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "AiohttpTransport",
    "async_client",
    "default_async_transport",
    "has_aiohttp",
    "map_transport_errors",
    "sync_client",
]

DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100)


def to_httpx_timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def sync_client(timeouts: Timeouts, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """One pooled client per ``AISAClient``; redirects are never followed (they would carry the
    Authorization header to wherever they point)."""
    return httpx.Client(
        timeout=to_httpx_timeout(timeouts),
        limits=DEFAULT_LIMITS,
        transport=transport,
        follow_redirects=False,
        trust_env=True,
    )


def default_async_transport(prefer_aiohttp: bool = True) -> AiohttpTransport | None:
    """Our aiohttp-backed transport when aiohttp is installed (and wanted), else ``None``
    (httpx's own pool)."""
    return AiohttpTransport() if prefer_aiohttp and has_aiohttp() else None


def async_client(
    timeouts: Timeouts, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=to_httpx_timeout(timeouts),
        limits=DEFAULT_LIMITS,
        transport=transport,
        follow_redirects=False,
        trust_env=True,
    )


def fill_content(response: httpx.Response, body: bytes) -> None:
    """Give a streamed response the body we read ourselves (under a size and time bound), the
    way httpx's own ``read()`` does, instead of building a second response object."""
    response._content = body


def has_aiohttp() -> bool:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def map_transport_errors(*, model: str | None, streaming: bool = False) -> Iterator[None]:
    """Transport failures to ``APIConnectionError`` and subclasses, raised from the cause.

    ``streaming=True`` means tokens may already have reached the caller, so a broken
    connection is a ``StreamInterruptedError`` (not retryable, never a silent short answer).
    """
    try:
        yield
    except AISAError:
        raise
    except httpx.TimeoutException as exc:
        if streaming:
            raise StreamInterruptedError(
                f"stream stalled: no data within the read timeout ({type(exc).__name__})",
                model=model,
            ) from exc
        raise APITimeoutError(f"request timed out ({type(exc).__name__})", model=model) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        text = str(exc) or type(exc).__name__
        if streaming:
            raise StreamInterruptedError(f"stream broke off: {text}", model=model) from exc
        raise APIConnectionError(f"connection failed: {text}", model=model) from exc


class _AiohttpStream(httpx.AsyncByteStream):
    def __init__(self, response: Any) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _map_aiohttp_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx transport on an aiohttp connection pool; one pool per event loop.

    A client used from several event loops (``asyncio.run`` twice, test runners) gets a fresh
    pool for each loop; pools of finished loops are closed, so nothing leaks.
    """

    def __init__(self, *, limit: int = 200, verify: bool = True) -> None:
        self._limit = limit
        self._verify = verify
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        weakref.finalize(self, _close_all, self._sessions)

    def _session(self) -> Any:
        import asyncio

        import aiohttp

        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            _close_stale(self._sessions)
            connector = aiohttp.TCPConnector(
                limit=self._limit, ssl=self._verify, keepalive_timeout=30
            )
            session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
            self._sessions[loop] = session
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        with _map_aiohttp_errors():
            response = await self._session().request(
                request.method,
                str(request.url),
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
                compress=None,
            )
        return httpx.Response(
            status_code=response.status,
            headers=[(k, v) for k, v in response.raw_headers],
            stream=_AiohttpStream(response),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        import asyncio

        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            session = self._sessions.pop(loop, None)
            if session is not None:
                await session.close()
        _close_all(self._sessions)


def _close_stale(sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]) -> None:
    for loop in [loop for loop in sessions if loop.is_closed()]:
        _force_close(sessions.pop(loop))


def _close_all(sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]) -> None:
    for loop in list(sessions):
        _force_close(sessions.pop(loop))


def _force_close(session: Any) -> None:
    """Close a pool without awaiting (its loop may be gone): drop its sockets synchronously."""
    connector = session.connector
    if connector is None or connector.closed:
        return
    for conns in list(getattr(connector, "_conns", {}).values()):
        for proto, _ in conns:
            transport = proto.transport
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.abort()  # works while the loop is alive
                _drop_socket(transport)
    with contextlib.suppress(Exception):
        connector._close()


def _drop_socket(transport: Any) -> None:
    """On a closed loop ``abort()`` cannot run; close the socket itself so nothing leaks.

    asyncio's public ``get_extra_info("socket")`` is a wrapper without ``close()``, so this
    reaches the selector transport's own socket (present on CPython 3.10 to 3.13)."""
    sock = getattr(transport, "_sock", None)
    if sock is not None:
        with contextlib.suppress(Exception):
            sock.close()
        with contextlib.suppress(Exception):
            transport._sock = None


@contextlib.contextmanager
def _map_aiohttp_errors() -> Iterator[None]:
    """aiohttp's failures as the httpx exceptions the rest of the client understands."""
    import asyncio

    import aiohttp

    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timeout") from exc
    except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "read timeout") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
