"""What each model family can do, from AIsa's model table (Sept 2026). Never raises.

``/v1/models`` carries no context window, capability or price data, so this bundled table fills
the gap. Rows are matched by id prefix, longest first; an unknown id gets a conservative default
with ``known=False``. Prices are indicative list prices in USD per million tokens, for ranking
models by cost: pass your own with ``register`` (they win over the table).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from .config import normalize_model
from .types import ModelInfo

__all__ = ["Capabilities", "capabilities", "register"]


@dataclass(frozen=True)
class Capabilities:
    family: str
    context_window: int
    max_output_tokens: int
    vision: bool
    tools: bool = True
    json_schema: bool = False
    reasoning: bool = False
    input_price: float | None = None
    output_price: float | None = None


_K = 1024
_TABLE: dict[str, Capabilities] = {
    "gpt-4.1-nano": Capabilities("gpt-4.1", 1_047_576, 32_768, True, True, True, False, 0.1, 0.4),
    "gpt-4.1-mini": Capabilities("gpt-4.1", 1_047_576, 32_768, True, True, True, False, 0.4, 1.6),
    "gpt-4.1": Capabilities("gpt-4.1", 1_047_576, 32_768, True, True, True, False, 2.0, 8.0),
    "gpt-4o-mini": Capabilities("gpt-4o", 128_000, 16_384, True, True, True, False, 0.15, 0.6),
    "gpt-4o": Capabilities("gpt-4o", 128_000, 16_384, True, True, True, False, 2.5, 10.0),
    "gpt-5-nano": Capabilities("gpt-5", 400_000, 128_000, True, True, True, True, 0.05, 0.4),
    "gpt-5-mini": Capabilities("gpt-5", 400_000, 128_000, True, True, True, True, 0.25, 2.0),
    "gpt-5": Capabilities("gpt-5", 400_000, 128_000, True, True, True, True, 1.25, 10.0),
    "o3": Capabilities("o-series", 200_000, 100_000, True, True, True, True, 2.0, 8.0),
    "o4-mini": Capabilities("o-series", 200_000, 100_000, True, True, True, True, 1.1, 4.4),
    "claude-opus-4-5": Capabilities("claude", 1_000_000, 64_000, True, True, True, True, 5.0, 25.0),
    "claude-opus-4-6": Capabilities("claude", 1_000_000, 64_000, True, True, True, True, 5.0, 25.0),
    "claude-opus": Capabilities("claude", 200_000, 32_000, True, True, True, True, 15.0, 75.0),
    "claude-sonnet": Capabilities("claude", 200_000, 64_000, True, True, True, True, 3.0, 15.0),
    "claude-haiku": Capabilities("claude", 200_000, 64_000, True, True, True, False, 1.0, 5.0),
    "claude": Capabilities("claude", 200_000, 32_000, True, True, True, False, 3.0, 15.0),
    "gemini-2.5-flash-lite": Capabilities(
        "gemini", 1_048_576, 65_536, True, True, True, True, 0.1, 0.4
    ),
    "gemini-2.5-flash": Capabilities("gemini", 1_048_576, 65_536, True, True, True, True, 0.3, 2.5),
    "gemini-2.5-pro": Capabilities("gemini", 1_048_576, 65_536, True, True, True, True, 1.25, 10.0),
    "gemini": Capabilities("gemini", 1_048_576, 65_536, True, True, True, False, 0.3, 2.5),
    "qwen3-vl": Capabilities("qwen", 262_144, 32_768, True, True, True, False, 0.5, 2.0),
    "qwen3-max": Capabilities("qwen", 262_144, 65_536, True, True, True, False, 1.2, 6.0),
    "qwen": Capabilities("qwen", 131_072, 16_384, False, True, True, False, 0.4, 1.2),
    "deepseek-r1": Capabilities("deepseek", 128_000, 32_768, False, True, False, True, 0.55, 2.19),
    "deepseek": Capabilities("deepseek", 128_000, 8_192, False, True, False, False, 0.27, 1.1),
    "kimi-k2.5": Capabilities("kimi", 262_144, 32_768, True, True, True, False, 0.6, 2.5),
    "kimi": Capabilities("kimi", 262_144, 16_384, False, True, True, False, 0.6, 2.5),
    "grok-4": Capabilities("grok", 256_000, 64_000, True, True, True, True, 3.0, 15.0),
    "grok": Capabilities("grok", 131_072, 16_384, False, True, True, False, 2.0, 10.0),
    "glm": Capabilities("glm", 200_000, 32 * _K, False, True, True, False, 0.6, 2.2),
    "minimax": Capabilities("minimax", 204_800, 32 * _K, False, True, False, False, 0.3, 1.2),
}

_DEFAULT = Capabilities("unknown", 32_768, 4_096, False, True, False, False)
_user: dict[str, Capabilities] = {}
_lock = threading.Lock()
_cache: dict[str, ModelInfo] = {}


def register(pattern: str, **fields: Any) -> None:
    """Override or add a row: ``register("my-model", context_window=32000, input_price=0.1)``.

    ``pattern`` is an id prefix. Fields not given are taken from the row it would match today.
    """
    base = _match(pattern)[0]
    with _lock:
        _user[pattern] = replace(base, **fields)
        _cache.clear()


def _match(model: str) -> tuple[Capabilities, bool]:
    for table in (_user, _TABLE):
        for prefix in sorted(table, key=len, reverse=True):
            if model.startswith(prefix):
                return table[prefix], True
    return _DEFAULT, False


def capabilities(model: str) -> ModelInfo:
    """Capabilities of ``model`` (cached; cheap enough to call on every request)."""
    cached = _cache.get(model)
    if cached is not None:
        return cached
    try:
        mid = normalize_model(model)
    except ValueError:
        mid = model or "unknown"
    caps, known = _match(mid.lower())
    reasoning = caps.reasoning or mid.endswith("-thinking")
    info = ModelInfo(
        id=mid,
        known=known,
        family=caps.family,
        context_window=caps.context_window,
        max_output_tokens=caps.max_output_tokens,
        vision=caps.vision,
        tools=caps.tools,
        json_schema=caps.json_schema,
        reasoning=reasoning,
        input_price=caps.input_price,
        output_price=caps.output_price,
    )
    with _lock:
        _cache[model] = info
    return info
