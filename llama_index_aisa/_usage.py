"""``UsageTracker``: token and cost totals over every AIsa call, from LlamaIndex's own events.

LlamaIndex has no cost tracking. The core clients of ``AISA``, ``AISAEmbedding`` and
``AISARerank`` carry one observer of the core's attempt seam (``SEAM``), which dispatches an
``AISAUsageEvent`` for every call through LlamaIndex's instrumentation (in the caller's
context, so it belongs to the span of the LLM, embedding or rerank call that made it). This
handler adds them up wherever the calls come from (indexing, query engines, chat engines,
agents, structured output), streams included, in total and per model.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler, NullEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import BaseModel, Field, PrivateAttr

from aisa_core.attempts import CallReport
from aisa_core.display import Tabular
from aisa_core.usage import CallUsage

__all__ = ["SEAM", "AISAUsageEvent", "ModelUsage", "UsageTracker"]

dispatcher = get_dispatcher(__name__)


class AISAUsageEvent(BaseEvent):
    """One AIsa call (``chat``, ``embeddings`` or ``rerank``), when it ends (a stream: when it
    ends or is closed). ``usage`` is what the core's seam says of it
    (``aisa_core.usage.CallUsage``: the model that served it, tokens, cost or ``None`` when the
    gateway gave none, the models of failed attempts and those model health skipped)."""

    usage: CallUsage

    @classmethod
    def class_name(cls) -> str:
        return "AISAUsageEvent"


class _Seam:
    """The observer on the core clients of the AISA family: one ``AISAUsageEvent`` per call."""

    def listening(self) -> bool:
        """Only while a handler listens to LlamaIndex's events: else the core makes no report."""
        return _listened()

    def on_call(self, report: CallReport) -> None:
        if not _listened():
            return  # nobody would hear it: skip building the event
        usage = CallUsage.of(report)
        if usage is not None:
            dispatcher.event(AISAUsageEvent(usage=usage))

    def __reduce__(self) -> str:
        return "SEAM"  # a pickled core client keeps the one observer


SEAM = _Seam()


def _listened() -> bool:
    """Whether an event from here reaches a handler that does something (on the path
    ``dispatcher.event`` walks; the root's default ``NullEventHandler`` does nothing)."""
    current: Any = dispatcher
    while current is not None:
        if any(not isinstance(h, NullEventHandler) for h in current.event_handlers):
            return True
        current = current.parent if current.propagate else None
    return False


class ModelUsage(BaseModel):
    """Totals for one model (and, in ``UsageTracker``, for all); ``cost_usd`` stays ``None``
    until a call is priced."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0
    failed_attempts: int = 0
    """Attempts of this model that failed (retried, fallen back from, or the call failed)."""
    skipped: int = 0
    """Calls whose fallback chain skipped this model because it was cooling down."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _tally(totals: ModelUsage, usage: CallUsage) -> None:
    """Count one answered call into ``totals`` (the tracker's, or one model's)."""
    totals.calls += 1
    totals.prompt_tokens += usage.prompt_tokens
    totals.completion_tokens += usage.completion_tokens
    totals.cached_tokens += usage.cached_tokens
    totals.reasoning_tokens += usage.reasoning_tokens
    if usage.cost_usd is None:
        totals.unpriced_calls += 1
    else:
        totals.cost_usd = (totals.cost_usd or 0.0) + usage.cost_usd


_COLUMNS: tuple[str, ...] = (
    "model",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "unpriced_calls",
    "failed_attempts",
    "skipped",
)


class UsageTracker(Tabular, ModelUsage, BaseEventHandler):
    """Totals of tokens and cost while attached: ``with UsageTracker() as usage: ...``, or
    ``usage = UsageTracker().attach()`` ... ``usage.detach()``.

    ``cost_usd`` sums only the calls the gateway priced and stays ``None`` until one is;
    ``unpriced_calls`` counts the others, because no cost reported is not zero cost.
    ``calls_by_model`` counts calls per model that answered (after any fallback), and
    ``by_model`` has each model's tokens, cost, failed attempts and skips; ``failed_calls``
    counts calls that no model answered. An embedding call sent in several requests counts
    once per request. In Jupyter it shows as a table (one row per model and the total),
    ``to_pandas()`` gives a DataFrame and ``table()`` plain text.
    """

    failed_calls: int = 0
    calls_by_model: dict[str, int] = Field(default_factory=dict)
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)

    columns: ClassVar[tuple[str, ...]] = _COLUMNS
    caption: ClassVar[str | None] = "AIsa usage per model (cost in USD)"
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "AISAUsageTracker"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, AISAUsageEvent):
            self.add(event.usage)

    def add(self, usage: CallUsage) -> None:
        """Count one call."""
        with self._lock:
            if usage.answered:
                _tally(self, usage)
                _tally(self._model(usage.model), usage)
                self.calls_by_model[usage.model] = self.calls_by_model.get(usage.model, 0) + 1
            else:
                self.failed_calls += 1
            for model in usage.failed:
                self._model(model).failed_attempts += 1
                self.failed_attempts += 1
            for model in usage.skipped:
                self._model(model).skipped += 1
                self.skipped += 1

    def _model(self, model: str) -> ModelUsage:
        return self.by_model.setdefault(model, ModelUsage())

    def records(self) -> list[dict[str, Any]]:
        """One row per model (by name), then the total."""
        with self._lock:
            rows = [_record(model, u) for model, u in sorted(self.by_model.items())]
            total = _record("total", self)
        return [*rows, total]

    def table(self) -> str:
        """Tokens and cost per model, as a plain-text table ("-": the gateway gave no cost)."""
        return _text_table(self.records())

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


def _record(model: str, usage: ModelUsage) -> dict[str, Any]:
    return {"model": model, **{c: getattr(usage, c) for c in _COLUMNS[1:]}}


_HEADER = ("model", "calls", "prompt tokens", "completion tokens", "cost (USD)")


def _text_table(records: list[dict[str, Any]]) -> str:
    """Left-aligned first column, the others right-aligned; rules under the header and above
    the last row (the total)."""
    rows = [_HEADER, *map(_text_row, records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])])


def _text_row(record: dict[str, Any]) -> tuple[str, ...]:
    cost = record["cost_usd"]
    tokens = (f"{record['prompt_tokens']:,}", f"{record['completion_tokens']:,}")
    return (record["model"], str(record["calls"]), *tokens, "-" if cost is None else f"{cost:.6f}")
