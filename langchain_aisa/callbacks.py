"""Cost tracking: ``get_aisa_callback()`` totals tokens, cost and calls per served model.

>>> from langchain_aisa import ChatAISA, get_aisa_callback
>>> with get_aisa_callback() as cb:  # doctest: +SKIP
...     ChatAISA(model="gpt-4.1-mini").invoke("Hi")
...     print(cb.total_cost, cb.per_model["gpt-4.1-mini"].calls)
>>> cb.to_pandas()  # doctest: +SKIP

In Jupyter the handler shows as a table, one row per model and a total (``to_pandas()`` gives
it as a DataFrame where pandas is installed).

It reads the core's attempt seam (``aisa_core.attempts``): the core clients of every
``ChatAISA``, ``AISAEmbeddings`` and ``AISARerank`` (and so of a router's models) carry one
observer, ``SEAM``, that hands each call's report to the handler of the ``get_aisa_callback()``
block around it. Observers run in the caller's context, so the block is found through a
``ContextVar``: ``batch`` worker threads and asyncio tasks inherit it. Each call is counted
once, when it ends (a stream when it ends or is closed), under the model that served it: its
tokens (cached and reasoning included), its cost as the gateway reported it (a call without one
counts in ``calls_without_cost`` rather than as zero), every failed attempt under the model
that failed (retries, fallbacks, calls that failed) and every model that model health skipped.
An embedding call sent in several requests counts once per request.

An answer replayed from LangChain's LLM cache (``set_llm_cache``, ``cache=``) made no request,
so the seam never hears of it: LangChain's own callback (``on_llm_end``, which the block
registers the handler for) counts it, in ``cache_hits`` only. The handler is thread safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

from aisa_core.attempts import CallReport
from aisa_core.display import Tabular
from aisa_core.usage import CallUsage

__all__ = ["SEAM", "AISACallbackHandler", "ModelUsage", "get_aisa_callback"]


@dataclass
class ModelUsage:
    """Totals for one model."""

    calls: int = 0
    """Calls this model answered."""
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    calls_without_cost: int = 0
    failed_attempts: int = 0
    """Attempts of this model that failed (retried, fallen back from, or the call failed)."""
    skipped: int = 0
    """Calls whose fallback chain skipped this model because it was cooling down."""
    cache_hits: int = 0
    """Answers replayed from LangChain's LLM cache: no request, no tokens, no cost."""

    def add(self, usage: CallUsage) -> None:
        """Count one answered call."""
        self.calls += 1
        self.input_tokens += usage.prompt_tokens
        self.output_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        self.cached_tokens += usage.cached_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        if usage.cost_usd is None:
            self.calls_without_cost += 1
        else:
            self.cost += usage.cost_usd


_COLUMNS = ("model", *(f.name for f in fields(ModelUsage)))


class AISACallbackHandler(Tabular, BaseCallbackHandler):
    """Usage and cost of every AIsa call in its ``get_aisa_callback()`` block; read it any time.
    Nested blocks also report to the outer one."""

    run_inline = True  # cheap and locked: no need for an executor hop in async code
    caption = "AIsa usage per model (cost in USD)"

    def __init__(self, parent: AISACallbackHandler | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._parent = parent
        self.per_model: dict[str, ModelUsage] = {}
        self.failed_requests = 0
        """Calls that failed (every model they tried failed, or the budget refused them)."""

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

    def record_call(self, usage: CallUsage) -> None:
        """Count one call heard on the seam (``SEAM`` calls this)."""
        with self._lock:
            if usage.answered:
                self._totals(usage.model).add(usage)
            else:
                self.failed_requests += 1
            for model in usage.failed:
                self._totals(model).failed_attempts += 1
            for model in usage.skipped:
                self._totals(model).skipped += 1
        if self._parent is not None:
            self._parent.record_call(usage)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Count answers replayed from LangChain's cache (every other answer made a core call,
        which the seam reports)."""
        for generations in response.generations:
            for generation in generations[:1]:  # n>1 choices come from one call
                message = generation.message if isinstance(generation, ChatGeneration) else None
                if isinstance(message, AIMessage) and _from_cache(message):
                    model = message.response_metadata.get("model_name") or "unknown"
                    self.record_cache_hit(str(model))

    def record_cache_hit(self, model: str) -> None:
        with self._lock:
            self._totals(model).cache_hits += 1
        if self._parent is not None:
            self._parent.record_cache_hit(model)

    def _totals(self, model: str) -> ModelUsage:
        return self.per_model.setdefault(model, ModelUsage())

    # --- as a table -----------------------------------------------------------------------

    def table_columns(self) -> tuple[str, ...]:
        return _COLUMNS

    def records(self) -> list[dict[str, Any]]:
        """One row per model (by name), then the total."""
        with self._lock:
            rows = {model: asdict(u) for model, u in sorted(self.per_model.items())}
        total = {c: sum(row[c] for row in rows.values()) for c in _COLUMNS[1:]}
        return [*({"model": m, **row} for m, row in rows.items()), {"model": "total", **total}]


def _from_cache(message: AIMessage) -> bool:
    """langchain-core replays a cached answer with ``total_cost: 0`` added to its
    ``usage_metadata`` (its own marker: ChatAISA never sets that key)."""
    usage = message.usage_metadata
    return usage is not None and "total_cost" in usage


_current: ContextVar[AISACallbackHandler | None] = ContextVar("aisa_callback", default=None)
register_configure_hook(_current, inheritable=True)


class _Seam:
    """The observer on every core client the LangChain classes own: each call's usage goes to
    the ``get_aisa_callback()`` block it was made in (if any)."""

    def listening(self) -> bool:
        """Only inside a ``get_aisa_callback()`` block: elsewhere the core makes no report."""
        return _current.get() is not None

    def on_call(self, report: CallReport) -> None:
        handler = _current.get()
        if handler is not None and (usage := CallUsage.of(report)) is not None:
            handler.record_call(usage)

    def __reduce__(self) -> str:
        return "SEAM"  # a pickled core client keeps the one observer


SEAM = _Seam()


@contextmanager
def get_aisa_callback() -> Iterator[AISACallbackHandler]:
    """Track every AIsa call in the block (``ChatAISA``, ``AISAEmbeddings``, ``AISARerank``, a
    router's models); nested blocks also report to the outer one."""
    handler = AISACallbackHandler(parent=_current.get())
    token = _current.set(handler)
    try:
        yield handler
    finally:
        _current.reset(token)
