"""Server-sent events: bytes in, events out. Pure and incremental.

Lines end only at ``\\r\\n``, ``\\r`` or ``\\n`` (the SSE spec), split on bytes before decoding,
so token text holding U+2028 or U+0085 stays whole (``str.splitlines`` would cut it). A ``\\r``
at the end of one network read may be the first half of ``\\r\\n``; we hold it until the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from aisa_core.errors import MalformedResponseError

__all__ = ["MAX_LINE_BYTES", "SSEDecoder", "ServerSentEvent"]

MAX_LINE_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed network reads with ``feed``; call ``close`` at end of body for a last partial event."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_max", "_pending_cr", "_retry")

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._buffer = b""
        self._pending_cr = False
        self._max = max_line_bytes
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if not chunk:
            return []
        if self._pending_cr:  # the \n of a \r\n split across two reads
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        data = self._buffer + chunk if self._buffer else chunk
        # bytes.splitlines breaks only at \r\n, \r and \n (unlike str.splitlines).
        lines = data.splitlines(keepends=True)
        self._buffer = b""
        if lines:
            tail = lines[-1][-1:]
            if tail not in (b"\n", b"\r"):
                self._buffer = lines.pop()
                if len(self._buffer) > self._max:
                    raise MalformedResponseError(f"an SSE line exceeds {self._max} bytes")
            elif tail == b"\r":
                self._pending_cr = True
        events: list[ServerSentEvent] = []
        for raw in lines:
            line = raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of body: a final line without its newline still counts; a blank line dispatches."""
        events: list[ServerSentEvent] = []
        if self._buffer:
            event = self._line(self._buffer)
            self._buffer = b""
            if event is not None:
                events.append(event)
        event = self._line(b"")
        if event is not None:
            events.append(event)
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if raw[:6] == b"data: ":  # the common case, without the general field parsing
            self._data.append(raw[6:].decode("utf-8", "replace"))
            return None
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data and self._event is None:
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data = []
        self._event = None
        self._retry = None
        return event
