"""Blocking HTTP through an ``httpx.Client`` (ours or the caller's), every read bounded.

Deadlines: httpx times each socket read on its own, so a server that drips its headers or an
event one byte at a time would never time out. Our connections run on a network backend that
cuts every socket wait short at the deadline of the read in progress (kept per thread), so the
total timeout covers the headers too and a stream is bounded by the time between its events.

Nothing here takes a lock from a finaliser: while the garbage collector runs on this thread, a
close hands its response to ``graveyard.GRAVEYARD`` and the next call closes it in ordinary
code (httpcore closes under its pool lock, which the collector may interrupt on this very
thread); see ``graveyard``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from aisa_core.config import Timeouts
from aisa_core.protocol.wire import Reply, Request, reads_whole

from .boundary import map_transport_errors
from .graveyard import GRAVEYARD, bury, close_buried, collecting, keep, let_go
from .reading import Budget, Decoder, deadline_after

__all__ = ["GRAVEYARD", "SyncBody", "SyncHTTP", "bury", "close_buried", "to_httpx_timeout"]

LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100)

_local = threading.local()
"""``deadline``: when the read in progress on this thread must end (``time.monotonic()``)."""


def to_httpx_timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


class _until:  # noqa: N801 - used as a context manager, like contextlib's
    """Reads on this thread must end by ``deadline`` while inside."""

    __slots__ = ("_deadline", "_previous")

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline

    def __enter__(self) -> None:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self._deadline

    def __exit__(self, *exc: object) -> None:
        _local.deadline = self._previous


def _check_deadline() -> None:
    """A stream that keeps sending but never completes an event stops here."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() >= deadline:
        raise TimeoutError("no complete event within the read timeout")


def build_request(
    client: httpx.Client | httpx.AsyncClient | None, request: Request, default: httpx.Timeout
) -> httpx.Request:
    """Our ``Request`` as httpx's. On a caller's ``client`` its defaults (headers, cookies,
    base settings) apply; on ours (``None``) there are none to merge, so the request is built
    directly, skipping httpx's per-request merging."""
    timeout = default if request.timeouts is None else to_httpx_timeout(request.timeouts)
    if client is not None:
        return client.build_request(
            request.method,
            request.url,
            content=request.body,
            headers=request.headers,
            timeout=timeout,
        )
    return httpx.Request(
        request.method,
        request.url,
        content=request.body,
        headers=request.headers,
        extensions={"timeout": timeout.as_dict()},
    )


def headers_of(response: httpx.Response) -> dict[str, str]:
    """Lower-case names to values, from the raw header list (httpx's own mapping re-detects
    its encoding on every lookup)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw}


def _pieces(raw: Iterable[bytes], decoder: Decoder) -> Iterator[bytes]:
    for data in raw:
        yield from decoder.pieces(data)
    yield from decoder.flush()


def raw_body(
    response: httpx.Response, headers: dict[str, str]
) -> tuple[Iterator[bytes], str | None]:
    """The body as it came off the wire, and its ``Content-Encoding``. A response built in
    memory (a ``MockTransport``'s) was read, and so decoded, when it was made."""
    if response.is_stream_consumed:
        return iter((response.content,)), None
    return response.iter_raw(), headers.get("content-encoding")


class SyncBody:
    """The open body of an event stream: decoded pieces, one ``read`` at a time."""

    __slots__ = ("_deadline", "_length", "_model", "_pieces", "_raw", "_read_timeout", "_response")

    def __init__(
        self,
        response: httpx.Response,
        headers: dict[str, str],
        model: str,
        read: float,
        deadline: float,
    ) -> None:
        self._response = response
        self._model = model
        self._read_timeout = read
        self._deadline = deadline
        self._length = headers.get("content-length")
        self._raw, encoding = raw_body(response, headers)
        self._pieces = _pieces(self._raw, Decoder(encoding, model=model))

    def read(self, *, fresh: bool, streaming: bool) -> bytes:
        """The next decoded piece (``b""`` at the end). ``fresh``: an event has just completed,
        so the next one has a whole read timeout to arrive."""
        if fresh:
            self._deadline = time.monotonic() + self._read_timeout
        with map_transport_errors(model=self._model, streaming=streaming), _until(self._deadline):
            _check_deadline()
            return next(self._pieces, b"")

    def read_all(self, deadline: float | None) -> bytes:
        budget = Budget(self._model, deadline, self._length)
        with map_transport_errors(model=self._model), _until(deadline):
            for piece in self._pieces:
                budget.add(piece)
        return budget.body()

    def close(self, *, drain: bool = False) -> None:
        """Close the body; ``drain`` first reads what follows ``[DONE]`` (a little, quickly) so
        the connection goes back to the pool instead of being dropped. From a finaliser run by
        the garbage collector, only hand it (all of it: httpcore's own iterator closes under
        the pool lock when it is let go of) to the graveyard."""
        if collecting():
            bury(self)
            return
        try:
            if drain:
                with contextlib.suppress(Exception), _until(time.monotonic() + 1.0):
                    seen = 0
                    for data in self._raw:
                        seen += len(data)
                        if seen > 65_536:
                            break
            self._response.close()
        finally:
            let_go(self)


class SyncHTTP:
    """Sends ``Request``s on one pooled ``httpx.Client`` per process (made on first use)."""

    def __init__(
        self,
        timeouts: Timeouts,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        self._timeouts = timeouts
        self._default_timeout = to_httpx_timeout(timeouts)
        if client is not None:  # its connections meet our deadlines too (only inside our calls)
            from .deadlines import with_deadlines

            client = with_deadlines(client)
        self._client = client
        self._owns = client is None
        self._transport = transport
        self._trust_env = trust_env
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @property
    def client(self) -> httpx.Client:
        client = self._client
        if client is None or self._pid != os.getpid():
            with self._lock:  # two threads' first calls must share one pool
                if self._pid != os.getpid() and self._owns:
                    self._client, self._pid = None, os.getpid()  # a forked child: a new pool
                if self._client is None:
                    from .deadlines import with_deadlines  # loads httpcore: on first use

                    self._client = with_deadlines(
                        httpx.Client(
                            timeout=self._default_timeout,
                            limits=LIMITS,
                            transport=self._transport,
                            follow_redirects=False,
                            trust_env=self._trust_env,
                        )
                    )
                    keep(self._client)
                client = self._client
        return client

    @property
    def made(self) -> bool:
        return self._client is not None

    def _send(self, request: Request) -> httpx.Response:
        client = self.client
        built = build_request(None if self._owns else client, request, self._default_timeout)
        return client.send(built, stream=True)

    def send(self, request: Request, model: str) -> Reply:
        """Send and read the whole answer, bounded in size and by the total timeout (which
        starts before the headers)."""
        close_buried()
        t = request.timeouts or self._timeouts
        deadline = deadline_after(t.total)
        with map_transport_errors(model=model), _until(deadline):
            response = self._send(request)
        headers = headers_of(response)
        try:
            body = SyncBody(response, headers, model, t.read, 0.0).read_all(deadline)
        finally:
            response.close()
        return Reply(response.status_code, headers, body)

    def open(self, request: Request, model: str) -> tuple[Reply, SyncBody | None]:
        """Send a stream request. An event stream stays open (its headers and first event due
        within the read timeout); an error or JSON answer is read whole, bounded."""
        close_buried()
        t = request.timeouts or self._timeouts
        total = deadline_after(t.total)
        deadline = time.monotonic() + t.read
        with map_transport_errors(model=model), _until(deadline):
            response = self._send(request)
        reply = Reply(response.status_code, headers_of(response))
        body = SyncBody(response, dict(reply.headers), model, t.read, deadline)
        if not reads_whole(reply):
            keep(body)  # until closed: see ``graveyard.KEPT``
            return reply, body
        try:
            reply.body = body.read_all(total)
        finally:
            response.close()
        return reply, None

    def close(self) -> None:
        """Close our pool (a caller's client stays open); during a garbage collection (a
        dropped client's finaliser) it goes to the graveyard instead."""
        close_buried()  # (nothing while a collection runs)
        client = self._client
        if client is None or not self._owns:
            return
        self._client = None
        if collecting():
            bury(client)
        else:
            client.close()
            let_go(client)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._owns:
            state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._pid = os.getpid()
