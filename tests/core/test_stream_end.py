"""How a stream may end (issue 10, item 1): ``[DONE]``, or a ``finish_reason`` and then the end of
the body. A close-delimited body (HTTP/1.0, ``Connection: close``) that just stops is a stream
cut short, on every surface, never a short answer returned as complete."""

from __future__ import annotations

from typing import Any

import pytest

from aisa_core import errors as E
from aisa_core.protocol.chunks import ChunkReader
from tests.core.helpers import chunk
from tests.core.rawserver import MODES, Conn, RawRequest, RawServer, event, head, stream_texts

HELLO = event(chunk("", role="assistant")) + event(chunk("Hel")) + event(chunk("lo"))
STOP = event(chunk(finish_reason="stop"))
DONE = event("[DONE]")


def serving(body: bytes, *, version: str = "HTTP/1.1") -> Any:
    """A server that answers every stream with ``body`` and then closes the connection (the
    body is close-delimited: no length, no chunked encoding)."""

    def handler(conn: Conn, request: RawRequest) -> bool:
        conn.send(head(version=version) + body)
        return False

    return handler


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_just_stops_is_interrupted(mode: str, version: str) -> None:
    with RawServer(serving(HELLO, version=version)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert texts == ["Hel", "lo"]  # what arrived reached the caller, then the error
    assert isinstance(error, E.StreamInterruptedError), error
    assert "no finish_reason, no [DONE]" in str(error) and not error.retryable


@pytest.mark.parametrize(
    ("body", "what"), [(HELLO + STOP, "finish_reason alone"), (HELLO + DONE, "[DONE] alone")]
)
@pytest.mark.parametrize("mode", MODES)
def test_either_marker_alone_makes_the_answer_whole(mode: str, body: bytes, what: str) -> None:
    with RawServer(serving(body)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert error is None, what
    assert "".join(texts) == "Hello"


@pytest.mark.parametrize("mode", ["sync", "aiohttp", "httpx"])
def test_a_last_chunk_without_its_blank_line_still_counts(mode: str) -> None:
    tail = b'data: {"choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}'
    with RawServer(serving(HELLO + tail)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert (texts, error) == (["Hel", "lo", "!"], None)


@pytest.mark.parametrize("mode", ["sync", "aiohttp", "httpx"])
def test_cut_short_before_the_first_token_falls_back(mode: str) -> None:
    """Nothing reached the caller yet, so the cut is a connection failure like any other:
    retried or moved to the next model, never a silent empty answer."""

    def handler(conn: Conn, request: RawRequest) -> bool:
        if request.json["model"] == "a":
            conn.send(head() + event(chunk("", role="assistant")))  # then the body ends
        else:
            conn.send(head() + event(chunk("fine", model="b")) + STOP)
        return False

    with RawServer(handler) as server:
        texts, error = stream_texts(mode, server.base_url, model="a", fallback_models=["b"])
    assert (texts, error) == (["fine", ""], None)
    assert [r.json["model"] for r in server.requests] == ["a", "b"]


@pytest.mark.parametrize(
    "body", [b"", b": a comment, and nothing else\n\n", DONE], ids=["empty", "comment", "done"]
)
@pytest.mark.parametrize("mode", ["sync", "aiohttp", "httpx"])
def test_a_body_with_no_chunk_is_malformed(mode: str, body: bytes) -> None:
    """No chunk at all (``[DONE]`` alone included) is a broken answer: a
    ``MalformedResponseError``, which is retried and falls back (nothing reached the caller)."""
    with RawServer(serving(body)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert texts == [] and isinstance(error, E.MalformedResponseError), error
    assert error.retryable


def test_the_rule_in_the_reader() -> None:
    role = b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
    text = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
    stop = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n'

    def ending(*reads: bytes, streaming: bool = True) -> Any:
        reader = ChunkReader("m")
        try:
            for data in reads:
                reader.feed(data)
            while not reader.done:
                reader.finish(streaming=streaming)
        except E.AISAError as error:
            return type(error)
        return "whole"

    assert ending(role, text, stop) == "whole"
    assert ending(role, text, b"data: [DONE]\n\n") == "whole"
    assert ending(role, text) is E.StreamInterruptedError
    assert ending(role, streaming=False) is E.APIConnectionError
    assert ending(b"data: [DONE]\n\n") is E.MalformedResponseError
    assert ending() is E.MalformedResponseError
    # an answer cut short whose last event had no blank line: the chunk first, then the error
    reader = ChunkReader("m")
    assert reader.feed(role + text[:-2]) != []
    assert [c.text for c in reader.finish(streaming=True)] == ["x"]
    with pytest.raises(E.StreamInterruptedError):
        reader.finish(streaming=True)


@pytest.mark.parametrize("mode", ["sync", "aiohttp", "httpx"])
def test_a_stream_printed_as_aisa_documents_it(mode: str) -> None:
    """No blank line between the data lines (as AIsa's docs print streams), pings between:
    every line is its own chunk, and the stream ends properly."""
    body = (
        b"event: ping\n\n"
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n'
        b"data: [DONE]\n"
    )
    with RawServer(serving(body)) as server:
        texts, error = stream_texts(mode, server.base_url)
    assert (texts, error) == (["Hel", "lo"], None)
