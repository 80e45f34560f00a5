"""The SSE decoder: spec newlines only, events split anywhere, comments, [DONE], no [DONE]."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aisa_core.errors import MalformedResponseError
from aisa_core.protocol.chunks import ChunkReader
from aisa_core.protocol.sse import ServerSentEvent, SSEDecoder


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


def test_reader_accepts_a_missing_done_after_data() -> None:
    reader = ChunkReader("m")
    assert len(reader.feed(b'data: {"choices":[]}\n\n')) == 1
    assert reader.finish() == [] and reader.done


def test_reader_rejects_an_empty_body() -> None:
    reader = ChunkReader("m")
    reader.feed(b": only a comment\n\n")
    with pytest.raises(MalformedResponseError, match="before any data"):
        reader.finish()
