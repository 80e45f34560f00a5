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

from typing import TYPE_CHECKING, Any

from .attempts import AttemptInfo, AttemptObserver, AttemptReport, CallReport, SkippedModel
from .budget import Budget
from .callbacks import PrintHandler, StreamHandler
from .capabilities import capabilities
from .client import AISAClient, ChatStream
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

if TYPE_CHECKING:
    from .client.aio import AsyncAISAClient, AsyncChatStream


def __getattr__(name: str) -> Any:
    # The async client (and asyncio) load on first use: `import aisa_core` stays cheap.
    if name in ("AsyncAISAClient", "AsyncChatStream"):
        from .client import aio

        return getattr(aio, name)
    raise AttributeError(f"module 'aisa_core' has no attribute {name!r}")


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
