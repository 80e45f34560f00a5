"""A streamed chat answer as a pure generator of effects: open (retrying and falling back while
nothing has reached the caller), then read, merge and hand out chunks, telling the handlers.

Opening reads up to the first chunk with something in it, so a stream that fails right after
its empty role-only chunk still falls back; after that first chunk, a failure is raised (a
dropped connection, or a body that ends with neither ``[DONE]`` nor a ``finish_reason``, as
``StreamInterruptedError``), never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from aisa_core.admission import PASS, Ticket
from aisa_core.attempts import SkippedModel
from aisa_core.errors import AISAError, Attempt
from aisa_core.types import ChatCompletion, ChatCompletionChunk, ResponseMeta

from .accumulate import Events, StreamAccumulator
from .chat import Chat, parse_completion
from .chunks import ChunkReader, completion_chunk
from .effects import Close, Effect, Emit, Notify, Open, Read
from .operation import attempts
from .report import QUIET, CallLog, Watch
from .retry import AttemptPlan, Step
from .wire import Reply, meta_from, raise_for_status, reads_whole

__all__ = ["StreamState", "run_stream"]


class StreamState:
    """What a stream knows so far: ``model`` (the one serving it, after any fallback), ``meta``
    (the headers' facts and the failed attempts before it) and ``accumulator`` (what has
    arrived; its ``completion()`` is a snapshot later chunks never change)."""

    __slots__ = ("accumulator", "meta", "model", "notify", "pending")

    def __init__(self, notify: bool) -> None:
        self.accumulator = StreamAccumulator()
        self.model: str | None = None
        self.meta = ResponseMeta()
        self.notify = notify
        self.pending: list[Effect] = []
        """Effects the stream could not hand out because it was closed early (its attempt's
        and call's reports): the client performs them when it closes the stream."""

    def started(
        self,
        model: str,
        reply: Reply,
        attempts: tuple[Attempt, ...],
        skipped: tuple[SkippedModel, ...],
    ) -> None:
        self.model = model
        self.meta = meta_from(reply, model)
        self.meta.attempts = attempts
        self.meta.skipped = skipped

    def add(self, chunk: ChatCompletionChunk) -> Events:
        """Merge one chunk (just before it is handed out, so ``accumulator`` matches what the
        caller has seen); return what the handlers should hear."""
        if not self.notify:
            self.accumulator.add(chunk)
            return []
        events: Events = []
        self.accumulator.add(chunk, events)
        return events

    def final(self) -> ChatCompletion:
        completion = self.accumulator.completion()
        completion.meta = self.meta
        return completion


def run_stream(
    op: Chat,
    plan: AttemptPlan,
    state: StreamState,
    watch: Watch = QUIET,
    clock: Callable[[], float] = time.perf_counter,
) -> Generator[Effect, Any, None]:
    """One streamed call of ``op`` (built with ``stream=True``)."""
    log = CallLog(op, plan, watch, stream=True, clock=clock)
    ticket, model, phase = PASS, "", "open"
    try:
        reader, chunks, ticket, reply = yield from _open(op, plan, state, log)
        model, phase = plan.model, "stream"
        if state.notify:
            yield Notify([("start", (model, op.payload))])
        seen = reader.events
        while True:
            for chunk in chunks:
                events = state.add(chunk)
                if events:
                    yield Notify(events)
                if not chunk.is_empty:
                    log.first_chunk()
                    yield Emit(chunk)
            if reader.done:
                break
            data = yield Read(model, fresh=seen != reader.events, streaming=True)
            seen = reader.events
            chunks = reader.feed(data) if data else reader.finish(streaming=True)
        yield Close(drain=True)
        phase = "done"
        yield from log.succeeded(ticket, model, reply, state.final())
        if state.notify:
            yield Notify([("end", (state.final(),))])
    except AISAError as error:
        if phase == "stream":
            phase = "done"
            yield from log.failed(ticket, model, error)
            yield from log.done("error", error=error)
        if state.notify:
            yield Notify([("error", (error,))])
        raise
    finally:
        if phase == "stream" and watch.watched:  # closed early: the client reports it after
            state.pending = log.abandoned(ticket, model, state.final())


def _open(
    op: Chat, plan: AttemptPlan, state: StreamState, log: CallLog
) -> Generator[Effect, Any, tuple[ChunkReader, list[ChatCompletionChunk], Ticket, Reply]]:
    """Open the stream, retrying and falling back until one answers with a chunk."""

    def one(step: Step) -> Generator[Effect, Any, tuple[Reply, ChunkReader, list[Any]]]:
        reply = yield Open(log.sent(op.request(step.model, step.route)), step.model)
        reader = ChunkReader(step.model)
        return reply, reader, (yield from _head(reply, reader, step.model))

    step, ticket, (reply, reader, head) = yield from attempts(op, plan, log, one, Close())
    state.started(step.model, reply, plan.failures, tuple(plan.skipped))
    return reader, head, ticket, reply


def _head(
    reply: Reply, reader: ChunkReader, model: str
) -> Generator[Effect, Any, list[ChatCompletionChunk]]:
    """Up to the first chunk with something in it; a JSON answer (an error, or a backend that
    ignored ``stream=true``) is one whole chunk."""
    if reads_whole(reply):
        raise_for_status(reply, model)
        reader.done = True
        return [completion_chunk(parse_completion(reply, model))]
    head: list[ChatCompletionChunk] = []
    seen = 0
    while not reader.done and all(c.is_empty for c in head):
        data = yield Read(model, fresh=seen != reader.events)
        seen = reader.events
        head += reader.feed(data) if data else reader.finish()
    return head
