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
        if b"\r" not in data:  # the common case: lines end at \n alone
            lines = data.split(b"\n")
            self._buffer = lines.pop()
        else:  # bytes.splitlines breaks only at \r\n, \r and \n (unlike str.splitlines)
            lines = data.splitlines(keepends=True)
            self._buffer = b""
            if lines and lines[-1][-1:] not in (b"\n", b"\r"):
                self._buffer = lines.pop()
            elif lines and lines[-1][-1:] == b"\r":
                self._pending_cr = True
            lines = [raw.rstrip(b"\r\n") for raw in lines]  # one ending each, none inside
        if len(self._buffer) > self._max_line:
            raise MalformedResponseError(f"an SSE line exceeds {self._max_line} bytes")
        return self._lines(lines)

    def close(self) -> list[ServerSentEvent]:
        """End of body: a final line without its newline still counts; a blank line dispatches."""
        last, self._buffer = self._buffer, b""
        return self._lines([last, b""] if last else [b""])

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        gap, max_gap = self._gap, self._max_gap
        for line in lines:
            gap += len(line) + LINE_COST
            if gap > max_gap:
                raise MalformedResponseError(
                    f"more than {max_gap} bytes (or many more lines) of a stream "
                    "without a complete event"
                )
            if line[:6] == b"data: ":  # the common case, without the general field parsing
                value = line[6:]
            elif not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
                    gap = 0
                continue
            else:
                field = self._field(line)
                if field is None:
                    continue
                value = field
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self._max_event:
                raise MalformedResponseError(f"an SSE event's data exceeds {self._max_event} bytes")
        self._gap = gap
        return events

    def _field(self, line: bytes) -> bytes | None:
        """A line other than a blank one or ``data: ...``: a comment, or a field; the value of
        a ``data`` field (``data:x``, ``data``), else ``None``."""
        if line[:1] == b":":
            return None
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            return value
        if name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data = self._data
        if not data:  # the spec: an empty data buffer dispatches nothing
            self._event = None
            return None
        event = ServerSentEvent(
            (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace"),
            self._event or "message",
            self._id,
            self._retry,
        )
        self._data = []
        self._size = 0  # (the gap is reset by the line loop)
        self._event = None
        self._retry = None
        return event
