"""``UsageTracker``: token and cost totals over every LLM call, from LlamaIndex's own events.

LlamaIndex has no cost tracking; ``AISA`` puts token counts and the gateway's cost on every
response, and this handler adds them up wherever the calls come from (query engines, chat
engines, agents, structured output), streams included.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMCompletionEndEvent
from pydantic import BaseModel, Field, PrivateAttr

__all__ = ["ModelUsage", "UsageTracker"]


class ModelUsage(BaseModel):
    """One model's totals (or everything's): calls, tokens, and cost where the gateway priced."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class _Totals(Protocol):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    unpriced_calls: int


def _count(totals: _Totals, info: Mapping[str, Any]) -> None:
    """Add one response's ``additional_kwargs`` to ``totals``."""
    totals.calls += 1
    totals.prompt_tokens += int(info.get("prompt_tokens") or 0)
    totals.completion_tokens += int(info.get("completion_tokens") or 0)
    cost = info.get("cost_usd")
    if cost is None:
        totals.unpriced_calls += 1
    else:
        totals.cost_usd = (totals.cost_usd or 0.0) + float(cost)


class UsageTracker(BaseEventHandler):
    """Totals of tokens and cost while attached: ``with UsageTracker() as usage: ...``, or
    ``usage = UsageTracker().attach()`` ... ``usage.detach()``.

    ``cost_usd`` sums only the calls the gateway priced and stays ``None`` until one is;
    ``unpriced_calls`` counts the others, because no cost reported is not zero cost.
    ``by_model`` has the same totals (a :class:`ModelUsage`) per model that answered (after any
    fallback); ``calls_by_model`` counts just the calls.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0
    calls_by_model: dict[str, int] = Field(default_factory=dict)
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "AISAUsageTracker"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent)) and event.response:
            self.add(event.response.additional_kwargs)

    def add(self, info: Mapping[str, Any]) -> None:
        """Count one response's ``additional_kwargs`` (responses without usage are skipped)."""
        if "prompt_tokens" not in info:
            return  # not an AISA answer, or a wrapper's (e.g. StructuredLLM) around one
        model = str(info.get("model") or "unknown")
        with self._lock:
            _count(self, info)
            _count(self.by_model.setdefault(model, ModelUsage()), info)
            self.calls_by_model[model] = self.calls_by_model.get(model, 0) + 1

    def attach(self) -> UsageTracker:
        """Start counting: listen to LlamaIndex's root instrumentation dispatcher."""
        get_dispatcher().add_event_handler(self)
        return self

    def detach(self) -> None:
        """Stop counting (the totals stay)."""
        handlers = get_dispatcher().event_handlers
        for i, handler in enumerate(handlers):
            if handler is self:  # by identity: two trackers with equal totals compare equal
                del handlers[i]
                break

    def __enter__(self) -> UsageTracker:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()
