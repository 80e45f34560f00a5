"""The SSE decoder: spec newlines only, events split anywhere, comments, [DONE], no [DONE]."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aisa_core.errors import MalformedResponseError
from aisa_core.protocol.chunks import ChunkReader
from aisa_core.protocol.sse import (
    MAX_EVENT_BYTES,
    MAX_GAP_BYTES,
    MAX_LINE_BYTES,
    ServerSentEvent,
    SSEDecoder,
)


def decode(*reads: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for r in reads for e in decoder.feed(r)]
    return events + decoder.close()


def test_all_three_line_endings() -> None:
    for nl in (b"\n", b"\r", b"\r\n"):
        assert decode(b"data: a" + nl + nl + b"data: b" + nl + nl) == [
            ServerSentEvent("a"),
            ServerSentEvent("b"),
        ]


def test_unicode_line_separators_stay_inside_the_token() -> None:
    text = "one\u2028two\u2029three\x85four\x0bfive\x0cend"
    events = decode(f"data: {text}\n\n".encode())
    assert events == [ServerSentEvent(text)]


def test_crlf_split_across_reads_is_one_line_ending() -> None:
    assert decode(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
    ]


def test_comments_fields_and_multiline_data() -> None:
    raw = b": keep-alive\nevent: update\nid: 7\nretry: 1500\ndata: x\ndata:y\nunknown: z\n\n"
    assert decode(raw) == [ServerSentEvent("x\ny", event="update", id="7", retry=1500)]


def test_last_event_without_blank_line_is_kept() -> None:
    assert decode(b"data: tail") == [ServerSentEvent("tail")]


def test_multibyte_utf8_split_between_reads() -> None:
    raw = "data: héllo→\n\n".encode()
    assert decode(raw[:8], raw[8:9], raw[9:]) == [ServerSentEvent("héllo→")]


def test_line_length_is_bounded() -> None:
    decoder = SSEDecoder(max_line_bytes=64)
    with pytest.raises(MalformedResponseError):
        decoder.feed(b"data: " + b"x" * 100)


def _stream_bytes(texts: list[str], nl: bytes) -> bytes:
    return b"".join(b"data: " + t.encode() + nl + nl for t in texts)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
            max_size=30,
        ),
        min_size=1,
        max_size=8,
    ),
    nl=st.sampled_from([b"\n", b"\r", b"\r\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_into_reads_gives_the_same_events(
    texts: list[str], nl: bytes, cuts: list[int]
) -> None:
    raw = _stream_bytes(texts, nl)
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert decode(*pieces) == decode(raw) == [ServerSentEvent(t) for t in texts]


def test_reader_stops_at_done_and_ignores_what_follows() -> None:
    reader = ChunkReader("m")
    out = reader.feed(b'data: {"choices":[]}\n\ndata: [DONE]\n\ndata: {"choices":[]}\n\n')
    assert len(out) == 1 and reader.done


def test_reader_accepts_a_missing_done_after_a_finish_reason() -> None:
    # Issue 10 item 1: a body without [DONE] was accepted after any chunk; now it needs a
    # finish_reason (test_stream_end.py has the rest of the rule).
    reader = ChunkReader("m")
    finished = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    assert len(reader.feed(finished)) == 1
    assert reader.finish() == [] and reader.done


def test_reader_rejects_an_empty_body() -> None:
    reader = ChunkReader("m")
    reader.feed(b": only a comment\n\n")
    with pytest.raises(MalformedResponseError, match="before any data"):
        reader.finish()


# --- issue 10: pings, per-line chunks as AIsa's docs print them, bounded events ---------------


def test_a_ping_without_data_dispatches_nothing() -> None:
    """The spec: a blank line with an empty data buffer dispatches no event (and resets the
    event type), so ``event: ping`` keep-alives are not events at all."""
    raw = b"event: ping\n\n: comment\n\nevent: ping\r\n\r\ndata: x\n\n"
    assert decode(raw) == [ServerSentEvent("x")]  # the type of the ping does not stick
    assert decode(b"event: ping\n\n") == []
    assert decode(b"event: ping") == []  # at the end of the body too
    assert decode(b"data:\n\n") == [ServerSentEvent("")]  # an empty data line is still data


def test_pings_between_chunks_are_ignored_by_the_reader() -> None:
    reader = ChunkReader("m")
    body = (
        b"event: ping\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        b"event: ping\n\nevent: ping\n\n"
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    assert [c.text for c in reader.feed(body)] == ["a", ""]
    assert reader.finish() == [] and reader.done


# AIsa's documentation prints a stream like this: no blank line between the data lines.
AS_PRINTED = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1",'
    b'"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1",'
    b'"choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}\n'
    b"data: [DONE]\n"
)


def test_data_lines_without_blank_lines_are_one_chunk_each() -> None:
    for body in (AS_PRINTED, AS_PRINTED + b"\n", AS_PRINTED.replace(b"\n", b"\r\n")):
        reader = ChunkReader("gpt-4.1")
        chunks = reader.feed(body)
        while not reader.done:
            chunks += reader.finish(streaming=True)
        assert [c.text for c in chunks] == ["", "Hello", "!"]
        assert chunks[-1].choices[0].finish_reason == "stop"


def test_one_json_value_over_several_data_lines_stays_one_event() -> None:
    reader = ChunkReader("m")
    body = (
        b'data: {"choices":\n'
        b'data: [{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n'
    )
    assert [c.text for c in reader.feed(body)] == ["a"]
    reader = ChunkReader("m")
    with pytest.raises(MalformedResponseError, match="not JSON"):
        reader.feed(b'data: {"choices": []}\ndata: not json\n\n')  # not every line is JSON


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (b"data: " + b"x" * 100 + b"\n", "data exceeds"),  # one event of many data lines
        (b": keep-alive\n", "without a complete event"),  # comments and nothing else
        (b"\n", "without a complete event"),  # endless blank lines
        (b"event: ping\n\n", "without a complete event"),  # pings, never data
    ],
)
def test_an_event_is_bounded_in_bytes_and_memory(line: bytes, what: str) -> None:
    import tracemalloc

    read = line * (65536 // len(line))  # one network read's worth
    decoder = SSEDecoder(max_event_bytes=1 << 20, max_gap_bytes=2 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(MalformedResponseError, match=what):
            for _ in range(1000):  # 64 MB if nothing stopped it
                decoder.feed(read)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes held for a 1 MB event limit"


def test_the_default_limits_hold_for_a_real_event() -> None:
    big = b"data: " + b"x" * (MAX_LINE_BYTES - 100) + b"\n\n"
    assert len(decode(big)[0].data) == MAX_LINE_BYTES - 100
    assert MAX_LINE_BYTES <= MAX_EVENT_BYTES <= MAX_GAP_BYTES
