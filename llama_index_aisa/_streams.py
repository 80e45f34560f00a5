"""The stream shells: a core stream as LlamaIndex ``ChatResponse`` snapshots.

The snapshot logic is pure and lives in ``_response.StreamSnapshots``; these two only loop, and
differ only in that loop. Closing the generator closes the HTTP response.
"""

from __future__ import annotations

from llama_index.core.base.llms.types import ChatResponseAsyncGen, ChatResponseGen

from aisa_core import AsyncChatStream, ChatStream

from ._response import StreamSnapshots

__all__ = ["achat_responses", "chat_responses"]


def chat_responses(stream: ChatStream) -> ChatResponseGen:
    snapshots = StreamSnapshots()
    with stream:
        for chunk in stream:
            yield snapshots.add(chunk, stream)


async def achat_responses(stream: AsyncChatStream) -> ChatResponseAsyncGen:
    snapshots = StreamSnapshots()
    async with stream:
        async for chunk in stream:
            yield snapshots.add(chunk, stream)
