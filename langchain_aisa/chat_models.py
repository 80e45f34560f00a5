"""``ChatAISA``: the AIsa gateway as a LangChain chat model, built on ``aisa_core``.

All HTTP, retries and fallbacks happen in the core client; this module only translates
(see ``_convert``) and maps errors (see ``_errors``).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal, get_args

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from aisa_core import (
    AISAClient,
    AsyncAISAClient,
    Budget,
    ModelHealth,
    RateLimiter,
    capabilities,
    normalize_base_url,
    normalize_tool_choice,
    resolve_api_key,
)

from ._clients import CLIENT_ATTRS, cached_client
from ._convert import _convert_messages
from ._errors import mapped_errors
from ._responses import ChunkConverter, _combine_llm_outputs, _convert_completion
from ._serialization import allow_load_all
from ._structured import json_schema_format, output_parser, parsed_output

__all__ = ["ChatAISA"]

_SOURCE = "langchain-aisa"
# Declared request parameters: model_kwargs may not set these behind the field's back.
_REQUEST_FIELDS = frozenset(
    (
        "model",
        "model_name",
        "temperature",
        "max_tokens",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
        "seed",
        "stop",
        "stream",
        "messages",
        "tools",
        "tool_choice",
    )
)
StructuredMethod = Literal["function_calling", "json_mode", "json_schema"]


class ChatAISA(BaseChatModel):
    """A LangChain chat model for the AIsa gateway (``https://api.aisa.one/v1``).

    >>> from langchain_aisa import ChatAISA
    >>> llm = ChatAISA(model="gpt-4.1", fallback_models=["claude-sonnet-4-5-20250929"])
    >>> llm.invoke("Hello").content  # doctest: +SKIP

    Setup: the key comes from ``api_key=`` or ``AISA_API_KEY``; the base URL from
    ``base_url=`` or ``AISA_BASE_URL`` (with or without ``/v1``). Construction does no I/O.

    Behaviour worth knowing:

    - ``fallback_models`` is a chain run by the core client: on a 429, 5xx, unknown model,
      connection failure or an in-band stream error it moves to the next model, and a stream
      falls back only before its first token. It keeps working through ``bind_tools`` and
      ``with_structured_output``. With a fallback left, a failure moves on at once;
      ``retry_before_fallback=True`` retries each model first. ``max_retries`` is the core's
      only retry layer: do not add ``with_retry`` on top.
    - ``response_metadata`` names the model that *served* the answer (``model_name``), the
      ``requested_model``, ``id``, ``request_id``, ``finish_reason``, ``fallback_attempts``,
      ``skipped_models`` when ``aisa_health`` skipped cooling models (``model``, ``reason``,
      ``until``) and, when the gateway sends them, ``cost`` (USD) and ``credits_remaining``.
    - Streams never start with an empty chunk; ``stream_usage`` (on by default) puts token
      usage on the last chunk; reasoning text arrives in
      ``additional_kwargs["reasoning_content"]``.
    - Errors are langchain-core's standard ones (``ModelRateLimitError``, ...) that are also
      the core's (``aisa_core.RateLimitError``, ...); see ``langchain_aisa._errors``.
    - ``get_num_tokens`` is a local estimate (about four characters per token), so nothing
      is downloaded; the gateway's ``usage`` is the exact count.
    """

    # hide_input_in_errors: a validation error must never print the arguments (the key).
    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        protected_namespaces=(),
        hide_input_in_errors=True,
    )

    model_name: str = Field(alias="model")
    """Model id, e.g. ``gpt-4.1`` or ``claude-sonnet-4-5-20250929`` (``aisa/`` prefix allowed)."""
    temperature: float | None = None
    max_tokens: int | None = None
    """Sent as ``max_tokens`` (never rewritten to ``max_completion_tokens``)."""
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    timeout: float | None = None
    """Read timeout in seconds (connect is capped at 10 s); default 120 s."""
    max_retries: int = 2
    """Retries of 429 / 5xx / connection failures per model, in the core client."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env("AISA_API_KEY", default=None))
    base_url: str | None = Field(default_factory=from_env("AISA_BASE_URL", default=None))
    default_headers: dict[str, str] | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Request parameters this class does not declare (e.g. ``reasoning_effort``)."""
    extra_body: dict[str, Any] | None = None
    """Merged into the request body last, unchanged."""
    streaming: bool = False
    """Stream under the hood even for ``invoke`` (so callbacks see every token)."""
    stream_usage: bool = True
    """Ask for token usage in streams (``stream_options.include_usage``)."""
    fallback_models: list[str] = Field(default_factory=list)
    """Models to try, in order, when ``model`` fails (the core client's fallback chain)."""
    retry_before_fallback: bool = False
    """Retry a failing model ``max_retries`` times before moving on (default: move on at once
    while a fallback is left; the last model is always retried)."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send through (proxies, custom TLS, test transports)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    aisa_rate_limiter: RateLimiter | None = Field(default=None, exclude=True)
    """The core's client-side limit (requests per minute *and* requests in flight, streams
    held until they end), e.g. ``RateLimiter.tier("starter")``; share one object between
    models to share one budget. (LangChain's own ``rate_limiter`` still works, but it only
    spaces out request starts.)"""
    aisa_health: ModelHealth | None = Field(default=None, exclude=True)
    """Model health shared with every model given the same object: a model that keeps failing
    cools down and the fallback chain skips it (``response_metadata["skipped_models"]``)."""
    aisa_budget: Budget | None = Field(default=None, exclude=True)
    """A spend limit shared the same way: a call that would pass it raises
    ``AISABudgetExceededError`` (a ``ModelPermissionDeniedError``) before anything is sent."""

    _client: AISAClient | None = PrivateAttr(default=None)
    _async_client: AsyncAISAClient | None = PrivateAttr(default=None)
    _client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)
    _async_client_settings: builtins.dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, values: Any) -> Any:
        """Unknown arguments are an error (a typo must not silently become a request field)."""
        if isinstance(values, Mapping):
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = sorted(k for k in values if k not in known)
            if unknown:
                raise ValueError(
                    f"ChatAISA got unknown argument(s) {', '.join(unknown)}; pass request "
                    "parameters it does not declare in model_kwargs={...}"
                )
            clash = sorted(k for k in values.get("model_kwargs") or {} if k in _REQUEST_FIELDS)
            if clash:
                raise ValueError(f"set {', '.join(clash)} directly, not in model_kwargs")
        return values

    @model_validator(mode="after")
    def _check_settings(self) -> ChatAISA:
        """Fail at construction on a missing key or an unusable base URL (no I/O)."""
        resolve_api_key(self.api_key.get_secret_value() if self.api_key else None)
        if self.base_url is not None:
            normalize_base_url(self.base_url)
        return self

    # --- LangChain identity ---------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "aisa-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_aisa", "chat_models"]

    @property
    def lc_secrets(self) -> builtins.dict[str, str]:
        return {"api_key": "AISA_API_KEY"}

    @property
    def _default_params(self) -> builtins.dict[str, Any]:
        params = {
            "model": self.model_name,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "seed": self.seed,
            "stop": self.stop,
        }
        return {k: v for k, v in params.items() if v is not None} | self.model_kwargs

    @property
    def _identifying_params(self) -> builtins.dict[str, Any]:
        return {"model_name": self.model_name, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        ls = LangSmithParams(
            ls_provider="aisa",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            ls["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            ls["ls_max_tokens"] = max_tokens
        ls_stop = stop or kwargs.get("stop") or self.stop
        if ls_stop:
            ls["ls_stop"] = [ls_stop] if isinstance(ls_stop, str) else list(ls_stop)
        return ls

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What the capability table knows of this model (the gateway lists no limits)."""
        info = capabilities(self.model_name)
        return ModelProfile(
            max_input_tokens=info.context_window,
            max_output_tokens=info.max_output_tokens,
            text_inputs=True,
            text_outputs=True,
            image_inputs=info.vision,
            image_url_inputs=info.vision,
            reasoning_output=info.reasoning,
            tool_calling=info.tools,
            tool_choice=info.tools,
            tool_call_streaming=info.tools,
            structured_output=info.json_schema,
        )

    # --- the core clients: made on first use, cached, rebuilt if a setting changed (_clients) --

    def _settings(self, http_client: Any) -> builtins.dict[str, Any]:
        """What the core client is built from; compared on every call (about a microsecond)."""
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "retry_before_fallback": self.retry_before_fallback,
            "default_headers": dict(self.default_headers) if self.default_headers else None,
            "source": _SOURCE,
            "http_client": http_client,
            "rate_limiter": self.aisa_rate_limiter,
            "health": self.aisa_health,
            "budget": self.aisa_budget,
        }

    def _core(self) -> AISAClient:
        return cached_client(self, "_client", AISAClient, self._settings(self.http_client))

    def _acore(self) -> AsyncAISAClient:
        settings = self._settings(self.http_async_client)
        return cached_client(self, "_async_client", AsyncAISAClient, settings)

    def close(self) -> None:
        """Release the sync connection pool (it is made again on the next call)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Release the async connection pool (it is made again on the next call)."""
        if self._async_client is not None:
            await self._async_client.aclose()

    def __del__(self) -> None:
        # Close the sync pool with the model, as the OpenAI SDK does: a pool dropped with
        # open keep-alive sockets leaks them until the interpreter notices (ResourceWarning).
        private = getattr(self, "__pydantic_private__", None) or {}
        client = private.get("_client")
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def __getstate__(self) -> builtins.dict[Any, Any]:
        """Pickle without the clients (their pools are rebuilt on first use in the new
        process); an injected ``http_client`` cannot travel, so that is a clear error."""
        if self.http_client is not None or self.http_async_client is not None:
            raise TypeError("a ChatAISA with an injected http_client cannot be pickled")
        state = super().__getstate__()
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            **dict.fromkeys(CLIENT_ATTRS),
        }
        # A pickle is a serialised object: it never holds the key. The loading process reads
        # AISA_API_KEY again (worker processes inherit it); without it the first call says so.
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        return state

    def __setstate__(self, state: builtins.dict[Any, Any]) -> None:
        super().__setstate__(state)
        if self.api_key is None:
            object.__setattr__(self, "api_key", secret_from_env("AISA_API_KEY", default=None)())

    def __copy__(self) -> ChatAISA:
        # Copies (``model_copy``) make their own clients: a shared pool would be closed
        # under the original when the copy is collected.
        clone = super().__copy__()
        for name in CLIENT_ATTRS:
            setattr(clone, name, None)
        return clone

    def __deepcopy__(self, memo: builtins.dict[int, Any] | None = None) -> ChatAISA:
        memo = {} if memo is None else memo
        for shared in (self.http_client, self.http_async_client, *self._shared_state()):
            if shared is not None:
                memo[id(shared)] = shared  # injected clients and shared state: not copied
        for name in CLIENT_ATTRS:
            memo[id(getattr(self, name))] = None
        clone = super().__deepcopy__(memo)
        for name in CLIENT_ATTRS:
            setattr(clone, name, None)
        return clone

    def _shared_state(self) -> tuple[Any, ...]:
        """Objects a copy must share with the original (copying one would split its count)."""
        return self.aisa_rate_limiter, self.aisa_health, self.aisa_budget

    # --- calls ----------------------------------------------------------------------------

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: builtins.dict[str, Any],
        *,
        stream: bool,
    ) -> tuple[list[builtins.dict[str, Any]], builtins.dict[str, Any]]:
        """Wire messages and the core call's options; per-call values win over defaults."""
        kwargs.pop("stream", None)
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        options = {**self._default_params, **kwargs}
        if stop is not None:
            options["stop"] = stop
        if not options.get("stop"):
            options.pop("stop", None)
        options.setdefault("fallback_models", self.fallback_models)
        extra_body = {**(self.extra_body or {}), **(options.pop("extra_body", None) or {})}
        if stream and not stream_usage:
            extra_body["stream_options"] = {"include_usage": False}
        if extra_body:
            options["extra_body"] = extra_body
        return _convert_messages(messages), options

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        wire, options = self._request(messages, stop, kwargs, stream=False)
        with mapped_errors():
            completion = self._core().chat(wire, **options)
        return _convert_completion(completion)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        wire, options = self._request(messages, stop, kwargs, stream=False)
        with mapped_errors():
            completion = await self._acore().chat(wire, **options)
        return _convert_completion(completion)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # LangChain itself reports each yielded chunk to on_llm_new_token.
        wire, options = self._request(messages, stop, kwargs, stream=True)
        converter = ChunkConverter()
        with mapped_errors(), self._core().stream(wire, **options) as stream:
            for chunk in stream:
                if (out := converter.convert(chunk, stream)) is not None:
                    yield out
            yield converter.last(stream)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        wire, options = self._request(messages, stop, kwargs, stream=True)
        converter = ChunkConverter()
        with mapped_errors():
            async with self._acore().stream(wire, **options) as stream:
                async for chunk in stream:
                    if (out := converter.convert(chunk, stream)) is not None:
                        yield out
                yield converter.last(stream)

    def _combine_llm_outputs(
        self, llm_outputs: list[builtins.dict[str, Any] | None], /
    ) -> builtins.dict[str, Any]:
        return _combine_llm_outputs(llm_outputs)

    # --- tokens (local estimates: no tokenizer download) -----------------------------------

    def get_num_tokens(self, text: str) -> int:
        """About one token per four characters; ``custom_get_token_ids`` wins when set."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return -(-len(text) // 4)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """langchain-core's approximate count (characters / 4 plus per-message overhead)."""
        return count_tokens_approximately(messages, tools=list(tools) if tools else None)

    # --- tools and structured output --------------------------------------------------------
    # Return annotations must resolve at runtime (no TYPE_CHECKING-only names): LangChain's
    # with_fallbacks reads them to decide whether to rebuild its fallbacks with tools bound.
    # The helpers they use are imported on first use, to keep ``import langchain_aisa`` fast.

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: builtins.dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools: LangChain tools, pydantic classes, typed functions or tool dicts
        (OpenAI or Anthropic shape).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True``, a tool
        name or a dict; checked against the tools now, not by the provider later.
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        choice = normalize_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: builtins.dict[str, Any] | type,
        *,
        method: StructuredMethod | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, builtins.dict[str, Any] | BaseModel]:
        """Answers parsed into ``schema`` (pydantic class, TypedDict or JSON schema).

        ``method`` defaults to ``json_schema`` for models the capability table marks as
        supporting it, else ``function_calling``; ``json_mode`` asks for any JSON object.
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        if method is None:
            method = (
                "json_schema" if capabilities(self.model_name).json_schema else "function_calling"
            )
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        llm: Runnable[LanguageModelInput, AIMessage]
        if method == "function_calling":
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema], tool_choice=name, strict=strict, ls_structured_output_format=trace
            )
        elif method == "json_schema":
            response_format = json_schema_format(schema, strict)
            llm = self.bind(response_format=response_format, ls_structured_output_format=trace)
        elif method == "json_mode":
            response_format = {"type": "json_object"}
            llm = self.bind(response_format=response_format, ls_structured_output_format=trace)
        else:
            raise ValueError(f"method must be {', '.join(get_args(StructuredMethod))}: {method!r}")
        return parsed_output(llm, output_parser(schema, method), include_raw=include_raw)


allow_load_all(ChatAISA)
