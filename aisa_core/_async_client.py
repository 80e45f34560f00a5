"""``AsyncAISAClient``: the asyncio twin of ``AISAClient``; the same behaviour, awaited.

Only the loops that wait and move bytes differ from the sync client; every decision (payload,
retry, fallback, parsing) comes from the same pure pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ._base import (
    BodyReader,
    ClientSettings,
    dispatch,
    parse_completion,
    parse_json,
    raise_for_status,
)
from ._chunks import ChunkReader, compare_result, gemini_body, model_info, model_infos
from ._client import _split, _timeout
from .config import Timeouts
from ._http import async_client, default_async_transport, map_transport_errors, to_httpx_timeout
from ._retry import AttemptPlan
from ._streams import StreamState, is_json
from .callbacks import StreamHandler
from .content import MessageLike
from .errors import AISAError, NotFoundError
from .types import (
    Balance,
    ChatCompletion,
    ChatCompletionChunk,
    CompareResult,
    CostQuote,
    ModelInfo,
)

__all__ = ["AsyncAISAClient", "AsyncChatStream"]

T = TypeVar("T")


class AsyncAISAClient:
    """Asyncio AIsa client; the same settings and behaviour as ``AISAClient``.

    With the ``speed`` extra installed it sends through an aiohttp connection pool (several
    times httpx's own async throughput at high concurrency); ``transport=`` overrides that.
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        prefer_aiohttp: bool = True,
        **settings: Any,
    ) -> None:
        self._settings = ClientSettings(**settings)
        self._prefer_aiohttp = prefer_aiohttp
        self._http: httpx.AsyncClient | None = http_client
        self._owns_http = http_client is None
        # Our own aiohttp transport is driven directly (see ``_dispatch``); a transport or
        # client passed in always goes through httpx.AsyncClient, hooks and all.
        self._direct = (
            default_async_transport(prefer_aiohttp)
            if self._owns_http and (transport is None)
            else None
        )
        self._transport = transport or self._direct
        self._default_timeout = to_httpx_timeout(self._settings.timeouts).as_dict()
        self._http_lock = threading.Lock()
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    @property
    def http(self) -> httpx.AsyncClient:
        http = self._http
        if http is None:
            with self._http_lock:
                if self._http is None:
                    self._http = async_client(self._settings.timeouts, self._transport)
                http = self._http
        return http

    def __repr__(self) -> str:
        s = self._settings
        return f"AsyncAISAClient(base_url={s.base_url!r}, model={s.model!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._owns_http:
            state["_http"] = None
        if self._direct is not None:
            state["_direct"] = state["_transport"] = True  # rebuilt in the new process
        state["_sleep"] = None
        state["_http_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rebuild = state.get("_direct") is True
        self.__dict__.update(state)
        if rebuild:
            self._direct = default_async_transport(self._prefer_aiohttp)
            self._transport = self._direct
        self._sleep = asyncio.sleep
        self._http_lock = threading.Lock()

    async def aclose(self) -> None:
        if self._http is not None and self._owns_http:
            await self._http.aclose()  # closes its transport, ours included
            self._http = None
        elif self._direct is not None:
            await self._direct.aclose()

    def _request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout: Any,
    ) -> httpx.Request:
        if self._direct is None:
            return self.http.build_request(
                method, url, content=content, headers=headers, timeout=timeout
            )
        default = timeout is httpx.USE_CLIENT_DEFAULT
        extensions = {"timeout": self._default_timeout if default else timeout.as_dict()}
        return httpx.Request(method, url, content=content, headers=headers, extensions=extensions)

    async def _dispatch(
        self, request: httpx.Request, *, stream: bool, model: str = ""
    ) -> httpx.Response:
        """Send ``request``. Through our own transport we skip httpx.AsyncClient's per-request
        work that this client never uses (cookie jar, auth flow, redirect loop, URL merging):
        about half the CPU of a call at 100 in flight. Requests and responses stay httpx's."""
        if self._direct is None:
            response = await self.http.send(request, stream=True)
        else:
            response = await self._direct.handle_async_request(request)
            response.request = request
        if stream:
            return response
        try:
            body = BodyReader(response, model, self._settings.timeouts.total)
            async for data in response.aiter_bytes():
                body.add(data)
        finally:
            await response.aclose()
        return body.response(response)

    async def __aenter__(self) -> AsyncAISAClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        limiter = self._settings.rate_limiter
        return limiter.aslot() if limiter is not None else contextlib.nullcontext()

    async def _attempt(self, plan: AttemptPlan, once: Callable[[str], Awaitable[T]]) -> T:
        step = plan.first()
        while True:
            if step.wait:
                await self._sleep(step.wait)
            try:
                return await once(step.model)
            except AISAError as error:
                step = plan.after_failure(error)

    async def _send(
        self,
        method: str,
        url: str,
        model: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        request = self._request(method, url, content, headers or self._settings.headers, timeout)
        async with self._slot():
            with map_transport_errors(model=model):
                response = await self._dispatch(request, stream=False, model=model)
        raise_for_status(response, model)
        return response

    async def chat(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeouts | None = None,
        **options: Any,
    ) -> ChatCompletion:
        """One answer; see ``AISAClient.chat``."""
        s = self._settings
        payload = s.payload(messages, stream=False, **_split(options))
        headers = s.request_headers(extra_headers, stream=False)
        http_timeout = _timeout(timeout)
        plan = s.plan(s.chain(model, fallback_models))
        started = time.perf_counter()

        async def once(m: str) -> ChatCompletion:
            response = await self._send(
                "POST",
                s.url("/chat/completions"),
                m,
                content=s.body_for(payload, m),
                headers=headers,
                timeout=http_timeout,
            )
            return parse_completion(response, m)

        completion = await self._attempt(plan, once)
        completion.meta.attempts = plan.failures
        completion.meta.latency_s = time.perf_counter() - started
        return completion

    def stream(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        handlers: Sequence[StreamHandler] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeouts | None = None,
        **options: Any,
    ) -> AsyncChatStream:
        """A streamed answer (``async for chunk in ...``); see ``AISAClient.stream``."""
        s = self._settings
        payload = s.payload(messages, stream=True, **_split(options))
        return AsyncChatStream(
            self,
            payload,
            s.chain(model, fallback_models),
            s.handlers_for(handlers),
            s.request_headers(extra_headers, stream=True),
            _timeout(timeout),
        )

    async def list_models(self) -> list[ModelInfo]:
        url = self._settings.url("/models")
        try:
            response = await self._attempt(
                self._settings.plan(["models"]), lambda m: self._send("GET", url, m)
            )
        except NotFoundError:
            return []
        return model_infos(parse_json(response, "GET /models"))

    async def get_model(self, model_id: str) -> ModelInfo | None:
        url = self._settings.url(f"/models/{quote(model_id, safe='')}")
        try:
            response = await self._attempt(
                self._settings.plan(["models"]), lambda m: self._send("GET", url, m)
            )
        except NotFoundError:
            return None
        return model_info(parse_json(response, "GET /models/{id}"), model_id)

    async def balance(self) -> Balance:
        url = self._settings.url("/credits/balance")
        response = await self._attempt(
            self._settings.plan(["credits"]), lambda m: self._send("GET", url, m)
        )
        return Balance.model_validate(parse_json(response, "GET /credits/balance"))

    async def quote(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        model: str | None = None,
        **options: Any,
    ) -> CostQuote:
        s = self._settings
        payload = s.payload(messages, stream=False, **_split(options))
        headers = s.request_headers({"X-AISA-Cost-Mode": "quote"}, stream=False)
        m = s.chain(model, [])[0]
        response = await self._send(
            "POST", s.url("/chat/completions"), m, content=s.body_for(payload, m), headers=headers
        )
        return CostQuote.model_validate(parse_json(response, "cost quote"))

    async def compare_models(
        self, prompt: MessageLike | Iterable[MessageLike], models: Sequence[str], **options: Any
    ) -> list[CompareResult]:
        """The same prompt on several models concurrently; per model the answer or the error."""

        async def one(m: str) -> CompareResult:
            started = time.perf_counter()
            try:
                outcome: ChatCompletion | AISAError = await self.chat(
                    prompt, model=m, fallback_models=[], **options
                )
            except AISAError as error:
                outcome = error
            return compare_result(m, outcome, time.perf_counter() - started)

        return list(await asyncio.gather(*(one(m) for m in models)))

    async def generate_content(
        self, model: str, prompt: str | Sequence[Mapping[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        body = json.dumps(gemini_body(prompt, extra)).encode()
        root = self._settings.root_url
        try:
            response = await self._send(
                "POST", f"{root}/v1beta/models/{model}:generateContent", model, content=body
            )
        except NotFoundError:
            response = await self._send(
                "POST", f"{root}/v1/models/{model}:generateContent", model, content=body
            )
        data: dict[str, Any] = parse_json(response, "generateContent")
        return data


class AsyncChatStream(StreamState, AsyncIterator[ChatCompletionChunk]):
    """Async chunks of one answer; see ``ChatStream``. Use ``async with`` to close early."""

    def __init__(self, client: AsyncAISAClient, *args: Any) -> None:
        super().__init__(*args)
        self._client = client
        self._response: httpx.Response | None = None
        self._slot = contextlib.AsyncExitStack()  # the rate limiter's slot, held until the end
        self._gen = self._run()

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._gen.__anext__()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._gen.aclose()
        if self._response is not None:
            await self._response.aclose()
        await self._slot.aclose()

    async def completion(self) -> ChatCompletion:
        async for _ in self:
            pass
        return self._final()

    async def text_stream(self) -> AsyncIterator[str]:
        async for chunk in self:
            if chunk.text:
                yield chunk.text

    async def _open(
        self, model: str
    ) -> tuple[ChunkReader, AsyncIterator[bytes], list[ChatCompletionChunk]]:
        s = self._client.settings
        request = self._client._request(
            "POST",
            s.url("/chat/completions"),
            s.body_for(self._payload, model),
            self._headers,
            self._timeout,
        )
        await self._slot.enter_async_context(self._client._slot())
        try:
            with map_transport_errors(model=model):
                response = await self._client._dispatch(request, stream=True)
        except BaseException:
            await self._slot.aclose()
            raise
        self._response = response
        try:
            if response.status_code >= 400 or is_json(response):
                await response.aread()
                reader, whole = self._whole_answer(response, model)
                return reader, _empty(), whole
            reader = ChunkReader(model)
            raw = response.aiter_bytes()
            head: list[ChatCompletionChunk] = []
            with map_transport_errors(model=model):
                while not reader.done and all(c.is_empty for c in head):
                    data = await anext(raw, None)
                    head += reader.finish() if data is None else reader.feed(data)
            return reader, raw, head
        except BaseException:
            await response.aclose()
            self._response = None
            await self._slot.aclose()
            raise

    async def _run(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        plan = self._client.settings.plan(self._chain)
        try:
            reader, raw, head = await self._client._attempt(plan, self._open)
            assert self._response is not None
            self._started(plan, self._response)
            for h in self._handlers:
                await _maybe(h.on_start(plan.model, self._payload))
            for chunk in head:
                await self._notify(self._add(chunk))
                if not chunk.is_empty:
                    yield chunk
            with map_transport_errors(model=self.model, streaming=True):
                while not reader.done:
                    data = await anext(raw, None)
                    for chunk in reader.finish() if data is None else reader.feed(data):
                        await self._notify(self._add(chunk))
                        if not chunk.is_empty:
                            yield chunk
            await _adrain(raw)
            await self._notify([("end", self._final())])
        except AISAError as error:
            await self._notify([("error", error)])
            raise
        finally:
            if self._response is not None:
                await self._response.aclose()
            await self._slot.aclose()

    async def _notify(self, events: list[tuple[str, Any]]) -> None:
        if events:
            for result in dispatch(self._handlers, events):
                await _maybe(result)


async def _maybe(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


async def _adrain(raw: AsyncIterator[bytes], limit: int = 65_536) -> None:
    """See ``_client._drain``: read past ``[DONE]`` so the connection goes back to the pool."""
    seen = 0
    with contextlib.suppress(httpx.HTTPError):
        async for data in raw:
            seen += len(data)
            if seen > limit:
                break
