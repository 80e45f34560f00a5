"""LangChain integration for the AIsa gateway: ``ChatAISA``, cost tracking, typed errors.

>>> from langchain_aisa import ChatAISA
>>> llm = ChatAISA(model="gpt-4.1-mini", fallback_models=["claude-haiku-4-5-20251001"])
>>> llm.invoke("Hello").content  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "langchain_aisa needs langchain-core: pip install 'aisa-llm[langchain]'"
    ) from exc

from ._errors import (
    AISAAllModelsFailedError,
    AISAAPIError,
    AISAAuthenticationError,
    AISABadRequestError,
    AISAConflictError,
    AISAConnectionError,
    AISAContentPolicyError,
    AISAContextOverflowError,
    AISAInsufficientCreditsError,
    AISAMalformedResponseError,
    AISANotFoundError,
    AISAPermissionDeniedError,
    AISARateLimitError,
    AISAServerError,
    AISAStreamError,
    AISAStreamInterruptedError,
    AISATimeoutError,
    AISAUnknownModelError,
    AISAUnprocessableEntityError,
)
from .chat_models import ChatAISA

if TYPE_CHECKING:
    from .callbacks import AISACallbackHandler, ModelUsage, get_aisa_callback
    from .router import RouterRunnable  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "AISAAPIError",
    "AISAAllModelsFailedError",
    "AISAAuthenticationError",
    "AISABadRequestError",
    "AISACallbackHandler",
    "AISAConflictError",
    "AISAConnectionError",
    "AISAContentPolicyError",
    "AISAContextOverflowError",
    "AISAInsufficientCreditsError",
    "AISAMalformedResponseError",
    "AISANotFoundError",
    "AISAPermissionDeniedError",
    "AISARateLimitError",
    "AISAServerError",
    "AISAStreamError",
    "AISAStreamInterruptedError",
    "AISATimeoutError",
    "AISAUnknownModelError",
    "AISAUnprocessableEntityError",
    "ChatAISA",
    "ModelUsage",
    "get_aisa_callback",
]

# RouterRunnable lives in router.py (written separately); imported lazily so that a missing
# or broken router never breaks ``import langchain_aisa``.
if find_spec(f"{__name__}.router") is not None:
    __all__ += ["RouterRunnable"]

# Imported on first use: the callbacks module pulls in LangChain's tracer context, which
# ``import langchain_aisa`` does not otherwise need (import time is part of the benchmark).
_LAZY = {
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
