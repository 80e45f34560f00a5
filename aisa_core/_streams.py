"""What a streamed answer knows, shared by ``ChatStream`` and ``AsyncChatStream``: the two
differ only in how they wait and read bytes."""

from __future__ import annotations

from typing import Any

import httpx

from ._base import meta_from, parse_completion, raise_for_status
from ._chunks import ChunkReader, completion_chunk
from ._retry import AttemptPlan
from ._stream import StreamAccumulator
from .callbacks import StreamHandler
from .types import ChatCompletion, ChatCompletionChunk, ResponseMeta

__all__ = ["StreamState", "is_json"]


def is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


class StreamState:
    """The request, the merged answer so far, and who served it.

    ``model`` is the model that serves the stream (after any fallback); ``meta`` holds the
    headers' facts and the failed attempts before it; ``accumulator`` holds what has arrived
    (its ``completion()`` is a snapshot later chunks never change).
    """

    def __init__(
        self,
        payload: dict[str, Any],
        chain: list[str],
        handlers: tuple[StreamHandler, ...],
        headers: dict[str, str],
        timeout: Any,
    ) -> None:
        self._payload = payload
        self._chain = chain
        self._handlers = handlers
        self._headers = headers
        self._timeout = timeout
        self.accumulator = StreamAccumulator()
        self.model: str | None = None
        self.meta = ResponseMeta()

    def _started(self, plan: AttemptPlan, response: httpx.Response) -> None:
        self.model = plan.model
        self.meta = meta_from(response, plan.model)
        self.meta.attempts = plan.failures

    def _add(self, chunk: ChatCompletionChunk) -> list[tuple[str, Any]]:
        """Merge one chunk (just before it is yielded, so ``accumulator`` matches what the
        caller has seen); return the events for the handlers."""
        if not self._handlers:
            self.accumulator.add(chunk)
            return []
        events: list[tuple[str, Any]] = []
        self.accumulator.add(chunk, events)
        return events

    def _final(self) -> ChatCompletion:
        completion = self.accumulator.completion()
        completion.meta = self.meta
        return completion

    @staticmethod
    def _whole_answer(response: httpx.Response, model: str) -> tuple[ChunkReader, list[Any]]:
        """A JSON answer to a stream request: an error to raise, or a backend that ignored
        ``stream=true`` (one whole answer, as one chunk). The body must be read."""
        raise_for_status(response, model)
        reader = ChunkReader(model)
        reader.done = True
        return reader, [completion_chunk(parse_completion(response, model))]
