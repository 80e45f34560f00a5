"""aisa_core: the shared AIsa client (httpx + pydantic; no framework imports).

>>> from aisa_core import AISAClient
>>> client = AISAClient(model="gpt-4.1-mini", fallback_models=["claude-haiku-4-5-20251001"])
>>> print(client.chat("Say hi").text)  # doctest: +SKIP

The pieces: ``AISAClient`` / ``AsyncAISAClient`` (chat, streams with callbacks, tools, vision,
retries, fallback chains, models, balance, cost quotes, ``compare_models``, ``embed``,
``rerank``), the error tree in ``aisa_core.errors``, the shared state of many workers
(``RateLimiter``, ``ModelHealth``, ``Budget`` and ``CostLedger`` on a ``RedisStore``:
``aisa_core.stores``), content builders in ``aisa_core.content``, tool helpers in
``aisa_core.tools``, the capability table in ``aisa_core.capabilities``, and the offline
stand-in gateway in ``aisa_core.standin``.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .attempts import AttemptInfo, AttemptObserver, AttemptReport, CallReport, SkippedModel
    from .budget import Budget
    from .callbacks import PrintHandler, StreamHandler
    from .client import AISAClient, ChatStream
    from .client.aio import AsyncAISAClient, AsyncChatStream
    from .client.settings import __version__
    from .config import (
        DEFAULT_BASE_URL,
        Secret,
        Timeouts,
        normalize_base_url,
        normalize_model,
        resolve_api_key,
        resolve_base_url,
    )
    from .content import (
        assistant,
        audio_part,
        file_part,
        image_part,
        system,
        text_part,
        tool_result,
        user,
    )
    from .errors import (
        AISAError,
        AllModelsFailedError,
        APIConnectionError,
        APIError,
        APITimeoutError,
        Attempt,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        ConfigurationError,
        ConflictError,
        ContentPolicyError,
        ContextWindowExceededError,
        InsufficientCreditsError,
        InvalidInputError,
        MalformedResponseError,
        NotFoundError,
        PermissionDeniedError,
        PriceCapExceededError,
        RateLimitError,
        ServerError,
        StoreUnavailableError,
        StreamError,
        StreamInterruptedError,
        UnknownModelError,
        UnprocessableEntityError,
    )
    from .health import ModelHealth, ModelStats
    from .ledger import CostLedger
    from .protocol.retry import AttemptPlan, RetryPolicy, default_fallback_on
    from .ratelimit import RateLimiter
    from .retrieval import Embeddings, RankedDocument, Ranking
    from .stores import MemoryStore, RedisStore, Store, default_store
    from .tools import normalize_tool_choice, to_response_format, to_tool
    from .types import (
        Balance,
        ChatCompletion,
        ChatCompletionChunk,
        CompareResult,
        CostQuote,
        Message,
        ModelInfo,
        ResponseMeta,
        ToolCall,
        ToolCallDelta,
        Usage,
    )

# ``capabilities`` is also a submodule's name: imported now, so the name is always the function
# (a lazy one would be shadowed by the module once anything imported ``aisa_core.capabilities``).
from .capabilities import capabilities

# Every public name loads on first use (as in langchain-core's packages): ``import aisa_core``
# costs next to nothing, and ``from aisa_core import AISAClient`` pays only for the client.
_LAZY: dict[str, str] = {
    "AttemptInfo": "attempts",
    "AttemptObserver": "attempts",
    "AttemptReport": "attempts",
    "CallReport": "attempts",
    "SkippedModel": "attempts",
    "Budget": "budget",
    "PrintHandler": "callbacks",
    "StreamHandler": "callbacks",
    "AISAClient": "client",
    "ChatStream": "client",
    "AsyncAISAClient": "client.aio",
    "AsyncChatStream": "client.aio",
    "__version__": "client.settings",
    "DEFAULT_BASE_URL": "config",
    "Secret": "config",
    "Timeouts": "config",
    "normalize_base_url": "config",
    "normalize_model": "config",
    "resolve_api_key": "config",
    "resolve_base_url": "config",
    "assistant": "content",
    "audio_part": "content",
    "file_part": "content",
    "image_part": "content",
    "system": "content",
    "text_part": "content",
    "tool_result": "content",
    "user": "content",
    "AISAError": "errors",
    "APIConnectionError": "errors",
    "APIError": "errors",
    "APITimeoutError": "errors",
    "AllModelsFailedError": "errors",
    "Attempt": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "BudgetExceededError": "errors",
    "ConfigurationError": "errors",
    "ConflictError": "errors",
    "ContentPolicyError": "errors",
    "ContextWindowExceededError": "errors",
    "InsufficientCreditsError": "errors",
    "InvalidInputError": "errors",
    "MalformedResponseError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "PriceCapExceededError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "StoreUnavailableError": "errors",
    "StreamError": "errors",
    "StreamInterruptedError": "errors",
    "UnknownModelError": "errors",
    "UnprocessableEntityError": "errors",
    "ModelHealth": "health",
    "ModelStats": "health",
    "CostLedger": "ledger",
    "AttemptPlan": "protocol.retry",
    "RetryPolicy": "protocol.retry",
    "default_fallback_on": "protocol.retry",
    "RateLimiter": "ratelimit",
    "Embeddings": "retrieval",
    "RankedDocument": "retrieval",
    "Ranking": "retrieval",
    "MemoryStore": "stores",
    "RedisStore": "stores",
    "Store": "stores",
    "default_store": "stores",
    "normalize_tool_choice": "tools",
    "to_response_format": "tools",
    "to_tool": "tools",
    "Balance": "types",
    "ChatCompletion": "types",
    "ChatCompletionChunk": "types",
    "CompareResult": "types",
    "CostQuote": "types",
    "Message": "types",
    "ModelInfo": "types",
    "ResponseMeta": "types",
    "ToolCall": "types",
    "ToolCallDelta": "types",
    "Usage": "types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aisa_core' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_BASE_URL",
    "AISAClient",
    "AISAError",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AllModelsFailedError",
    "AsyncAISAClient",
    "AsyncChatStream",
    "Attempt",
    "AttemptInfo",
    "AttemptObserver",
    "AttemptPlan",
    "AttemptReport",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "Budget",
    "BudgetExceededError",
    "CallReport",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatStream",
    "CompareResult",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "CostLedger",
    "CostQuote",
    "Embeddings",
    "InsufficientCreditsError",
    "InvalidInputError",
    "MalformedResponseError",
    "MemoryStore",
    "Message",
    "ModelHealth",
    "ModelInfo",
    "ModelStats",
    "NotFoundError",
    "PermissionDeniedError",
    "PriceCapExceededError",
    "PrintHandler",
    "RankedDocument",
    "Ranking",
    "RateLimitError",
    "RateLimiter",
    "RedisStore",
    "ResponseMeta",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "SkippedModel",
    "Store",
    "StoreUnavailableError",
    "StreamError",
    "StreamHandler",
    "StreamInterruptedError",
    "Timeouts",
    "ToolCall",
    "ToolCallDelta",
    "UnknownModelError",
    "UnprocessableEntityError",
    "Usage",
    "__version__",
    "assistant",
    "audio_part",
    "capabilities",
    "default_fallback_on",
    "default_store",
    "file_part",
    "image_part",
    "normalize_base_url",
    "normalize_model",
    "normalize_tool_choice",
    "resolve_api_key",
    "resolve_base_url",
    "system",
    "text_part",
    "to_response_format",
    "to_tool",
    "tool_result",
    "user",
]
