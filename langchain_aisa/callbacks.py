"""Cost tracking: ``get_aisa_callback()`` totals tokens, cost and calls per served model.

>>> from langchain_aisa import ChatAISA, get_aisa_callback
>>> with get_aisa_callback() as cb:  # doctest: +SKIP
...     ChatAISA(model="gpt-4.1-mini").invoke("Hi")
...     print(cb.total_cost, cb.per_model["gpt-4.1-mini"].calls)

The handler is registered through a ``ContextVar`` hook (as LangChain's own
``get_openai_callback``), so every chat model run inside the ``with`` block reports to it:
``batch`` worker threads and asyncio tasks inherit the context. It is thread safe. Costs are
the gateway's own figures (``response_metadata["cost"]``); an answer without one is counted
in ``calls_without_cost`` rather than priced at zero. An answer replayed from LangChain's LLM
cache (``set_llm_cache``, ``cache=``) made no request and cost nothing: it counts only in
``cache_hits``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

__all__ = ["AISACallbackHandler", "ModelUsage", "get_aisa_callback", "report_usage"]


@dataclass
class ModelUsage:
    """Totals for one served model."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    calls_without_cost: int = 0
    failed_attempts: int = 0
    """Times this model failed and a fallback answered instead (from ``fallback_attempts``)."""
    cache_hits: int = 0
    """Answers replayed from LangChain's LLM cache: no request, no tokens, no cost."""


class AISACallbackHandler(BaseCallbackHandler):
    """Collects usage and cost from every chat model run it sees; read it any time."""

    run_inline = True  # cheap and locked: no need for an executor hop in async code

    def __init__(self, parent: AISACallbackHandler | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._parent = parent
        self.per_model: dict[str, ModelUsage] = {}
        self.failed_requests = 0

    def __repr__(self) -> str:
        return (
            f"Tokens Used: {self.total_tokens}\n"
            f"\tPrompt Tokens: {self.prompt_tokens}\n"
            f"\tCompletion Tokens: {self.completion_tokens}\n"
            f"Successful Requests: {self.successful_requests}\n"
            f"Total Cost (USD): ${self.total_cost:.6f}"
        )

    @property
    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.per_model.values())

    @property
    def prompt_tokens(self) -> int:
        return sum(u.input_tokens for u in self.per_model.values())

    @property
    def completion_tokens(self) -> int:
        return sum(u.output_tokens for u in self.per_model.values())

    @property
    def successful_requests(self) -> int:
        return sum(u.calls for u in self.per_model.values())

    @property
    def total_cost(self) -> float:
        """USD, as the gateway reported it (answers without a cost add nothing)."""
        return sum(u.cost for u in self.per_model.values())

    @property
    def calls_without_cost(self) -> int:
        return sum(u.calls_without_cost for u in self.per_model.values())

    @property
    def cache_hits(self) -> int:
        return sum(u.cache_hits for u in self.per_model.values())

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations[:1]:  # n>1 choices share one usage
                if isinstance(generation, ChatGeneration) and isinstance(
                    generation.message, AIMessage
                ):
                    self.record(generation.message)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        with self._lock:
            self.failed_requests += 1
        if self._parent is not None:
            self._parent.on_llm_error(error, **kwargs)

    def record(self, message: AIMessage) -> None:
        """Add one answer's usage, cost and failed fallback attempts (a cache hit: only that)."""
        metadata = message.response_metadata
        model = str(metadata.get("model_name") or "unknown")
        with self._lock:
            totals = self.per_model.setdefault(model, ModelUsage())
            if _from_cache(message):
                totals.cache_hits += 1
            else:
                self._add(totals, message)
        if self._parent is not None:
            self._parent.record(message)

    def _add(self, totals: ModelUsage, message: AIMessage) -> None:
        metadata = message.response_metadata
        usage = message.usage_metadata
        cost = metadata.get("cost")
        totals.calls += 1
        if usage:
            totals.input_tokens += usage.get("input_tokens", 0)
            totals.output_tokens += usage.get("output_tokens", 0)
            totals.total_tokens += usage.get("total_tokens", 0)
            totals.cached_tokens += usage.get("input_token_details", {}).get("cache_read", 0)
            details = usage.get("output_token_details", {})
            totals.reasoning_tokens += details.get("reasoning", 0)
        if isinstance(cost, (int, float)):
            totals.cost += cost
        else:
            totals.calls_without_cost += 1
        for attempt in metadata.get("fallback_attempts") or ():
            failed = self.per_model.setdefault(str(attempt.get("model")), ModelUsage())
            failed.failed_attempts += 1

    def record_usage(self, model: str, input_tokens: int, cost: float | None) -> None:
        """Add one embedding or rerank call (LangChain gives those no callbacks of their own)."""
        with self._lock:
            totals = self.per_model.setdefault(model, ModelUsage())
            totals.calls += 1
            totals.input_tokens += input_tokens
            totals.total_tokens += input_tokens
            if cost is None:
                totals.calls_without_cost += 1
            else:
                totals.cost += cost
        if self._parent is not None:
            self._parent.record_usage(model, input_tokens, cost)


def _from_cache(message: AIMessage) -> bool:
    """langchain-core replays a cached answer with ``total_cost: 0`` added to its
    ``usage_metadata`` (its own marker: ChatAISA never sets that key)."""
    usage = message.usage_metadata
    return usage is not None and "total_cost" in usage


_current: ContextVar[AISACallbackHandler | None] = ContextVar("aisa_callback", default=None)
register_configure_hook(_current, inheritable=True)


def report_usage(model: str, input_tokens: int, cost: float | None) -> None:
    """Tell the ``get_aisa_callback()`` block around this call (if any) about an embedding or
    rerank call."""
    handler = _current.get()
    if handler is not None:
        handler.record_usage(model, input_tokens, cost)


@contextmanager
def get_aisa_callback() -> Iterator[AISACallbackHandler]:
    """Track every chat model call in the block (and every ``AISAEmbeddings`` and
    ``AISARerank`` call); nested blocks also report to the outer one."""
    handler = AISACallbackHandler(parent=_current.get())
    token = _current.set(handler)
    try:
        yield handler
    finally:
        _current.reset(token)
