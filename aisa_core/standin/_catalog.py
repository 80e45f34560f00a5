"""The stand-in's model catalog, price table and token estimates.

Prices are illustrative (close to list prices, not AIsa's): they exist so cost tracking,
budgets and the ``X-AISA-Customer-Cost-Micros-USD`` header can be exercised offline.
Money is integer arithmetic throughout, like the gateway's micro-USD fields.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5",
    "gpt-5-mini",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5-20250929-thinking",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "qwen3-max",
    "deepseek-v3.1",
    "kimi-k2.5",
    "grok-4",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "jina-embeddings-v3",
    "jina-embeddings-v5-text-small",
    "jina-reranker-v3",
)

CATALOG_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z, so listings are reproducible

_OWNERS = (
    ("gpt-", "openai"),
    ("text-embedding-", "openai"),
    ("jina-", "jina"),
    ("claude-", "anthropic"),
    ("gemini-", "google"),
    ("qwen", "alibaba"),
    ("deepseek-", "deepseek"),
    ("kimi-", "moonshot"),
    ("grok-", "xai"),
)

# USD per million tokens (input, output), times 1000: nano-USD per token, integers.
_PRICES: dict[str, tuple[int, int]] = {
    "gpt-4.1": (2000, 8000),
    "gpt-4.1-mini": (400, 1600),
    "gpt-4o": (2500, 10000),
    "gpt-4o-mini": (150, 600),
    "gpt-5": (1250, 10000),
    "gpt-5-mini": (250, 2000),
    "claude-sonnet-4-5-20250929": (3000, 15000),
    "claude-haiku-4-5-20251001": (1000, 5000),
    "gemini-2.5-flash": (300, 2500),
    "gemini-2.5-pro": (1250, 10000),
    "qwen3-max": (1200, 6000),
    "deepseek-v3.1": (560, 1680),
    "kimi-k2.5": (600, 2500),
    "grok-4": (3000, 15000),
    "text-embedding-3-small": (20, 0),
    "text-embedding-3-large": (130, 0),
    "jina-embeddings-v3": (20, 0),
    "jina-embeddings-v5-text-small": (20, 0),
    "jina-reranker-v3": (20, 0),
}
DEFAULT_PRICE = (1000, 4000)


def model_card(model_id: str) -> dict[str, Any]:
    """One entry of ``GET /v1/models``, in the shape AIsa's CLI records."""
    owner = next((o for prefix, o in _OWNERS if model_id.startswith(prefix)), "custom")
    return {
        "id": model_id,
        "object": "model",
        "created": CATALOG_CREATED,
        "owned_by": owner,
        "supported_endpoint_types": ["openai"],
    }


def price_of(model: str) -> tuple[int, int]:
    """``(input, output)`` nano-USD per token; ``-thinking`` variants cost like their base."""
    found = _PRICES.get(model)
    if found is None and model.endswith("-thinking"):
        found = _PRICES.get(model[: -len("-thinking")])
    return found or DEFAULT_PRICE


def cost_micros(model: str, prompt_tokens: int, completion_tokens: int) -> int:
    """Cost in micro-USD, rounded up like a bill."""
    price_in, price_out = price_of(model)
    nanos = prompt_tokens * price_in + completion_tokens * price_out
    return -(-nanos // 1000)


def tokens(text: str) -> int:
    """Token estimate: ceil(characters / 4), the usual rule of thumb."""
    return -(-len(text) // 4)
