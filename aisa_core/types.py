"""Pydantic models of what the gateway sends back, and the result types of the client.

Every model allows extra fields: the gateway passes provider fields through, and dropping them
is how peers lose reasoning text, served model names and costs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .errors import Attempt

__all__ = [
    "Balance",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CompareResult",
    "CompletionTokensDetails",
    "CostQuote",
    "Delta",
    "FunctionCall",
    "Message",
    "ModelInfo",
    "PromptTokensDetails",
    "RateLimit",
    "ResponseMeta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


def _zero_if_null(value: Any) -> Any:
    return 0 if value is None else value


ZeroIfNull = Annotated[int, BeforeValidator(_zero_if_null)]
"""An integer field a gateway may send as null (read as 0)."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class FunctionCall(_Open):
    name: str = ""
    arguments: str = ""


class ToolCall(_Open):
    id: str = ""
    type: str = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)

    @property
    def name(self) -> str:
        return self.function.name

    def parsed_arguments(self) -> Any:
        """The arguments as JSON; ``{}`` for an empty string. Raises ``ValueError`` if invalid."""
        raw = self.function.arguments
        return json.loads(raw) if raw.strip() else {}


class Message(_Open):
    """An assistant message as the gateway returns it."""

    role: str = "assistant"
    content: str | list[Any] | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None

    @property
    def text(self) -> str:
        """Text content; list content (e.g. Wan image parts) contributes its text parts."""
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(
                p.get("text", "")
                for p in self.content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        return ""


class PromptTokensDetails(_Open):
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(_Open):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None


class Usage(_Open):
    """Token counts; ``cost`` (USD) and ``credits_remaining`` only when the gateway sends them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: ZeroIfNull = 0
    """As sent; when the gateway leaves it out (or sends null, or 0 beside counted tokens), the
    sum of ``prompt_tokens`` and ``completion_tokens``."""
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    cost: float | None = None
    credits_remaining: float | None = None

    @model_validator(mode="after")
    def _fill_total(self) -> Usage:
        if not self.total_tokens:
            self.total_tokens = self.prompt_tokens + self.completion_tokens
        return self

    @property
    def cached_tokens(self) -> int | None:
        d = self.prompt_tokens_details
        return d.cached_tokens if d else None

    @property
    def reasoning_tokens(self) -> int | None:
        d = self.completion_tokens_details
        return d.reasoning_tokens if d else None


class Choice(_Open):
    index: ZeroIfNull = 0
    """AIsa's image schema declares it nullable: null reads as 0 (an answer with several
    choices is then numbered by position, see ``ChatCompletion``)."""
    message: Message = Field(default_factory=Message)
    finish_reason: str | None = None
    logprobs: Any = None


class RateLimit(_Open):
    """``X-RateLimit-*`` headers, in either naming scheme; every field optional."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: str | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: str | None = None


class ResponseMeta(BaseModel):
    """What the HTTP exchange told us beyond the body."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    request_id: str | None = None
    cost_micros_usd: int | None = None
    rate_limit: RateLimit | None = None
    requested_model: str | None = None
    """The id we asked for in the attempt that succeeded (the chain member); the answer's
    ``model`` is what the gateway says served it, which may be a dated variant."""
    attempts: tuple[Attempt, ...] = ()
    skipped: tuple[Any, ...] = ()
    """Models of the chain not tried (``aisa_core.attempts.SkippedModel``: cooling down)."""
    latency_s: float | None = None

    @property
    def failed_models(self) -> list[str]:
        return [a.model for a in self.attempts]


class ChatCompletion(_Open):
    """A full answer. ``model`` is the model that served it; ``meta`` has headers and fallbacks."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    meta: ResponseMeta = Field(default_factory=ResponseMeta, exclude=True)

    @model_validator(mode="after")
    def _number_choices(self) -> ChatCompletion:
        """Choices whose indexes repeat (null indexes, read as 0) are numbered by position."""
        choices = self.choices
        if len(choices) > 1 and len({c.index for c in choices}) < len(choices):
            for position, choice in enumerate(choices):
                choice.index = position
        return self

    @property
    def message(self) -> Message:
        return self.choices[0].message if self.choices else Message()

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        return list(self.message.tool_calls or [])

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None

    @property
    def cost_usd(self) -> float | None:
        """Settled cost: the header (exact micro-USD) when present, else ``usage.cost``; never 0."""
        if self.meta.cost_micros_usd is not None:
            return self.meta.cost_micros_usd / 1_000_000
        return self.usage.cost if self.usage else None


class FunctionDelta(_Open):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Open):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class Delta(_Open):
    role: str | None = None
    content: str | list[Any] | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None


class ChunkChoice(_Open):
    index: ZeroIfNull = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(_Open):
    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None

    @property
    def text(self) -> str:
        """The content text of this chunk ("" when it carries none)."""
        if not self.choices:
            return ""
        content = self.choices[0].delta.content
        return content if isinstance(content, str) else ""

    @property
    def is_empty(self) -> bool:
        """True when the chunk carries nothing a caller would see (e.g. the role-only chunk)."""
        if self.usage is not None:
            return False
        for choice in self.choices:
            d = choice.delta
            if d.content or d.reasoning_content or d.tool_calls or d.refusal:
                return False
            if choice.finish_reason:
                return False
        return True


class ModelInfo(_Open):
    """What we know of a model: the gateway's listing merged with the bundled capability table."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    supported_endpoint_types: list[str] | None = None
    known: bool = False
    family: str | None = None
    context_window: int = 128_000
    max_output_tokens: int = 8_192
    vision: bool = False
    tools: bool = True
    json_schema: bool = False
    reasoning: bool = False
    input_price: float | None = None
    output_price: float | None = None
    """AIsa's prices in USD per million tokens (``None``: not published)."""
    text_route: bool = True
    """Served on the chat routes (``False`` for embedding, rerank, image and video models)."""
    notes: str | None = None

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD from the table's indicative prices (per million tokens); ``None`` if unknown."""
        if self.input_price is None or self.output_price is None:
            return None
        return (prompt_tokens * self.input_price + completion_tokens * self.output_price) / 1e6


class Balance(_Open):
    """``/v1/credits/balance``; all money in integer micro-USD."""

    currency: str | None = None
    account_balance_micros_usd: int | None = None
    available_balance_micros_usd: int | None = None
    api_key: dict[str, Any] | None = None
    as_of: str | None = None

    @property
    def available_usd(self) -> float | None:
        v = self.available_balance_micros_usd
        return None if v is None else v / 1_000_000


class CostQuote(_Open):
    """Answer to a chat request sent with ``X-AISA-Cost-Mode: quote``."""

    object: str = "cost_estimate"
    currency: str = "USD"
    estimate_kind: str | None = None
    estimated_cost_micros_usd: int | None = None
    max_cost_micros_usd: int | None = None
    may_exceed_estimate: bool | None = None
    estimated_at: str | None = None


class CompareResult(BaseModel):
    """One model's outcome in ``compare_models``: the text and numbers, or the error."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    model: str
    ok: bool
    text: str | None = None
    latency_s: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    served_model: str | None = None
    finish_reason: str | None = None
    """``"length"`` when the answer was cut at ``max_tokens``."""
    error: str | None = None
    error_type: str | None = None
    status: Literal["ok", "error"] = "ok"
