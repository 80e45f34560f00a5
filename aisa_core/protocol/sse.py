"""Server-sent events: bytes in, events out. Pure and incremental.

Lines end only at ``\\r\\n``, ``\\r`` or ``\\n`` (the SSE spec), split on bytes before decoding,
so token text holding U+2028 or U+0085 stays whole (``str.splitlines`` would cut it). A ``\\r``
at the end of one network read may be the first half of ``\\r\\n``; we hold it until the next.

As the spec says, a blank line with no ``data`` before it dispatches nothing: ``event: ping``
alone is a keep-alive, not an event.

Bounded: a line may hold ``MAX_LINE_BYTES``, an event's data ``MAX_EVENT_BYTES``, and what was
read since the last dispatched event (comments, pings, blank lines and the event itself)
``MAX_GAP_BYTES``, each line counted at its length plus ``LINE_COST`` (handling a line costs
more than its bytes). A server that sends many short ``data:`` lines, or endless blank lines
(a small gzip body inflates to tens of megabytes of them), gets a ``MalformedResponseError``
within a fraction of a second, instead of our memory and time.
"""

from __future__ import annotations

from dataclasses import dataclass

from aisa_core.errors import MalformedResponseError

__all__ = [
    "LINE_COST",
    "MAX_EVENT_BYTES",
    "MAX_GAP_BYTES",
    "MAX_LINE_BYTES",
    "SSEDecoder",
    "ServerSentEvent",
]

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_EVENT_BYTES = 8 * 1024 * 1024
MAX_GAP_BYTES = 16 * 1024 * 1024
LINE_COST = 64


@dataclass(slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed network reads with ``feed``; call ``close`` at end of body for a last partial event.
    Limits of ``None`` take the module's (read when the decoder is made)."""

    __slots__ = (
        "_buffer",
        "_data",
        "_event",
        "_gap",
        "_id",
        "_max_event",
        "_max_gap",
        "_max_line",
        "_pending_cr",
        "_retry",
        "_size",
    )

    def __init__(
        self,
        max_line_bytes: int | None = None,
        *,
        max_event_bytes: int | None = None,
        max_gap_bytes: int | None = None,
    ) -> None:
        self._buffer = b""
        self._pending_cr = False
        self._max_line = MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes
        self._max_event = MAX_EVENT_BYTES if max_event_bytes is None else max_event_bytes
        self._max_gap = MAX_GAP_BYTES if max_gap_bytes is None else max_gap_bytes
        self._data: list[bytes] = []  # the event's data lines (one empty line is still data)
        self._size = 0  # their bytes, newlines included
        self._gap = 0  # bytes read since the last dispatched event
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
                if len(self._buffer) > self._max_line:
                    raise MalformedResponseError(f"an SSE line exceeds {self._max_line} bytes")
            elif tail == b"\r":
                self._pending_cr = True
        events: list[ServerSentEvent] = []
        for raw in lines:
            self._gap += len(raw) + LINE_COST
            if self._gap > self._max_gap:
                raise MalformedResponseError(
                    f"more than {self._max_gap} bytes (or many more lines) of a stream "
                    "without a complete event"
                )
            event = self._line(raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1])
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
            value = raw[6:]
        elif raw[:1] == b":":
            return None
        else:
            name, sep, value = raw.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if name != b"data":
                self._field(name, value)
                return None
        self._data.append(value)
        self._size += len(value) + 1
        if self._size > self._max_event:
            raise MalformedResponseError(f"an SSE event's data exceeds {self._max_event} bytes")
        return None

    def _field(self, name: bytes, value: bytes) -> None:
        if name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent | None:
        data = self._data
        if not data:  # the spec: an empty data buffer dispatches nothing
            self._event = None
            return None
        event = ServerSentEvent(
            data=(data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace"),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data = []
        self._size = self._gap = 0
        self._event = None
        self._retry = None
        return event
