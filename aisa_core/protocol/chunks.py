"""Bytes to chunks for one streamed answer. Pure and incremental.

``ChunkReader`` runs the SSE decoder and ``parse_event`` over network reads; a JSON answer to a
stream request (a backend that ignored ``stream=true``) becomes one equivalent chunk with
``completion_chunk``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aisa_core.errors import AISAError, MalformedResponseError
from aisa_core.types import ChatCompletion, ChatCompletionChunk

from .events import parse_event
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["ChunkReader", "completion_chunk"]


class ChunkReader:
    """Feed network reads, get chunks; ``done`` turns true at ``[DONE]``.

    A body that ends without ``[DONE]`` is accepted if it carried chunks (some providers omit
    it), but a body that carried nothing at all is an error, never an empty success.
    """

    __slots__ = ("_decoder", "_model", "_pending", "done", "events", "seen")

    def __init__(self, model: str) -> None:
        self._decoder = SSEDecoder()
        self._model = model
        self._pending: AISAError | None = None
        self.done = False
        self.seen = 0  # chunks
        self.events = 0  # events, [DONE] and errors included: the stream is alive

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        self._raise_pending()
        return self._parse(self._decoder.feed(data))

    def _raise_pending(self) -> None:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def finish(self) -> list[ChatCompletionChunk]:
        """End of body: the last partial event, and ``done`` from now on."""
        self._raise_pending()
        chunks = self._parse(self._decoder.close())
        self.done = True
        if not self.seen and not chunks:
            raise MalformedResponseError(
                "the stream ended before any data arrived", model=self._model
            )
        return chunks

    def _parse(self, events: Iterable[ServerSentEvent]) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        for event in events:
            if self.done:
                break
            self.events += 1
            try:
                chunk = parse_event(event, model=self._model)
            except AISAError as error:
                if not out:
                    raise
                self._pending = error  # deliver the chunks before it first: nothing is lost
                break
            if chunk is None:
                self.done = True
                break
            self.seen += 1
            out.append(chunk)
        return out


def completion_chunk(completion: ChatCompletion) -> ChatCompletionChunk:
    """A non-streamed answer (some backends ignore ``stream``) as one equivalent chunk."""
    message = completion.message
    delta: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning_content:
        delta["reasoning_content"] = message.reasoning_content
    if message.tool_calls:
        delta["tool_calls"] = [
            {"index": i, **tc.model_dump()} for i, tc in enumerate(message.tool_calls)
        ]
    return ChatCompletionChunk.model_validate(
        {
            "id": completion.id,
            "created": completion.created,
            "model": completion.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": completion.finish_reason}],
            "usage": completion.usage.model_dump() if completion.usage else None,
        }
    )
