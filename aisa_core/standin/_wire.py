"""ASGI plumbing: reading requests and writing replies, with faults applied on the way out.

Faults that corrupt or cut a body live here, at the last step, so every route gets them
for free. Without a fault a reply is written in as few ``send`` calls as possible (one
for a whole SSE stream): the benchmark drives thousands of requests through this path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ._answers import StreamParts, dumps
from ._faults import Fault

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
SSE = b"text/event-stream"


class DeliberateDropError(Exception):
    """Raised after a partial body so the server closes the connection (a fault asked for it).

    ASGI has no "abort" message; an exception after the response started is how a
    server is told to cut the connection. The stand-in's server silences its log record.
    """


@dataclass
class Reply:
    status: int
    content_type: bytes
    body: bytes = b""
    stream: StreamParts | None = None
    fault: Fault | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def header_dict(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def seconds(value: float) -> bytes:
    """A ``Retry-After`` value: whole seconds as an integer, otherwise as given."""
    return str(int(value) if value == int(value) else value).encode()


def inband_error(fault: Fault) -> bytes:
    """The ``{"error": {...}}`` object a 200 answer carries instead of ``choices``."""
    error_type, code, message = fault.stream_error()
    return dumps({"error": {"message": message, "type": error_type, "code": code}}).encode()


def _halved(data: bytes) -> bytes:
    return data[: max(1, len(data) // 2)]


def _broken_event(parts: StreamParts) -> bytes:
    """A ``data:`` line whose JSON is cut in half (but still one well-framed SSE event)."""
    source = parts.body[0] if parts.body else parts.tail.split(b"\n\n", 1)[0]
    line = source.rstrip(b"\n")
    return line[: max(8, len(line) // 2)] + b"\n\n"


async def send_reply(send: Send, receive: Receive, reply: Reply, request_id: bytes) -> None:
    fault = reply.fault
    if fault is not None and fault.delay > 0:
        await asyncio.sleep(fault.delay)
    headers = [(b"content-type", reply.content_type), (b"x-request-id", request_id)]
    headers += reply.headers
    if reply.stream is None:
        await _send_body(send, reply.status, reply.body, headers, fault)
    else:
        await _send_stream(send, receive, reply.stream, headers, fault)


async def _send_body(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], fault: Fault | None
) -> None:
    drop = False
    if fault is not None and status == 200:
        if fault.malformed:
            body = _halved(body)
        elif fault.error_after_chunks is not None:
            body = inband_error(fault)
        elif fault.drop_after_chunks is not None:
            drop = True
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if drop:
        await send({"type": "http.response.body", "body": _halved(body), "more_body": True})
        raise DeliberateDropError("connection dropped before the body was complete")
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_stream(
    send: Send,
    receive: Receive,
    parts: StreamParts,
    headers: list[tuple[bytes, bytes]],
    fault: Fault | None,
) -> None:
    headers.append((b"cache-control", b"no-cache"))
    events = [parts.head]
    drop = False
    if fault is None:
        events += parts.body
        events.append(parts.tail)
    elif fault.malformed:
        events.append(_broken_event(parts))
        events += parts.body
        events.append(parts.tail)
    elif fault.error_after_chunks is not None:
        events += parts.body[: fault.error_after_chunks]
        events.append(b"data: " + inband_error(fault) + b"\n\n")
    elif fault.drop_after_chunks is not None:
        events += parts.body[: fault.drop_after_chunks]
        drop = True
    else:
        events += parts.body
        events.append(parts.tail)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    pause = fault.chunk_delay if fault is not None else 0.0
    if pause <= 0:
        await send({"type": "http.response.body", "body": b"".join(events), "more_body": drop})
    elif not await _trickle(send, receive, events, pause, finish=not drop):
        return  # the client went away; nothing left to cut
    if drop:
        raise DeliberateDropError("connection dropped mid-stream")


async def _trickle(
    send: Send, receive: Receive, events: list[bytes], pause: float, *, finish: bool
) -> bool:
    """Send events ``pause`` seconds apart; False if the client disconnected meanwhile."""
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        for index, event in enumerate(events):
            if index:
                await asyncio.wait({gone}, timeout=pause)
            if gone.done():
                return False
            await send({"type": "http.response.body", "body": event, "more_body": True})
        if finish:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True
    finally:
        gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
