"""A stream the server just stops (close-delimited, no ``finish_reason``, no ``[DONE]``) is an
interrupted stream for LlamaIndex ``AISA`` too, sync and async (issue 10, item 1)."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage

from aisa_core import StreamInterruptedError
from llama_index_aisa import AISA
from tests.core.helpers import chunk
from tests.core.rawserver import Conn, RawRequest, RawServer, event, head

MESSAGES = [ChatMessage(role="user", content="hi")]


def _stops_after_two_tokens(conn: Conn, request: RawRequest) -> bool:
    conn.send(head() + event(chunk("Hel")) + event(chunk("lo")))
    return False  # the body ends with the connection: no finish_reason, no [DONE]


def _llm(server: RawServer) -> AISA:
    return AISA("gpt-4.1", api_key="sk-raw-server-test", base_url=server.base_url, max_retries=0)


def test_stream_chat_cut_short_raises() -> None:
    with RawServer(_stops_after_two_tokens) as server:
        llm, seen = _llm(server), []
        with pytest.raises(StreamInterruptedError):
            for response in llm.stream_chat(MESSAGES):
                seen.append(response.delta)
        with pytest.raises(StreamInterruptedError):
            list(llm.stream_complete("hi"))
        llm.close()
    assert seen == ["Hel", "lo"]


async def test_astream_chat_cut_short_raises() -> None:
    with RawServer(_stops_after_two_tokens) as server:
        llm, seen = _llm(server), []
        with pytest.raises(StreamInterruptedError):
            async for response in await llm.astream_chat(MESSAGES):
                seen.append(response.delta)
        await llm.aclose()
        llm.close()
    assert seen == ["Hel", "lo"]
