"""``AISA``: the AIsa gateway as a LlamaIndex ``FunctionCallingLLM``.

Every request goes through the shared core client (``aisa_core``): one HTTP stack, one retry
policy, one fallback chain, which falls back only before the first streamed token. This class
only translates (``_convert`` for requests, ``_response`` for answers); LlamaIndex's decorators
add its callbacks and instrumentation.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, ConfigDict, Field

from aisa_core import (
    StreamHandler,
)
from aisa_core import capabilities as model_capabilities

from ._arguments import known_arguments
from ._clients import CoreClients
from ._convert import to_wire_messages, tool_request
from ._response import (
    chat_response,
    completion_response,
    keep_first_tool_call,
    tool_selections,
)
from ._streams import achat_responses, chat_responses
from ._structured import aparse_stream, parse_stream, parse_structured, plain_llm_kwargs

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["AISA", "DEFAULT_MODEL"]

DEFAULT_MODEL = "gpt-4.1-mini"

Model = TypeVar("Model", bound=BaseModel)

# Without max_tokens, the answer's room reserved when LlamaIndex packs prompts (num_output):
# the model's maximum output, but at most a quarter of the context window and this many tokens,
# so that a small context window (context_window=8000, or Settings.context_window) still packs.
_RESERVED_OUTPUT = 4096

logger = logging.getLogger(__name__)
dispatcher = get_dispatcher(__name__)
_warned: set[str] = set()


class AISA(CoreClients, FunctionCallingLLM):
    """The AIsa gateway (https://api.aisa.one/v1): GPT, Claude, Gemini, Qwen, DeepSeek, Kimi and
    more behind one key, usable wherever LlamaIndex takes an LLM.

    >>> from llama_index_aisa import AISA
    >>> llm = AISA("claude-sonnet-4-5-20250929", fallback_models=["gpt-4.1"])
    >>> llm.complete("Say hi").text  # doctest: +SKIP

    The key comes from ``api_key`` or ``AISA_API_KEY`` (never from ``OPENAI_*``) and is left out
    of ``to_dict``/``to_json`` and pickles; an unpickled ``AISA`` reads ``AISA_API_KEY`` at its
    first call (a clear ``ConfigurationError`` if it is not set), or takes ``llm.api_key = ...``.
    ``api_base`` (LlamaIndex's usual name) is accepted for ``base_url``; any other argument
    this class does not know is a ``ConfigurationError``, not silently dropped. Responses carry
    token counts, ``cost_usd`` when the gateway reports it and ``model`` (the model that
    answered, after any fallback) in ``additional_kwargs``. An assistant turn's reasoning
    (``ThinkingBlock``) goes back to the models that need it (DeepSeek and Kimi thinking
    models, which refuse a tool-call history without it) and to no other.
    """

    # hide_input_in_errors: a validation error must never print the arguments (the key).
    model_config = ConfigDict(validate_assignment=True, hide_input_in_errors=True)
    client_fields = CoreClients.client_fields | {"retry_before_fallback", "stream_handlers"}
    unpickled_fields = CoreClients.unpickled_fields | {"stream_handlers"}

    model: str = Field(default=DEFAULT_MODEL, description="AIsa model id, e.g. 'gpt-4.1'.")
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Sampling temperature; None leaves it unsent."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Cap on answer tokens; None leaves it unsent."
    )
    timeout: float = Field(default=120.0, gt=0, description="Read timeout in seconds.")
    retry_before_fallback: bool = Field(
        default=False,
        description="Retry a failing model max_retries times before moving on; by default a "
        "failure moves on at once while a fallback is left (the last model is always retried).",
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters; per-call arguments win."
    )
    fallback_models: list[str] = Field(
        default_factory=list,
        description="Models tried in order when one fails with 429, 5xx, an unknown model or a "
        "connection error; never after the first streamed token.",
    )
    strict: bool | None = Field(default=None, description="Strict tool schemas by default.")
    context_window: int | None = Field(
        default=None, gt=0, description="Overrides the capability table's context window."
    )
    is_function_calling_model: bool | None = Field(
        default=None, description="Overrides the capability table's tool support."
    )
    stream_handlers: list[StreamHandler] = Field(
        default_factory=list,
        exclude=True,
        description="Core streaming callbacks: tokens, reasoning, tool-call deltas, usage.",
    )

    def __init__(self, model: str = DEFAULT_MODEL, **data: Any) -> None:
        super().__init__(model=model, **known_arguments(type(self), data))

    @classmethod
    def class_name(cls) -> str:
        return "AISA"

    def core_settings(self) -> dict[str, Any]:
        return {
            **super().core_settings(),
            "retry_before_fallback": self.retry_before_fallback,
            "handlers": self.stream_handlers,
        }

    @property
    def metadata(self) -> LLMMetadata:
        """From the bundled capability table: cheap, never raises; an unknown id gets a
        conservative default and one logged warning. ``num_output`` (the room LlamaIndex keeps
        for the answer when it packs prompts) is ``max_tokens``, else the model's maximum output
        capped at a quarter of the context window and 4,096 tokens; it is never sent."""
        info = model_capabilities(self.model)
        if not info.known and info.id not in _warned:
            _warned.add(info.id)
            logger.warning(
                "AISA: model %r is not in the capability table; assuming a %d-token context "
                "window. Pass context_window= or call aisa_core.capabilities.register().",
                info.id,
                info.context_window,
            )
        tools = self.is_function_calling_model
        context = self.context_window or info.context_window
        reserved = min(info.max_output_tokens, context // 4, _RESERVED_OUTPUT)
        return LLMMetadata(
            context_window=context,
            num_output=self.max_tokens or reserved,
            is_chat_model=True,
            is_function_calling_model=info.tools if tools is None else tools,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # --- requests ------------------------------------------------------------------------

    def _request(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Wire messages and the core call's options: ``additional_kwargs``, then the named
        fields that are set, then per-call arguments, each winning over the one before."""
        options: dict[str, Any] = {"model": self.model, "fallback_models": self.fallback_models}
        options.update(self.additional_kwargs)
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.max_tokens is not None:
            options["max_tokens"] = self.max_tokens
        options.update(kwargs)
        return to_wire_messages(messages), options

    def _chat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        wire, options = self._request(messages, kwargs)
        options.pop("handlers", None)  # streaming callbacks; nothing streams here
        return chat_response(self._client.chat(wire, **options))

    async def _achat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        wire, options = self._request(messages, kwargs)
        options.pop("handlers", None)
        return chat_response(await self._aclient.chat(wire, **options))

    def _stream(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponseGen:
        wire, options = self._request(messages, kwargs)
        return chat_responses(self._client.stream(wire, **options))  # bad input raises here

    def _astream(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponseAsyncGen:
        wire, options = self._request(messages, kwargs)
        return achat_responses(self._aclient.stream(wire, **options))

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream(messages, kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream(messages, kwargs)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return completion_response(self._chat(_as_messages(prompt), kwargs))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return completion_response(await self._achat(_as_messages(prompt), kwargs))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return (completion_response(r) for r in self._stream(_as_messages(prompt), kwargs))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = self._astream(_as_messages(prompt), kwargs)
        return (completion_response(r) async for r in responses)

    # --- tools ---------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments for a tool call. ``tool_choice``/``parallel_tool_calls`` are
        sent only with tools (providers refuse a choice without them)."""
        messages = list(chat_history or [])  # never append to the caller's list
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        request = tool_request(
            specs,
            tool_choice,
            tool_required,
            allow_parallel_tool_calls,
            self.strict if strict is None else strict,
        )
        return {"messages": messages, **request, **kwargs}

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            keep_first_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Tool calls from ``ToolCallBlock``s; partial JSON (mid-stream) parses as far as it
        goes, so this works on every streamed snapshot."""
        selections = tool_selections(response)
        if not selections and error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but the response has none.")
        return selections

    # --- structured output ---------------------------------------------------------------

    def _uses_json_schema(self) -> bool:
        """JSON-schema ``response_format`` where the model follows one; else function calling."""
        return (
            self.pydantic_program_mode == PydanticProgramMode.DEFAULT
            and model_capabilities(self.model).json_schema
        )

    def _structured_messages(
        self, prompt: PromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        return self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._uses_json_schema():
            result = super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
            return cast(Model, result)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages = self._structured_messages(prompt, prompt_args)
        response = self.chat(messages, **plain_llm_kwargs(llm_kwargs, output_cls))
        result = parse_structured(response.message.content, output_cls)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._uses_json_schema():
            result = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return cast(Model, result)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages = self._structured_messages(prompt, prompt_args)
        response = await self.achat(messages, **plain_llm_kwargs(llm_kwargs, output_cls))
        result = parse_structured(response.message.content, output_cls)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if not self._uses_json_schema():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        messages = self._structured_messages(prompt, prompt_args)
        responses = self.stream_chat(messages, **plain_llm_kwargs(llm_kwargs, output_cls))
        return parse_stream(responses, output_cls)

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._uses_json_schema():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        messages = self._structured_messages(prompt, prompt_args)
        responses = await self.astream_chat(messages, **plain_llm_kwargs(llm_kwargs, output_cls))
        return aparse_stream(responses, output_cls)


def _as_messages(prompt: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=prompt)]
