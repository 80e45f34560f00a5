"""``AsyncAISAClient``: the asyncio twin of ``AISAClient``; the same calls, awaited.

It runs the same pure operations as the sync client (``aisa_core.protocol``); only the way each
effect is performed differs (``asyncio.sleep``, an awaited send, handlers that may be
``async def``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aisa_core.admission import Ticket
from aisa_core.callbacks import StreamHandler, dispatch
from aisa_core.config import model_ids
from aisa_core.display import Comparison, ModelList
from aisa_core.embedding_models import DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANK_MODEL
from aisa_core.errors import AISAError
from aisa_core.protocol import effects as fx
from aisa_core.protocol.account import GetBalance
from aisa_core.protocol.chat import Chat, Messages, Quote, compare_result
from aisa_core.protocol.gemini import GenerateContent
from aisa_core.protocol.models import GetModel, ListModels
from aisa_core.protocol.operation import Operation, run
from aisa_core.protocol.wire import Reply
from aisa_core.transport import async_http
from aisa_core.transport.graveyard import close_buried
from aisa_core.types import (
    Balance,
    ChatCompletion,
    ChatCompletionChunk,
    CompareResult,
    CostQuote,
    ModelInfo,
)

from .settings import ClientSettings
from .shared import ClientBase, StreamBase, give_back

if TYPE_CHECKING:
    import httpx

    from aisa_core.ratelimit import RateLimiter
    from aisa_core.retrieval import Embeddings, Ranking
    from aisa_core.transport.aio import AsyncBody

__all__ = ["AsyncAISAClient", "AsyncChatStream"]

T = TypeVar("T")


class _AsyncIO:
    """Performs one call's effects, awaited; owns a stream's body and its rate-limit slot.
    Dropped unclosed (a stream left without ``aclose()``), it has them closed on their event
    loop, soon after, in ordinary code (a finaliser can neither await nor take a lock)."""

    __slots__ = ("_body", "_client", "_handlers", "_lease", "_limiter", "_loop")

    def __init__(self, client: AsyncAISAClient, handlers: Sequence[StreamHandler] = ()) -> None:
        self._client = client
        self._handlers = handlers
        self._body: AsyncBody | None = None
        self._limiter: RateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lease: str | None = None  # a shared limiter's lease on the slot

    def perform(self, effect: fx.Effect) -> Awaitable[Any]:
        return getattr(self, effect.verb)(effect)  # type: ignore[no-any-return]

    async def _sleep(self, effect: fx.Sleep) -> None:
        await self._client._sleep(effect.seconds)

    async def _send(self, effect: fx.Send) -> Reply:
        limiter = self._client.settings.rate_limiter
        if limiter is None:
            return await self._client._http.send(effect.request, effect.model)
        close_buried()  # slots of streams dropped during a garbage collection come back first
        async with limiter.aslot():
            return await self._client._http.send(effect.request, effect.model)

    async def _open(self, effect: fx.Open) -> Reply:
        self._loop = asyncio.get_running_loop()
        limiter = self._client.settings.rate_limiter
        if limiter is not None:
            close_buried()
            self._lease = await limiter.aacquire()
            self._limiter = limiter
        reply, self._body = await self._client._http.open(effect.request, effect.model)
        return reply

    async def _read(self, effect: fx.Read) -> bytes:
        assert self._body is not None
        return await self._body.read(fresh=effect.fresh, streaming=effect.streaming)

    async def _close(self, effect: fx.Close) -> None:
        body, limiter, self._body, self._limiter = self._body, self._limiter, None, None
        await _finish(body, limiter, self._lease, effect.drain)

    async def _notify(self, effect: fx.Notify) -> None:
        for result in dispatch(self._handlers, effect.events):
            if inspect.isawaitable(result):
                await result

    async def _admit(self, effect: fx.Admit) -> Ticket:
        return await self._client.settings.gates.aadmit(effect.info)

    async def _leave(self, effect: fx.Leave) -> None:
        await self._client.settings.gates.aleave(effect.ticket, effect.report)

    async def _done(self, effect: fx.Done) -> None:
        await self._client.settings.gates.adone(effect.report)

    async def aclose(self) -> None:
        await self._close(fx.Close())

    def __del__(self) -> None:
        body, limiter = self._body, self._limiter
        if (body is None and limiter is None) or self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(_reap, body, limiter, self._lease)
        except RuntimeError:  # the loop is closed: its sockets went with it; the slot comes back
            if limiter is not None:
                give_back(limiter, self._lease)


_REAPING: set[asyncio.Task[None]] = set()
"""Closes of dropped streams in progress (a task nobody references could be collected)."""


def _reap(body: AsyncBody | None, limiter: RateLimiter | None, lease: str | None) -> None:
    task = asyncio.ensure_future(_finish(body, limiter, lease))
    _REAPING.add(task)
    task.add_done_callback(_reaped)


def _reaped(task: asyncio.Task[None]) -> None:
    _REAPING.discard(task)
    if not task.cancelled():
        task.exception()  # nobody is left to tell; retrieved so asyncio does not log it


async def _finish(
    body: AsyncBody | None, limiter: RateLimiter | None, lease: str | None, drain: bool = False
) -> None:
    try:
        if body is not None:
            await body.close(drain=drain)
    finally:
        if limiter is not None:
            await limiter.arelease(lease)


class AsyncAISAClient(ClientBase):
    """Asyncio AIsa client; the same settings and calls as ``AISAClient``, awaited.

    ``prefer_aiohttp`` (default) sends through our own aiohttp pool; an injected
    ``http_client`` or ``transport`` (``httpx.AsyncClient`` / ``httpx.AsyncBaseTransport``)
    carries every request instead, event hooks and all.
    """

    _default_sleep = staticmethod(asyncio.sleep)
    _sleep: Callable[[float], Awaitable[None]]

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        prefer_aiohttp: bool = True,
        **settings: Any,
    ) -> None:
        super().__init__(ClientSettings(**settings))
        self._http = async_http(
            self._settings.timeouts,
            self._settings.base_url,
            client=http_client,
            transport=transport,
            prefer_aiohttp=prefer_aiohttp,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAISAClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(self, op: Operation[T]) -> T:
        """Run ``op``: perform each effect its call asks for, until it returns or raises."""
        io = _AsyncIO(self)
        s = self._settings
        driver = fx.Driver(run(op, s.plan(op.models, op.routes), s.watch), s.secret)
        try:
            while (effect := driver.next()) is not None:
                try:
                    driver.give(await io.perform(effect))
                except Exception as error:
                    driver.fail(error)
            return cast(T, driver.result)
        finally:
            await io.aclose()

    # --- endpoints: one operation each (see ``AISAClient`` for what they do) ----------------

    async def chat(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> ChatCompletion:
        """One answer; see ``AISAClient.chat``."""
        return await self._call(Chat(self._settings, messages, model, fallback_models, options))

    def stream(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        handlers: Sequence[StreamHandler] | None = None,
        **options: Any,
    ) -> AsyncChatStream:
        """A streamed answer (``async for chunk in ...``); see ``AISAClient.stream``."""
        op = Chat(self._settings, messages, model, fallback_models, options, stream=True)
        return AsyncChatStream(self, op, self._settings.handlers_for(handlers))

    async def list_models(self) -> ModelList:
        models: list[ModelInfo] = await self._call(ListModels(self._settings))
        return ModelList(models)

    async def get_model(self, model_id: str) -> ModelInfo | None:
        return await self._call(GetModel(self._settings, model_id))

    async def balance(self) -> Balance:
        return await self._call(GetBalance(self._settings))

    async def quote(
        self, messages: Messages, *, model: str | None = None, **options: Any
    ) -> CostQuote:
        return await self._call(Quote(self._settings, messages, model, options))

    async def generate_content(
        self,
        model: str,
        prompt: str | Sequence[Mapping[str, Any]],
        *,
        fallback_models: Sequence[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        op = GenerateContent(self._settings, model, prompt, extra, fallback_models)
        return await self._call(op)

    async def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        dimensions: int | None = None,
        batch_size: int | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> Embeddings:
        """Vectors in input order; batches run concurrently (``max_concurrency=4``). See
        ``AISAClient.embed``: no fallback to another model unless named."""
        from .batches import arun_batches

        job = self._embed_job(input, model, dimensions, batch_size, fallback_models, options)
        return await arun_batches(job, self._call)

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> Ranking:
        """``documents`` best first; see ``AISAClient.rerank``."""
        op = self._rerank_op(query, documents, model, top_n, fallback_models, options)
        return await self._call(op) if op.documents else op.empty()

    async def compare_models(
        self, prompt: Messages, models: Sequence[str], **options: Any
    ) -> Comparison:
        """The same prompt on several models concurrently; per model the answer or the error."""
        models = model_ids(models, "models")  # a bare string is not read letter by letter

        async def one(m: str) -> CompareResult:
            started = time.perf_counter()
            try:
                outcome: ChatCompletion | AISAError = await self.chat(
                    prompt, model=m, fallback_models=[], **options
                )
            except AISAError as error:
                outcome = error
            return compare_result(m, outcome, time.perf_counter() - started)

        return Comparison(await asyncio.gather(*(one(m) for m in models)))


class AsyncChatStream(StreamBase, AsyncIterator[ChatCompletionChunk]):
    """Async chunks of one answer; see ``ChatStream``. Use ``async with`` to close early; a
    stream let go of unclosed is closed on its event loop soon after."""

    def __init__(
        self, client: AsyncAISAClient, op: Chat, handlers: Sequence[StreamHandler]
    ) -> None:
        super().__init__(client.settings, op, handlers)
        self._io = _AsyncIO(client, handlers)

    async def __anext__(self) -> ChatCompletionChunk:
        driver, io = self._driver, self._io
        try:
            while (effect := driver.next()) is not None:
                if type(effect) is fx.Emit:
                    return effect.chunk
                try:
                    driver.give(await io.perform(effect))
                except Exception as error:
                    driver.fail(error)
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        raise StopAsyncIteration

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._driver.close()
        await self._io.aclose()
        for effect in self._pending():  # a stream closed early: its reports, now
            await self._io.perform(effect)

    async def completion(self) -> ChatCompletion:
        async for _ in self:
            pass
        return self._final()

    async def text_stream(self) -> AsyncIterator[str]:
        async for chunk in self:
            if chunk.text:
                yield chunk.text
