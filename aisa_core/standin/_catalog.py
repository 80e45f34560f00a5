"""The stand-in's model catalog, price table and token estimates.

Prices are AIsa's own where it publishes one (the catalog behind ``aisa_core.capabilities``:
published data, not client logic), so a budget reserved at AIsa's prices settles at the same
prices offline; other models (embeddings, rerankers, unpriced ids) get illustrative ones. They
exist so cost tracking, budgets and the ``X-AISA-Customer-Cost-Micros-USD`` header can be
exercised offline. Money is integer arithmetic throughout, like the gateway's micro-USD fields.
"""

from __future__ import annotations

from typing import Any

from aisa_core.capabilities import capabilities

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

# USD per million tokens (input, output), times 1,000,000: pico-USD per token, integers.
_ILLUSTRATIVE: dict[str, tuple[int, int]] = {
    "grok-4": (3_000_000, 15_000_000),
    "text-embedding-3-small": (20_000, 0),
    "text-embedding-3-large": (130_000, 0),
    "jina-embeddings-v3": (20_000, 0),
    "jina-embeddings-v5-text-small": (20_000, 0),
    "jina-reranker-v3": (20_000, 0),
}
DEFAULT_PRICE = (1_000_000, 4_000_000)


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
    """``(input, output)`` pico-USD per token: AIsa's published price, else an illustrative one
    (``-thinking`` variants cost like their base)."""
    for mid in (model, model.removesuffix("-thinking")):
        info = capabilities(mid)
        if info.input_price is not None and info.output_price is not None:
            return round(info.input_price * 1_000_000), round(info.output_price * 1_000_000)
        if mid in _ILLUSTRATIVE:
            return _ILLUSTRATIVE[mid]
    return DEFAULT_PRICE


def cost_micros(model: str, prompt_tokens: int, completion_tokens: int) -> int:
    """Cost in micro-USD, rounded up like a bill."""
    price_in, price_out = price_of(model)
    picos = prompt_tokens * price_in + completion_tokens * price_out
    return -(-picos // 1_000_000)


def tokens(text: str) -> int:
    """Token estimate: ceil(characters / 4), the usual rule of thumb."""
    return -(-len(text) // 4)
