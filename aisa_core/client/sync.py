"""``AISAClient``: the synchronous client.

Every endpoint is a pure operation (``aisa_core.protocol``) run by one loop, ``_call``, which
performs what the call asks for (sleep, send, read, close, tell the handlers) on one pooled
``httpx.Client``; retries, fallbacks and parsing are decided in the protocol, once for both
clients.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from aisa_core.transport import sync_http
from aisa_core.transport.graveyard import close_buried
from aisa_core.transport.sync import SyncBody
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

__all__ = ["AISAClient", "ChatStream"]

T = TypeVar("T")


class _IO:
    """Performs one call's effects and owns what it opened: a stream's body and its
    rate-limit slot. Dropped unclosed (a stream left without ``close()``), it closes them; from
    the garbage collector's finaliser it only hands them to the graveyard, for the next call
    (``transport.graveyard``: never a lock taken in a finaliser)."""

    __slots__ = ("_body", "_client", "_handlers", "_lease", "_limiter")

    def __init__(self, client: AISAClient, handlers: Sequence[StreamHandler] = ()) -> None:
        self._client = client
        self._handlers = handlers
        self._body: SyncBody | None = None
        self._limiter: RateLimiter | None = None
        self._lease: str | None = None

    def perform(self, effect: fx.Effect) -> Any:
        return getattr(self, effect.verb)(effect)

    def _sleep(self, effect: fx.Sleep) -> None:
        self._client._sleep(effect.seconds)

    def _send(self, effect: fx.Send) -> Reply:
        limiter = self._client.settings.rate_limiter
        if limiter is None:
            return self._client._http.send(effect.request, effect.model)
        close_buried()  # slots of streams dropped during a garbage collection come back first
        with limiter.slot():
            return self._client._http.send(effect.request, effect.model)

    def _open(self, effect: fx.Open) -> Reply:
        limiter = self._client.settings.rate_limiter
        if limiter is not None:
            close_buried()
            self._lease = limiter.acquire()
            self._limiter = limiter
        reply, self._body = self._client._http.open(effect.request, effect.model)
        return reply

    def _read(self, effect: fx.Read) -> bytes:
        assert self._body is not None
        return self._body.read(fresh=effect.fresh, streaming=effect.streaming)

    def _close(self, effect: fx.Close) -> None:
        body, limiter, self._body, self._limiter = self._body, self._limiter, None, None
        try:
            if body is not None:
                body.close(drain=effect.drain)
        finally:
            if limiter is not None:
                give_back(limiter, self._lease)

    def _notify(self, effect: fx.Notify) -> None:
        dispatch(self._handlers, effect.events)

    def _admit(self, effect: fx.Admit) -> Ticket:
        return self._client.settings.gates.admit(effect.info)

    def _leave(self, effect: fx.Leave) -> None:
        self._client.settings.gates.leave(effect.ticket, effect.report)

    def _done(self, effect: fx.Done) -> None:
        self._client.settings.gates.done(effect.report)

    def close(self) -> None:
        self._close(fx.Close())

    def __del__(self) -> None:
        if self._body is not None or self._limiter is not None:
            with contextlib.suppress(Exception):
                self.close()


class AISAClient(ClientBase):
    """Synchronous AIsa client. Thread safe; one connection pool shared by every call.

    >>> client = AISAClient(model="gpt-4.1-mini", fallback_models=["claude-haiku-4-5-20251001"])
    >>> client.chat("Say hi").text  # doctest: +SKIP

    Settings: ``api_key`` (else ``AISA_API_KEY``), ``base_url`` (else ``AISA_BASE_URL``, with or
    without ``/v1``), ``timeout`` in seconds, ``max_retries``, ``fallback_models``,
    ``default_headers``, ``handlers`` (streaming callbacks), ``rate_limiter``,
    ``http_client``/``transport``. Construction does no I/O.
    """

    _default_sleep = staticmethod(time.sleep)
    _sleep: Callable[[float], None]

    def __init__(
        self,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(ClientSettings(**settings))
        s = self._settings
        self._http = sync_http(s.timeouts, s.base_url, client=http_client, transport=transport)

    @property
    def http(self) -> httpx.Client:
        """The pooled HTTP client, made on first use (construction never touches the network)."""
        return self._http.client

    def __del__(self) -> None:
        # Like the OpenAI SDK: a dropped client closes the pool it owns.
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AISAClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, op: Operation[T]) -> T:
        """Run ``op``: perform each effect its call asks for, until it returns or raises."""
        io = _IO(self)
        s = self._settings
        driver = fx.Driver(run(op, s.plan(op.models, op.routes), s.watch), s.secret)
        try:
            while (effect := driver.next()) is not None:
                try:
                    driver.give(io.perform(effect))
                except Exception as error:
                    driver.fail(error)
            return cast(T, driver.result)
        finally:
            io.close()

    # --- endpoints: one operation each -----------------------------------------------------

    def chat(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> ChatCompletion:
        """One answer. ``options``: ``tools``, ``tool_choice``, ``response_format``, ``strict``,
        ``parallel_tool_calls``, ``extra_body``, ``extra_headers``, ``timeout`` and any request
        parameter (``temperature``, ``max_tokens``, ``stop``, ...; unknown ones pass through)."""
        return self._call(Chat(self._settings, messages, model, fallback_models, options))

    def stream(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        handlers: Sequence[StreamHandler] | None = None,
        **options: Any,
    ) -> ChatStream:
        """A streamed answer: iterate it for chunks, or call ``completion()`` for the whole.

        Falls back to the next model only while nothing has reached the caller."""
        op = Chat(self._settings, messages, model, fallback_models, options, stream=True)
        return ChatStream(self, op, self._settings.handlers_for(handlers))

    def list_models(self) -> ModelList:
        """The gateway's models merged with the capability table; ``[]`` if the route is absent."""
        models: list[ModelInfo] = self._call(ListModels(self._settings))
        return ModelList(models)

    def get_model(self, model_id: str) -> ModelInfo | None:
        """One model (``GET /v1/models/{id}``, merged with the capability table), or ``None``
        when the gateway does not know it (404)."""
        return self._call(GetModel(self._settings, model_id))

    def balance(self) -> Balance:
        return self._call(GetBalance(self._settings))

    def quote(self, messages: Messages, *, model: str | None = None, **options: Any) -> CostQuote:
        """What a chat request would cost, validated but not run (``X-AISA-Cost-Mode: quote``)."""
        return self._call(Quote(self._settings, messages, model, options))

    def generate_content(
        self,
        model: str,
        prompt: str | Sequence[Mapping[str, Any]],
        *,
        fallback_models: Sequence[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Gemini's native ``generateContent`` (no streaming variant is documented); tries the
        current ``/v1beta`` route, then the older ``/v1`` one. Retried like ``chat``; falls back
        to ``fallback_models`` (Gemini models) only when given."""
        op = GenerateContent(self._settings, model, prompt, extra, fallback_models)
        return self._call(op)

    def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        dimensions: int | None = None,
        batch_size: int | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> Embeddings:
        """Vectors for one text or many, in input order, with ``usage``, ``cost_usd`` and the
        model that served them.

        Inputs are split into batches of at most ``batch_size`` (256) and an estimated token
        budget per request; a few batches run at once (``max_concurrency=4``), each retried
        with the client's policy. ``dimensions`` shortens vectors on models that can.

        No fallback to another model unless ``fallback_models`` is given: vectors of two
        embedding models are not comparable, so the client's chat fallbacks are never used
        here, and with explicit fallbacks every batch of the call uses the model that served
        the first one. Empty strings, non-strings, a text too long for the model and
        ``dimensions`` a model cannot give raise ``InvalidInputError`` before any request.
        Other ``options``: ``extra_headers``, ``timeout``, ``extra_body``, ``encoding_format``
        (``"base64"`` unless given) and request parameters such as Jina's ``task``.
        """
        from .batches import run_batches

        job = self._embed_job(input, model, dimensions, batch_size, fallback_models, options)
        return run_batches(job, self._call)

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        model: str = DEFAULT_RERANK_MODEL,
        top_n: int | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> Ranking:
        """``documents`` ordered by relevance to ``query``, best first, at most ``top_n``: each
        result has ``index`` (into ``documents``), ``relevance_score`` and ``document``. No
        documents: an empty ranking, without a request. No fallback unless named."""
        op = self._rerank_op(query, documents, model, top_n, fallback_models, options)
        return self._call(op) if op.documents else op.empty()

    def compare_models(self, prompt: Messages, models: Sequence[str], **options: Any) -> Comparison:
        """The same prompt on several models at once; per model the answer or the error."""
        models = model_ids(models, "models")  # a bare string is not read letter by letter

        def one(m: str) -> CompareResult:
            started = time.perf_counter()
            try:
                outcome: ChatCompletion | AISAError = self.chat(
                    prompt, model=m, fallback_models=[], **options
                )
            except AISAError as error:
                outcome = error
            return compare_result(m, outcome, time.perf_counter() - started)

        with ThreadPoolExecutor(max_workers=max(1, min(16, len(models)))) as pool:
            # Each in the caller's context, so observers see these calls where the caller is
            # (its trace span, its usage tracker).
            futures = [pool.submit(contextvars.copy_context().run, one, m) for m in models]
            return Comparison(f.result() for f in futures)


class ChatStream(StreamBase, Iterator[ChatCompletionChunk]):
    """Chunks of one answer, each with something in it (no empty role-only chunk).

    ``model`` is the model that serves it, ``meta`` the headers' facts and the failed attempts
    before it, ``accumulator`` what has arrived so far. Closing it (or leaving its ``with``
    block) closes the HTTP response and gives back its rate-limit slot. A stream let go of
    unclosed (``for chunk in stream: break``) does the same at once: it holds no reference
    cycle, and holds only a generator of effects, never itself; if the garbage collector
    finalises it (a cycle of the caller's making), the next call closes it.
    """

    def __init__(self, client: AISAClient, op: Chat, handlers: Sequence[StreamHandler]) -> None:
        super().__init__(client.settings, op, handlers)
        self._io = _IO(client, handlers)

    def __next__(self) -> ChatCompletionChunk:
        driver, io = self._driver, self._io
        try:
            while (effect := driver.next()) is not None:
                if type(effect) is fx.Emit:
                    return effect.chunk
                try:
                    driver.give(io.perform(effect))
                except Exception as error:
                    driver.fail(error)
        except BaseException:
            self.close()
            raise
        self.close()
        raise StopIteration

    def __iter__(self) -> ChatStream:
        return self

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._driver.close()
        self._io.close()
        for effect in self._pending():  # a stream closed early: its reports, now
            self._io.perform(effect)

    def completion(self) -> ChatCompletion:
        """fx.Read whatever is left and return the whole answer."""
        for _ in self:
            pass
        return self._final()

    def text_stream(self) -> Iterator[str]:
        for chunk in self:
            if chunk.text:
                yield chunk.text
