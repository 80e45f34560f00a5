"""``AISAClient``: the synchronous client. A thin loop around the pure pieces in ``_base``."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from .config import Timeouts
from ._http import map_transport_errors, sync_client, to_httpx_timeout
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

__all__ = ["AISAClient", "ChatStream"]

T = TypeVar("T")


class AISAClient:
    """Synchronous AIsa client. Thread safe; one connection pool shared by every call.

    >>> client = AISAClient(model="gpt-4.1-mini", fallback_models=["claude-haiku-4-5-20251001"])
    >>> client.chat("Say hi").text  # doctest: +SKIP

    Settings: ``api_key`` (else ``AISA_API_KEY``), ``base_url`` (else ``AISA_BASE_URL``, with or
    without ``/v1``), ``timeout`` in seconds, ``max_retries``, ``fallback_models``,
    ``default_headers``, ``handlers`` (streaming callbacks), ``http_client``/``transport``.
    """

    def __init__(
        self,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        **settings: Any,
    ) -> None:
        self._settings = ClientSettings(**settings)
        self._transport = transport
        self._http: httpx.Client | None = http_client
        self._owns_http = http_client is None
        self._http_lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    @property
    def http(self) -> httpx.Client:
        """The pooled HTTP client, made on first use (construction never touches the network)."""
        http = self._http
        if http is None:
            with self._http_lock:  # two threads' first calls must share one pool
                if self._http is None:
                    self._http = sync_client(self._settings.timeouts, self._transport)
                http = self._http
        return http

    def __repr__(self) -> str:
        s = self._settings
        return f"AISAClient(base_url={s.base_url!r}, model={s.model!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._owns_http:
            state["_http"] = None
        state["_sleep"] = None
        state["_http_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sleep = time.sleep
        self._http_lock = threading.Lock()

    def __del__(self) -> None:
        # Like the OpenAI SDK: a dropped client closes the pool it owns.
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        if self._http is not None and self._owns_http:
            self._http.close()
            self._http = None

    def __enter__(self) -> AISAClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _slot(self) -> contextlib.AbstractContextManager[None]:
        limiter = self._settings.rate_limiter
        return limiter.slot() if limiter is not None else contextlib.nullcontext()

    # --- the one retry / fallback loop --------------------------------------------------

    def _attempt(self, plan: AttemptPlan, once: Callable[[str], T]) -> T:
        step = plan.first()
        while True:
            if step.wait:
                self._sleep(step.wait)
            try:
                return once(step.model)
            except AISAError as error:
                step = plan.after_failure(error)

    def _send(
        self,
        method: str,
        url: str,
        model: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        http = self.http
        request = http.build_request(
            method,
            url,
            content=content,
            headers=headers or self._settings.headers,
            timeout=timeout,
        )
        with self._slot(), map_transport_errors(model=model):
            streamed = http.send(request, stream=True)
            try:
                body = BodyReader(streamed, model, self._settings.timeouts.total)
                for data in streamed.iter_bytes():
                    body.add(data)
            finally:
                streamed.close()
        response = body.response(streamed)
        raise_for_status(response, model)
        return response

    # --- chat ---------------------------------------------------------------------------

    def chat(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        model: str | None = None,
        fallback_models: Sequence[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeouts | None = None,
        **options: Any,
    ) -> ChatCompletion:
        """One answer. ``options``: ``tools``, ``tool_choice``, ``response_format``, ``strict``,
        ``parallel_tool_calls``, ``extra_body`` and any request parameter (``temperature``,
        ``max_tokens``, ``stop``, ...; unknown ones pass through)."""
        s = self._settings
        payload = s.payload(messages, stream=False, **_split(options))
        headers = s.request_headers(extra_headers, stream=False)
        http_timeout = _timeout(timeout)
        plan = s.plan(s.chain(model, fallback_models))
        started = time.perf_counter()

        def once(m: str) -> ChatCompletion:
            response = self._send(
                "POST",
                s.url("/chat/completions"),
                m,
                content=s.body_for(payload, m),
                headers=headers,
                timeout=http_timeout,
            )
            return parse_completion(response, m)

        completion = self._attempt(plan, once)
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
    ) -> ChatStream:
        """A streamed answer: iterate it for chunks, or call ``completion()`` for the whole.

        Falls back to the next model only while nothing has reached the caller."""
        s = self._settings
        payload = s.payload(messages, stream=True, **_split(options))
        return ChatStream(
            self,
            payload,
            s.chain(model, fallback_models),
            s.handlers_for(handlers),
            s.request_headers(extra_headers, stream=True),
            _timeout(timeout),
        )

    # --- models and account -------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """The gateway's models merged with the capability table; ``[]`` if the route is absent."""
        try:
            response = self._attempt(
                self._settings.plan(["models"]),
                lambda m: self._send("GET", self._settings.url("/models"), m),
            )
        except NotFoundError:
            return []
        return model_infos(parse_json(response, "GET /models"))

    def get_model(self, model_id: str) -> ModelInfo | None:
        """One model (``GET /v1/models/{id}``, merged with the capability table), or ``None``
        when the gateway does not know it (404)."""
        url = self._settings.url(f"/models/{quote(model_id, safe='')}")
        try:
            response = self._attempt(
                self._settings.plan(["models"]), lambda m: self._send("GET", url, m)
            )
        except NotFoundError:
            return None
        return model_info(parse_json(response, "GET /models/{id}"), model_id)

    def balance(self) -> Balance:
        response = self._attempt(
            self._settings.plan(["credits"]),
            lambda m: self._send("GET", self._settings.url("/credits/balance"), m),
        )
        return Balance.model_validate(parse_json(response, "GET /credits/balance"))

    def quote(
        self,
        messages: MessageLike | Iterable[MessageLike],
        *,
        model: str | None = None,
        **options: Any,
    ) -> CostQuote:
        """What a chat request would cost, validated but not run (``X-AISA-Cost-Mode: quote``)."""
        s = self._settings
        payload = s.payload(messages, stream=False, **_split(options))
        headers = s.request_headers({"X-AISA-Cost-Mode": "quote"}, stream=False)
        m = s.chain(model, [])[0]
        response = self._send(
            "POST", s.url("/chat/completions"), m, content=s.body_for(payload, m), headers=headers
        )
        return CostQuote.model_validate(parse_json(response, "cost quote"))

    def compare_models(
        self, prompt: MessageLike | Iterable[MessageLike], models: Sequence[str], **options: Any
    ) -> list[CompareResult]:
        """The same prompt on several models at once; per model the answer or the error."""

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
            return list(pool.map(one, models))

    def generate_content(
        self, model: str, prompt: str | Sequence[Mapping[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        """Gemini's native ``generateContent`` (no streaming variant is documented); tries the
        current ``/v1beta`` route, then the older ``/v1`` one."""
        body = json.dumps(gemini_body(prompt, extra)).encode()
        root = self._settings.root_url
        try:
            response = self._send(
                "POST", f"{root}/v1beta/models/{model}:generateContent", model, content=body
            )
        except NotFoundError:
            response = self._send(
                "POST", f"{root}/v1/models/{model}:generateContent", model, content=body
            )
        data: dict[str, Any] = parse_json(response, "generateContent")
        return data


class ChatStream(StreamState, Iterator[ChatCompletionChunk]):
    """Chunks of one answer, each with something in it (no empty role-only chunk).

    ``model`` is the model that serves it, ``meta`` the headers' facts and the failed attempts
    before it. Closing it (or leaving its ``with`` block) closes the HTTP response.
    """

    def __init__(self, client: AISAClient, *args: Any) -> None:
        super().__init__(*args)
        self._client = client
        self._response: httpx.Response | None = None
        self._slot = contextlib.ExitStack()  # the rate limiter's slot, held until the end
        self._gen = self._run()

    def __next__(self) -> ChatCompletionChunk:
        return next(self._gen)

    def __iter__(self) -> ChatStream:
        return self

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._gen.close()
        if self._response is not None:
            self._response.close()
        self._slot.close()

    def completion(self) -> ChatCompletion:
        """Read whatever is left and return the whole answer."""
        for _ in self:
            pass
        return self._final()

    def text_stream(self) -> Iterator[str]:
        for chunk in self:
            if chunk.text:
                yield chunk.text

    def _open(self, model: str) -> tuple[ChunkReader, Iterator[bytes], list[ChatCompletionChunk]]:
        """Send, check the status, and read up to the first chunk with content in it."""
        s = self._client.settings
        request = self._client.http.build_request(
            "POST",
            s.url("/chat/completions"),
            content=s.body_for(self._payload, model),
            headers=self._headers,
            timeout=self._timeout,
        )
        self._slot.enter_context(self._client._slot())
        try:
            with map_transport_errors(model=model):
                response = self._client.http.send(request, stream=True)
        except BaseException:
            self._slot.close()
            raise
        self._response = response
        try:
            if response.status_code >= 400 or is_json(response):
                response.read()
                reader, whole = self._whole_answer(response, model)
                return reader, iter(()), whole
            reader = ChunkReader(model)
            raw = response.iter_bytes()
            head: list[ChatCompletionChunk] = []
            with map_transport_errors(model=model):
                while not reader.done and all(c.is_empty for c in head):
                    data = next(raw, None)
                    head += reader.finish() if data is None else reader.feed(data)
            return reader, raw, head
        except BaseException:
            response.close()
            self._response = None
            self._slot.close()
            raise

    def _run(self) -> Generator[ChatCompletionChunk, None, None]:
        plan = self._client.settings.plan(self._chain)
        try:
            reader, raw, head = self._client._attempt(plan, self._open)
            assert self._response is not None
            self._started(plan, self._response)
            for h in self._handlers:
                h.on_start(plan.model, self._payload)
            yield from self._deliver(head)
            with map_transport_errors(model=self.model, streaming=True):
                while not reader.done:
                    data = next(raw, None)
                    yield from self._deliver(reader.finish() if data is None else reader.feed(data))
            _drain(raw)
            dispatch(self._handlers, [("end", self._final())])
        except AISAError as error:
            dispatch(self._handlers, [("error", error)])
            raise
        finally:
            if self._response is not None:
                self._response.close()
            self._slot.close()

    def _deliver(self, chunks: list[ChatCompletionChunk]) -> Iterator[ChatCompletionChunk]:
        for chunk in chunks:
            dispatch(self._handlers, self._add(chunk))
            if not chunk.is_empty:
                yield chunk


def _split(options: dict[str, Any]) -> dict[str, Any]:
    """Separate payload options from request parameters (``temperature`` etc.)."""
    named = (
        "tools",
        "tool_choice",
        "response_format",
        "strict",
        "parallel_tool_calls",
        "extra_body",
    )
    out: dict[str, Any] = {k: options.pop(k) for k in named if k in options}
    out["params"] = options
    return out


def _timeout(value: float | Timeouts | None) -> Any:
    return httpx.USE_CLIENT_DEFAULT if value is None else to_httpx_timeout(Timeouts.of(value))


def _drain(raw: Iterator[bytes], limit: int = 65_536) -> None:
    """Read what follows ``[DONE]`` (usually nothing) so the connection can be reused;
    without it every sync stream would cost a new connection (and a TLS handshake)."""
    seen = 0
    with contextlib.suppress(httpx.HTTPError):
        for data in raw:
            seen += len(data)
            if seen > limit:
                break
