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
from aisa_core.protocol.account import GetBalance
from aisa_core.protocol.chat import Chat, Messages, Quote, compare_result
from aisa_core.protocol.effects import (
    Admit,
    Close,
    Done,
    Driver,
    Effect,
    Emit,
    Leave,
    Notify,
    Open,
    Read,
    Send,
    Sleep,
)
from aisa_core.protocol.embeddings import EmbedJob
from aisa_core.protocol.gemini import GenerateContent
from aisa_core.protocol.models import GetModel, ListModels
from aisa_core.protocol.operation import Operation, run
from aisa_core.protocol.rerank import Rerank
from aisa_core.protocol.wire import Reply
from aisa_core.retrieval import Embeddings, Ranking
from aisa_core.transport import async_http
from aisa_core.types import (
    Balance,
    ChatCompletion,
    ChatCompletionChunk,
    CompareResult,
    CostQuote,
    ModelInfo,
)

from .batches import arun_batches
from .settings import ClientSettings
from .shared import ClientBase, StreamBase

if TYPE_CHECKING:
    import httpx

    from aisa_core.ratelimit import RateLimiter
    from aisa_core.transport.aio import AsyncBody

__all__ = ["AsyncAISAClient", "AsyncChatStream"]

T = TypeVar("T")


class _AsyncIO:
    """Performs one call's effects, awaited; owns a stream's body and its rate-limit slot."""

    __slots__ = ("_body", "_client", "_handlers", "_lease", "_limiter")

    def __init__(self, client: AsyncAISAClient, handlers: Sequence[StreamHandler] = ()) -> None:
        self._client = client
        self._handlers = handlers
        self._body: AsyncBody | None = None
        self._limiter: RateLimiter | None = None
        self._lease: str | None = None

    def perform(self, effect: Effect) -> Awaitable[Any]:
        return _PERFORM[type(effect)](self, effect)

    async def _sleep(self, effect: Sleep) -> None:
        await self._client._sleep(effect.seconds)

    async def _send(self, effect: Send) -> Reply:
        limiter = self._client.settings.rate_limiter
        if limiter is None:
            return await self._client._http.send(effect.request, effect.model)
        async with limiter.aslot():
            return await self._client._http.send(effect.request, effect.model)

    async def _open(self, effect: Open) -> Reply:
        limiter = self._client.settings.rate_limiter
        if limiter is not None:
            self._lease = await limiter.aacquire()
            self._limiter = limiter
        reply, self._body = await self._client._http.open(effect.request, effect.model)
        return reply

    async def _read(self, effect: Read) -> bytes:
        assert self._body is not None
        return await self._body.read(fresh=effect.fresh, streaming=effect.streaming)

    async def _close(self, effect: Close) -> None:
        body, limiter, self._body, self._limiter = self._body, self._limiter, None, None
        try:
            if body is not None:
                await body.close(drain=effect.drain)
        finally:
            if limiter is not None:
                await limiter.arelease(self._lease)

    async def _notify(self, effect: Notify) -> None:
        for result in dispatch(self._handlers, effect.events):
            if inspect.isawaitable(result):
                await result

    async def _admit(self, effect: Admit) -> Ticket:
        return await self._client.settings.gates.aadmit(effect.info)

    async def _leave(self, effect: Leave) -> None:
        await self._client.settings.gates.aleave(effect.ticket, effect.report)

    async def _done(self, effect: Done) -> None:
        await self._client.settings.gates.adone(effect.report)

    async def aclose(self) -> None:
        await self._close(Close())


_PERFORM: dict[type[Effect], Callable[[_AsyncIO, Any], Awaitable[Any]]] = {
    Sleep: _AsyncIO._sleep,
    Send: _AsyncIO._send,
    Open: _AsyncIO._open,
    Read: _AsyncIO._read,
    Close: _AsyncIO._close,
    Notify: _AsyncIO._notify,
    Admit: _AsyncIO._admit,
    Leave: _AsyncIO._leave,
    Done: _AsyncIO._done,
}


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
        driver = Driver(run(op, s.plan(op.models, op.routes), s.watch), s.secret)
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
        job = EmbedJob(
            self._settings,
            input,
            model=model,
            dimensions=dimensions,
            batch_size=batch_size,
            fallback_models=fallback_models,
            **options,
        )
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
        op = Rerank(
            self._settings,
            query,
            documents,
            model=model,
            top_n=top_n,
            fallback_models=fallback_models,
            **options,
        )
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
    """Async chunks of one answer; see ``ChatStream``. Use ``async with`` to close early."""

    def __init__(
        self, client: AsyncAISAClient, op: Chat, handlers: Sequence[StreamHandler]
    ) -> None:
        super().__init__(client.settings, op, handlers)
        self._io = _AsyncIO(client, handlers)

    async def __anext__(self) -> ChatCompletionChunk:
        driver, io = self._driver, self._io
        try:
            while (effect := driver.next()) is not None:
                if type(effect) is Emit:
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
