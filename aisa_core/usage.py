"""What one call used and cost, read from its report on the attempt seam (``attempts.py``): the
figures a cost tracker adds up, so that LangChain's ``get_aisa_callback()`` and LlamaIndex's
``UsageTracker`` count the same things the same way. Pure: a ``CallReport`` in, a ``CallUsage``
out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attempts import CallReport
from .types import Usage

__all__ = ["HOUSEKEEPING", "CallUsage"]

HOUSEKEEPING = frozenset({"list_models", "get_model", "balance", "quote"})
"""Operations that ask the gateway about itself rather than a model: no tokens, never billed."""


@dataclass(frozen=True, slots=True)
class CallUsage:
    """One call, as a cost tracker counts it.

    ``answered`` is whether a model answered (a stream closed before its end counts: it was
    served, and may be billed); then ``model`` is the model that served it, as the gateway
    names it, and the tokens and ``cost_usd`` are its answer's. ``cost_usd`` is ``None`` when
    the gateway gave no cost: no cost reported is not zero cost. A call that failed has no
    tokens and ``model`` is the last model it tried. ``failed`` names the model of every failed
    attempt, retries included, in order; ``skipped`` the models that model health skipped.
    """

    operation: str
    model: str
    answered: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @classmethod
    def of(cls, report: CallReport) -> CallUsage | None:
        """The call's usage; ``None`` for housekeeping (``list_models``, ``quote``, ...)."""
        if report.operation in HOUSEKEEPING:
            return None
        failed = tuple(a.model for a in report.attempts if a.outcome == "error")
        skipped = tuple(s.model for s in report.skipped)
        final = report.final
        if final is None or report.outcome == "error":
            last = final.model if final else next(iter(report.models), "unknown")
            return cls(report.operation, last, False, failed=failed, skipped=skipped)
        return cls(
            report.operation,
            final.served_model or final.model,
            True,
            *_tokens(final.usage),
            cost_usd=final.cost_usd,
            failed=failed,
            skipped=skipped,
        )


def _tokens(usage: Usage | None) -> tuple[int, int, int, int, int]:
    """Prompt, completion, total, cached and reasoning tokens (zeros when unknown)."""
    if usage is None:
        return 0, 0, 0, 0, 0
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        usage.cached_tokens or 0,
        usage.reasoning_tokens or 0,
    )
