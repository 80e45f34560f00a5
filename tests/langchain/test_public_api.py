"""The public surface of langchain_aisa, pinned."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec

import pytest

import langchain_aisa

EXPECTED = {
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
    "get_aisa_callback",
}


def test_all_is_pinned() -> None:
    has_router = find_spec("langchain_aisa.router") is not None
    assert set(langchain_aisa.__all__) == EXPECTED | ({"RouterRunnable"} if has_router else set())
    for name in langchain_aisa.__all__:
        assert getattr(langchain_aisa, name) is not None


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError):
        _ = langchain_aisa.NotAThing  # type: ignore[attr-defined]


def test_import_is_light() -> None:
    """No second HTTP stack and no tokenizer: neither the OpenAI SDK nor tiktoken is loaded."""
    code = (
        "import sys, langchain_aisa; "
        "print(sorted(m for m in ('openai', 'tiktoken', 'langchain_openai', 'transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
