"""Every read is bounded in bytes and in time, whatever the server does (issue 10, items 3 and 4):
compressed bombs, endless or oversized bodies on stream requests, headers and events dripped a
byte at a time. Each case runs on every surface: the sync client (its own pool and an injected
``httpx.Client``) and the async client (aiohttp, httpx's pool, an injected httpx transport)."""

from __future__ import annotations

import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from aisa_core import Timeouts
from aisa_core import errors as E
from tests.core.helpers import chunk, completion_body
from tests.core.rawserver import MODES, Conn, RawRequest, RawServer, chat, event, head, stream_texts

Handler = Callable[[Conn, RawRequest], bool]
QUICK = Timeouts(connect=5, read=0.6, total=1.5)  # generous against a loaded machine
SLOW_DRIP = 0.05  # seconds between two dripped bytes: each read is quick, none completes


def gzip_of(piece: bytes, times: int) -> bytes:
    """``piece * times`` gzip-compressed, without ever holding the inflated whole."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = piece * (1 << 20)
    parts = [z.compress(block) for _ in range(times)]
    return b"".join(parts) + z.flush()


NEWLINES = gzip_of(b"\n", 64)  # ~65 KB that inflate to 64 MB of blank lines
ONE_LINE = gzip_of(b"x", 64)  # ~65 KB that inflate to one 64 MB line


def peak_memory(run: Callable[[], Any]) -> tuple[Any, int]:
    """``run()`` twice (the first loads whatever the surface loads lazily), the second traced:
    its result and the most memory it held at once."""
    run()
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def once(data: bytes) -> Handler:
    def handler(conn: Conn, request: RawRequest) -> bool:
        conn.send(data)
        return False

    return handler


# --- bytes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bomb", [NEWLINES, ONE_LINE], ids=["newlines", "one-line"])
@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_stream_that_inflates_is_met_in_small_pieces(mode: str, bomb: bytes) -> None:
    assert len(bomb) < 70_000
    answer = head(content_type="text/event-stream", Content_Encoding="gzip") + bomb
    with RawServer(once(answer)) as server:
        (texts, error), peak = peak_memory(lambda: stream_texts(mode, server.base_url))
    assert texts == [] and isinstance(error, E.MalformedResponseError), error
    assert peak < 24 << 20, f"{peak >> 20} MB held for a 65 KB answer"


@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_json_answer_is_capped_while_it_inflates(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aisa_core.transport.reading as reading

    monkeypatch.setattr(reading, "MAX_BODY_BYTES", 1 << 20)
    answer = head(content_type="application/json", Content_Encoding="gzip") + NEWLINES
    with RawServer(once(answer)) as server:
        (texts, error), peak = peak_memory(lambda: chat(mode, server.base_url))
        stream_error = stream_texts(mode, server.base_url)[1]  # a stream request, the same
    assert texts == [] and isinstance(error, E.MalformedResponseError), error
    assert "larger than" in str(error)
    assert isinstance(stream_error, E.MalformedResponseError), stream_error
    assert "larger than" in str(stream_error)
    assert peak < 12 << 20, f"{peak >> 20} MB held for a 1 MB cap"


def _endless(content_type: str, status: int) -> Handler:
    def handler(conn: Conn, request: RawRequest) -> bool:
        conn.send(head(status, content_type=content_type))
        block = b" " * 65536
        deadline = time.monotonic() + 20
        while not conn.stopped.is_set() and time.monotonic() < deadline:
            try:
                conn.send(block)
            except OSError:
                break
        return False

    return handler


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("application/json", 200), ("application/json", 500), ("text/plain", 429)],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_stream_request_answered_whole_is_size_capped(
    mode: str, content_type: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON answer or an error status to a stream request is read whole, so under the size
    cap of every whole answer."""
    import aisa_core.transport.reading as reading

    monkeypatch.setattr(reading, "MAX_BODY_BYTES", 1 << 20)
    with RawServer(_endless(content_type, status)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert texts == [] and isinstance(error, E.MalformedResponseError), error
    assert "larger than" in str(error)


# --- time --------------------------------------------------------------------------------------


def _drip(data: bytes, *, first: bytes = b"") -> Handler:
    def handler(conn: Conn, request: RawRequest) -> bool:
        conn.send(first)
        conn.drip(data, SLOW_DRIP, limit=20)
        return False

    return handler


PADDED = {"X_Padding": "." * 400}  # a head that takes 20 s to drip


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("what", "handler"),
    [
        ("headers", _drip(head(content_type="application/json", length=2, **PADDED) + b"{}")),
        ("body", _drip(b" " * 10_000, first=head(content_type="application/json"))),
    ],
)
def test_a_dripped_answer_meets_the_total_timeout(mode: str, what: str, handler: Handler) -> None:
    """Each byte comes well within the read timeout, but the answer never completes: the total
    timeout (which starts before the headers) ends it."""
    with RawServer(handler) as server:
        started = time.monotonic()
        texts, error = chat(mode, server.base_url, timeout=Timeouts(connect=5, read=5, total=1))
        took = time.monotonic() - started
    assert texts == [] and isinstance(error, E.APITimeoutError), error
    assert took < 4.5, f"{what} dripped for {took:.1f} s past a 1 s total timeout"


@pytest.mark.parametrize("mode", MODES)
def test_a_dripped_error_answer_to_a_stream_meets_the_total_timeout(mode: str) -> None:
    error_head = head(503, content_type="application/json") + b'{"error": '
    with RawServer(_drip(b" " * 10_000, first=error_head)) as server:
        started = time.monotonic()
        texts, error = stream_texts(
            mode, server.base_url, timeout=Timeouts(connect=5, read=30, total=1)
        )
        took = time.monotonic() - started
    assert texts == [] and isinstance(error, E.APITimeoutError), error
    assert took < 4.5, f"an error answer dripped for {took:.1f} s past a 1 s total timeout"


@pytest.mark.parametrize("mode", MODES)
def test_an_event_that_never_completes_meets_the_read_timeout(mode: str) -> None:
    """Streams are bounded by the time between events: bytes that never make an event do not
    count as progress."""
    first = head() + event(chunk("", role="assistant")) + event(chunk("Hel"))
    never_ends = b'data: {"choices": [' + b" " * 10_000
    with RawServer(_drip(never_ends, first=first)) as server:
        started = time.monotonic()
        texts, error = stream_texts(mode, server.base_url, timeout=QUICK)
        took = time.monotonic() - started
    assert texts == ["Hel"]
    assert isinstance(error, E.StreamInterruptedError) and "stalled" in str(error), error
    assert took < 4.0, f"a stalled event held the stream for {took:.1f} s (read timeout 0.6 s)"


@pytest.mark.parametrize("mode", MODES)
def test_pings_alone_do_not_keep_a_stream_alive(mode: str) -> None:
    first = head() + event(chunk("Hel"))
    with RawServer(_drip(b"event: ping\n\n" * 1000, first=first)) as server:
        started = time.monotonic()
        texts, error = stream_texts(mode, server.base_url, timeout=QUICK)
        took = time.monotonic() - started
    assert texts == ["Hel"] and isinstance(error, E.StreamInterruptedError), error
    assert took < 4.0


@pytest.mark.parametrize("mode", MODES)
def test_dripped_headers_of_a_stream_meet_the_read_timeout(mode: str) -> None:
    with RawServer(_drip(head(**PADDED) + event(chunk("late")))) as server:
        started = time.monotonic()
        texts, error = stream_texts(mode, server.base_url, timeout=QUICK)
        took = time.monotonic() - started
    assert texts == [] and isinstance(error, E.APITimeoutError), error
    assert took < 4.0


@pytest.mark.parametrize("mode", MODES)
def test_a_polite_answer_still_arrives(mode: str) -> None:
    """The bounds cost nothing to a server that behaves: the same surfaces, one ordinary
    answer and one ordinary stream, compressed and not."""
    import gzip
    import json

    body = json.dumps(completion_body("fine")).encode()
    stream = event(chunk("a")) + event(chunk("b", finish_reason="stop")) + event("[DONE]")

    def handler(conn: Conn, request: RawRequest) -> bool:
        if request.json.get("stream"):
            conn.send(head(content_type="text/event-stream", length=len(stream)) + stream)
        else:
            packed = gzip.compress(body)
            conn.send(
                head(content_type="application/json", length=len(packed), Content_Encoding="gzip")
                + packed
            )
        return True

    with RawServer(handler) as server:
        assert chat(mode, server.base_url, timeout=QUICK) == (["fine"], None)
        assert stream_texts(mode, server.base_url, timeout=QUICK) == (["a", "b"], None)
