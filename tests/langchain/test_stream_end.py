"""A stream the server just stops (close-delimited, no ``finish_reason``, no ``[DONE]``) is an
interrupted stream for ``ChatAISA`` too, sync and async, never a short answer (issue 10, item 1)."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelConnectionError

from aisa_core import StreamInterruptedError
from langchain_aisa import ChatAISA
from tests.core.helpers import chunk
from tests.core.rawserver import Conn, RawRequest, RawServer, event, head


def _stops_after_two_tokens(conn: Conn, request: RawRequest) -> bool:
    conn.send(head() + event(chunk("Hel")) + event(chunk("lo")))
    return False  # the body ends with the connection: no finish_reason, no [DONE]


def _model(server: RawServer) -> ChatAISA:
    return ChatAISA(
        model="gpt-4.1", api_key="sk-raw-server-test", base_url=server.base_url, max_retries=0
    )


def test_stream_cut_short_raises() -> None:
    with RawServer(_stops_after_two_tokens) as server:
        llm, seen = _model(server), []
        with pytest.raises(StreamInterruptedError) as info:
            for piece in llm.stream("hi"):
                seen.append(piece.content)
        llm.close()
    assert seen == ["Hel", "lo"] and isinstance(info.value, ModelConnectionError)
    assert not info.value.is_retryable


async def test_astream_and_ainvoke_cut_short_raise() -> None:
    with RawServer(_stops_after_two_tokens) as server:
        llm, seen = _model(server), []
        with pytest.raises(StreamInterruptedError):
            async for piece in llm.astream("hi"):
                seen.append(piece.content)
        llm_streaming = llm.model_copy(update={"streaming": True})
        with pytest.raises(StreamInterruptedError):
            await llm_streaming.ainvoke("hi")  # invoke built on a stream: no partial answer
        await llm.aclose()
        await llm_streaming.aclose()
    assert seen == ["Hel", "lo"]
