"""``ChatAISA``: the AIsa gateway as a LangChain chat model, built on ``aisa_core``.

All HTTP, retries and fallbacks happen in the core client; this module only translates
(see ``_convert``) and maps errors (see ``_errors``).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal, get_args

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, model_validator

from aisa_core import capabilities, normalize_tool_choice

from ._convert import _convert_messages
from ._errors import mapped_errors
from ._owner import OWNER_CONFIG, CoreClientOwner
from ._responses import ChunkConverter, _combine_llm_outputs, _convert_completion
from ._serialization import allow_load_all
from ._structured import json_schema_format, output_parser, parsed_output

__all__ = ["ChatAISA"]

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


class ChatAISA(CoreClientOwner, BaseChatModel):
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

    model_config = OWNER_CONFIG

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

    @model_validator(mode="before")
    @classmethod
    def _reject_request_fields(cls, values: Any) -> Any:
        """``model_kwargs`` may not set a declared request parameter behind the field's back
        (unknown arguments are refused by ``CoreClientOwner``)."""
        if isinstance(values, Mapping):
            clash = sorted(k for k in values.get("model_kwargs") or {} if k in _REQUEST_FIELDS)
            if clash:
                raise ValueError(f"set {', '.join(clash)} directly, not in model_kwargs")
        return values

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

    # --- the core clients (CoreClientOwner): made on first use, cached, rebuilt on change ---

    def _core_settings(self, http_client: Any) -> builtins.dict[str, Any]:
        settings = super()._core_settings(http_client)
        settings["retry_before_fallback"] = self.retry_before_fallback
        return settings

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
