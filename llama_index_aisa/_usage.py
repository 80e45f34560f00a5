"""``UsageTracker``: token and cost totals over every AIsa call, from LlamaIndex's own events.

LlamaIndex has no cost tracking; ``AISA`` puts token counts and the gateway's cost on every
response, ``AISAEmbedding`` and ``AISARerank`` report theirs in an ``AISAUsageEvent``, and this
handler adds them up wherever the calls come from (indexing, query engines, chat engines,
agents, structured output), streams included, in total and per model.
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

__all__ = ["AISAUsageEvent", "ModelUsage", "UsageTracker"]


class _Usage(Protocol):
    @property
    def prompt_tokens(self) -> int: ...


class AISAUsageEvent(BaseEvent):
    """Tokens and cost of one AIsa embedding or rerank call (chat calls report theirs on the
    response)."""

    model: str
    prompt_tokens: int = 0
    cost_usd: float | None = None

    @classmethod
    def class_name(cls) -> str:
        return "AISAUsageEvent"

    @classmethod
    def of(cls, model: str, usage: _Usage | None, cost_usd: float | None) -> AISAUsageEvent:
        return cls(
            model=model, prompt_tokens=usage.prompt_tokens if usage else 0, cost_usd=cost_usd
        )


class ModelUsage(BaseModel):
    """Totals for one model; ``cost_usd`` stays ``None`` until a call is priced."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _tally(
    totals: ModelUsage | UsageTracker, prompt: int, completion: int, cost: float | None
) -> None:
    """Count one call into ``totals`` (the tracker's, or one model's)."""
    totals.calls += 1
    totals.prompt_tokens += prompt
    totals.completion_tokens += completion
    if cost is None:
        totals.unpriced_calls += 1
    else:
        totals.cost_usd = (totals.cost_usd or 0.0) + cost


class UsageTracker(BaseEventHandler):
    """Totals of tokens and cost while attached: ``with UsageTracker() as usage: ...``, or
    ``usage = UsageTracker().attach()`` ... ``usage.detach()``.

    ``cost_usd`` sums only the calls the gateway priced and stays ``None`` until one is;
    ``unpriced_calls`` counts the others, because no cost reported is not zero cost.
    ``calls_by_model`` counts calls per model that answered (after any fallback), and
    ``by_model`` has each model's tokens and cost (``table()`` prints them).
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
        elif isinstance(event, AISAUsageEvent):
            self.add(
                {
                    "model": event.model,
                    "prompt_tokens": event.prompt_tokens,
                    "cost_usd": event.cost_usd,
                }
            )

    def add(self, info: Mapping[str, Any]) -> None:
        """Count one response's ``additional_kwargs`` (responses without usage are skipped)."""
        if "prompt_tokens" not in info:
            return  # not an AISA answer, or a wrapper's (e.g. StructuredLLM) around one
        prompt = int(info.get("prompt_tokens") or 0)
        completion = int(info.get("completion_tokens") or 0)
        cost = info.get("cost_usd")
        cost = None if cost is None else float(cost)
        model = str(info.get("model") or "unknown")
        with self._lock:
            _tally(self, prompt, completion, cost)
            _tally(self.by_model.setdefault(model, ModelUsage()), prompt, completion, cost)
            self.calls_by_model[model] = self.calls_by_model.get(model, 0) + 1

    def table(self) -> str:
        """Tokens and cost per model, as a plain-text table ("-": the gateway gave no cost)."""
        rows = [_row(model, u) for model, u in sorted(self.by_model.items())]
        total = ModelUsage(
            calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
        )
        return _table([_HEADER, *rows, _row("total", total)])

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


_HEADER = ("model", "calls", "prompt tokens", "completion tokens", "cost (USD)")


def _row(model: str, usage: ModelUsage) -> tuple[str, ...]:
    cost = "-" if usage.cost_usd is None else f"{usage.cost_usd:.6f}"
    tokens = (f"{usage.prompt_tokens:,}", f"{usage.completion_tokens:,}")
    return (model, str(usage.calls), *tokens, cost)


def _table(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned first column, the others right-aligned; rules under the header and above
    the last row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])])
