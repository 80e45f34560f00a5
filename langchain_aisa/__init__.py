"""LangChain integration for the AIsa gateway: ``ChatAISA``, ``AISAEmbeddings``, ``AISARerank``,
cost tracking, typed errors.

>>> from langchain_aisa import ChatAISA
>>> llm = ChatAISA(model="gpt-4.1-mini", fallback_models=["claude-haiku-4-5-20251001"])
>>> llm.invoke("Hello").content  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "langchain_aisa needs langchain-core: pip install 'aisa-llm[langchain]'"
    ) from exc

if TYPE_CHECKING:
    from ._errors import (
        AISAAllModelsFailedError,
        AISAAPIError,
        AISAAuthenticationError,
        AISABadRequestError,
        AISABudgetExceededError,
        AISAConflictError,
        AISAConnectionError,
        AISAContentPolicyError,
        AISAContextOverflowError,
        AISAInsufficientCreditsError,
        AISAMalformedResponseError,
        AISANotFoundError,
        AISAPermissionDeniedError,
        AISAPriceCapExceededError,
        AISARateLimitError,
        AISAServerError,
        AISAStoreUnavailableError,
        AISAStreamError,
        AISAStreamInterruptedError,
        AISATimeoutError,
        AISAUnknownModelError,
        AISAUnprocessableEntityError,
    )
    from .callbacks import AISACallbackHandler, ModelUsage, get_aisa_callback
    from .chat_models import ChatAISA
    from .embeddings import AISAEmbeddings
    from .rerank import AISARerank
    from .router import RouterRunnable

__all__ = [
    "AISAAPIError",
    "AISAAllModelsFailedError",
    "AISAAuthenticationError",
    "AISABadRequestError",
    "AISABudgetExceededError",
    "AISACallbackHandler",
    "AISAConflictError",
    "AISAConnectionError",
    "AISAContentPolicyError",
    "AISAContextOverflowError",
    "AISAEmbeddings",
    "AISAInsufficientCreditsError",
    "AISAMalformedResponseError",
    "AISANotFoundError",
    "AISAPermissionDeniedError",
    "AISAPriceCapExceededError",
    "AISARateLimitError",
    "AISARerank",
    "AISAServerError",
    "AISAStoreUnavailableError",
    "AISAStreamError",
    "AISAStreamInterruptedError",
    "AISATimeoutError",
    "AISAUnknownModelError",
    "AISAUnprocessableEntityError",
    "ChatAISA",
    "ModelUsage",
    "RouterRunnable",
    "get_aisa_callback",
]

# Every name loads on first use, as in langchain-core's own packages: ``import langchain_aisa``
# stays cheap, and ``from langchain_aisa import ChatAISA`` pays only for what it uses.
_LAZY = {
    **{name: "_errors" for name in __all__ if name.startswith("AISA") and name.endswith("Error")},
    "ChatAISA": "chat_models",
    "AISAEmbeddings": "embeddings",
    "AISARerank": "rerank",
    "AISACallbackHandler": "callbacks",
    "ModelUsage": "callbacks",
    "get_aisa_callback": "callbacks",
    "RouterRunnable": "router",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
