"""A tiny HTTP/1.1 server on a loopback socket, for behaviour no polite server shows: headers
dripped a byte at a time, bodies that never end, close-delimited streams, gzip bombs.

Each connection runs on its own thread and reads requests in turn; for each request the test's
``handler(conn, request)`` writes whatever bytes it likes and returns ``True`` to keep the
connection open for the next request. Works for the sync and the async clients alike (the server
never shares their event loop).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conn", "RawRequest", "RawServer", "event", "head"]


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Conn:
    sock: socket.socket
    number: int  # the 1-based order in which the server accepted this connection
    buffer: bytes = b""
    stopped: threading.Event = field(default_factory=threading.Event)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, every: float, *, limit: float = 30.0) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart, until done, the client
        goes away, the server stops or ``limit`` seconds pass."""
        ends = time.monotonic() + limit
        for i in range(len(data)):
            if self.stopped.wait(every) or time.monotonic() > ends:
                return
            try:
                self.sock.sendall(data[i : i + 1])
            except OSError:
                return

    def read_request(self) -> RawRequest | None:
        while b"\r\n\r\n" not in self.buffer:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        head_bytes, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head_bytes.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawRequest(method, path, headers, body)

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""


Handler = Callable[[Conn, RawRequest], bool]


class RawServer:
    """``with RawServer(handler) as server:`` then ``server.base_url``. ``connections`` counts
    the connections accepted, ``ended`` those closed since, and ``requests`` holds every
    request read, in order."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self.ended = 0  # connections the client closed (or the handler ended)
        self.requests: list[RawRequest] = []
        self._conns: list[Conn] = []
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._owner = os.getpid()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        if os.getpid() != self._owner:  # a forked child leaves the server to its parent
            return
        self._stopped.set()
        _shut(self._listener)  # shutdown() wakes the thread blocked in accept()
        for conn in list(self._conns):
            conn.stopped.set()
            _shut(conn.sock)
        for thread in self._threads:
            thread.join(timeout=10)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                conn = Conn(sock, self.connections, stopped=self._stopped)
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: Conn) -> None:
        try:
            while (request := conn.read_request()) is not None:
                with self._lock:
                    self.requests.append(request)
                if not self._handler(conn, request):
                    break
        except OSError:
            pass
        finally:
            _shut(conn.sock)
            with self._lock:
                self.ended += 1

    def wait_ended(self, count: int, timeout: float = 10.0) -> bool:
        """Whether ``count`` connections have ended, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.ended < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.ended >= count


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def head(
    status: int = 200,
    *,
    content_type: str = "text/event-stream",
    length: int | None = None,
    version: str = "HTTP/1.1",
    **headers: str,
) -> bytes:
    """A response head; without ``length`` the body is close-delimited (and the connection says
    so), as an HTTP/1.0 server or one sending ``Connection: close`` would."""
    lines = [f"{version} {status} X", f"Content-Type: {content_type}"]
    if length is None:
        lines.append("Connection: close")
    else:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def event(data: Any) -> bytes:
    """One SSE frame: a dict as JSON, a string as it is."""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()


# --- the client surfaces a test drives against a server ----------------------------------------

SYNC_MODES = ("sync", "sync-injected")
ASYNC_MODES = ("aiohttp", "httpx", "httpx-injected")
MODES = SYNC_MODES + ASYNC_MODES
"""``sync``: ``AISAClient`` on its own pool; ``sync-injected``: on a caller's ``httpx.Client``;
``aiohttp``: ``AsyncAISAClient`` by default; ``httpx``: with ``prefer_aiohttp=False``;
``httpx-injected``: on a caller's ``httpx.AsyncHTTPTransport``."""


def stream_texts(mode: str, base_url: str, **settings: Any) -> tuple[list[str], Exception | None]:
    """Stream one answer on ``mode``: the texts that reached the caller, and the error (if any)
    that ended the stream."""
    return _run(mode, base_url, settings, _stream_sync, _stream_async)


def chat(mode: str, base_url: str, **settings: Any) -> tuple[list[str], Exception | None]:
    """One non-streamed call on ``mode``: ``([text], None)`` or ``([], error)``."""
    return _run(mode, base_url, settings, _chat_sync, _chat_async)


def _run(
    mode: str, base_url: str, settings: dict[str, Any], sync: Any, aio: Any
) -> tuple[list[str], Exception | None]:
    import asyncio

    import httpx

    from aisa_core import AISAClient, AsyncAISAClient

    settings = {"api_key": "sk-raw-server-test", "model": "m", "max_retries": 0, **settings}
    texts: list[str] = []
    if mode in SYNC_MODES:
        http = httpx.Client() if mode == "sync-injected" else None
        client = AISAClient(base_url=base_url, http_client=http, **settings)
        try:
            return texts, sync(client, texts)
        finally:
            client.close()
            if http is not None:
                http.close()

    async def main() -> Exception | None:
        extra: dict[str, Any] = {
            "aiohttp": {},
            "httpx": {"prefer_aiohttp": False},
            "httpx-injected": {"transport": httpx.AsyncHTTPTransport()},
        }[mode]
        client = AsyncAISAClient(base_url=base_url, **extra, **settings)
        try:
            return await aio(client, texts)
        finally:
            await client.aclose()
            if "transport" in extra:
                await extra["transport"].aclose()

    return texts, asyncio.run(main())


def _stream_sync(client: Any, texts: list[str]) -> Exception | None:
    try:
        with client.stream("hi") as stream:
            for piece in stream:
                texts.append(piece.text)
    except Exception as error:
        return error
    return None


async def _stream_async(client: Any, texts: list[str]) -> Exception | None:
    try:
        async with client.stream("hi") as stream:
            async for piece in stream:
                texts.append(piece.text)
    except Exception as error:
        return error
    return None


def _chat_sync(client: Any, texts: list[str]) -> Exception | None:
    try:
        texts.append(client.chat("hi").text)
    except Exception as error:
        return error
    return None


async def _chat_async(client: Any, texts: list[str]) -> Exception | None:
    try:
        texts.append((await client.chat("hi")).text)
    except Exception as error:
        return error
    return None
