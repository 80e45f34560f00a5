"""Bytes to chunks for one streamed answer. Pure and incremental.

``ChunkReader`` runs the SSE decoder and ``parse_event`` over network reads; a JSON answer to a
stream request (a backend that ignored ``stream=true``) becomes one equivalent chunk with
``completion_chunk``.

How a stream may end: with ``[DONE]``, or with its body's end after a chunk that carries a
``finish_reason`` (real servers send one or the other, or both). A body that ends with neither
was cut short: on a close-delimited body (HTTP/1.0, ``Connection: close``) a server that died
looks exactly like one that finished, so the markers are the only proof the answer is whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aisa_core.errors import (
    AISAError,
    APIConnectionError,
    MalformedResponseError,
    StreamInterruptedError,
)
from aisa_core.types import ChatCompletion, ChatCompletionChunk

from .events import parse_event, split_printed
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["ChunkReader", "completion_chunk"]


class ChunkReader:
    """Feed network reads, get chunks; ``done`` turns true at ``[DONE]`` or a proper end.

    At the end of the body (``finish``): no chunk at all is a ``MalformedResponseError`` (never
    an empty success, and ``[DONE]`` alone is no answer either); chunks but neither
    ``[DONE]`` nor a ``finish_reason`` is a stream cut short: ``StreamInterruptedError`` once
    tokens reached the caller (``streaming=True``), else an ``APIConnectionError``, which may be
    retried or fall back like any dropped connection before the first token.
    """

    __slots__ = ("_decoder", "_model", "_pending", "done", "events", "finished", "seen")

    def __init__(self, model: str) -> None:
        self._decoder = SSEDecoder()
        self._model = model
        self._pending: AISAError | None = None
        self.done = False
        self.finished = False  # a chunk said why the answer ended (``finish_reason``)
        self.seen = 0  # chunks
        self.events = 0  # events, [DONE] and errors included: the stream is alive

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        self._raise_pending()
        return self._parse(self._decoder.feed(data))

    def _raise_pending(self) -> None:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def finish(self, *, streaming: bool = False) -> list[ChatCompletionChunk]:
        """End of body: the last partial event (and the next call, with nothing left, says how
        the stream ended), or ``done``, or the error for an answer cut short."""
        self._raise_pending()
        chunks = self._parse(self._decoder.close())
        if chunks or self.done:
            return chunks
        error = self._cut_short(streaming)
        if error is not None:
            raise error
        self.done = True
        return chunks

    def _cut_short(self, streaming: bool) -> AISAError | None:
        if not self.seen:
            return MalformedResponseError(
                "the stream ended before any data arrived", model=self._model
            )
        if self.finished:
            return None
        text = "the stream ended before the answer was complete (no finish_reason, no [DONE])"
        if streaming:
            return StreamInterruptedError(text, model=self._model)
        return APIConnectionError(text, model=self._model)

    def _parse(self, events: Iterable[ServerSentEvent]) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        for event in _split(events):
            if self.done:
                break
            self.events += 1
            try:
                chunk = parse_event(event, model=self._model)
                if chunk is None and not self.seen:
                    raise MalformedResponseError(
                        "the stream ended ([DONE]) before any data arrived", model=self._model
                    )
            except AISAError as error:
                if not out:
                    raise
                # deliver the chunks before it first: nothing is lost (and no traceback keeps
                # this reader alive in a cycle; it gets a fresh one when raised)
                self._pending = error.with_traceback(None)
                break
            if chunk is None:
                self.done = True
                break
            self.seen += 1
            for choice in chunk.choices:
                if choice.finish_reason:
                    self.finished = True
            out.append(chunk)
        return out


def _split(events: Iterable[ServerSentEvent]) -> Iterator[ServerSentEvent]:
    for event in events:
        if "\n" in event.data:
            yield from split_printed(event)
        else:
            yield event


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
