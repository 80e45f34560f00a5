"""``CallUsage.of``: what a cost tracker counts of one call report (pure)."""

from __future__ import annotations

from aisa_core import errors as E
from aisa_core.attempts import AttemptReport, CallReport, SkippedModel
from aisa_core.types import Usage
from aisa_core.usage import CallUsage

A, B, C = "gpt-4.1", "gpt-4.1-mini", "claude-haiku-4-5-20251001"
USAGE = Usage.model_validate(
    {
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 18},
    }
)


def attempt(model: str, outcome: str = "ok", **kw: object) -> AttemptReport:
    return AttemptReport("chat", model, outcome, 0.0, 0.1, **kw)  # type: ignore[arg-type]


def call(outcome: str, *attempts: AttemptReport, **kw: object) -> CallReport:
    return CallReport("chat", (A, B, C), 0.0, 0.3, outcome, attempts, **kw)  # type: ignore[arg-type]


def test_an_answer_after_failures_and_a_skip() -> None:
    failure = attempt(A, "error", error=E.RateLimitError("busy"))
    answer = attempt(B, usage=USAGE, cost_usd=0.002, served_model="gpt-4.1-mini-2025-04-14")
    report = call("ok", failure, failure, answer, skipped=(SkippedModel(C, "cooling"),))
    assert CallUsage.of(report) == CallUsage(
        "chat",
        "gpt-4.1-mini-2025-04-14",
        True,
        prompt_tokens=12,
        completion_tokens=30,
        total_tokens=42,
        cached_tokens=4,
        reasoning_tokens=18,
        cost_usd=0.002,
        failed=(A, A),
        skipped=(C,),
    )


def test_a_failed_call_has_no_tokens_and_names_its_last_model() -> None:
    failures = [attempt(m, "error", error=E.ServerError("down")) for m in (A, B)]
    usage = CallUsage.of(call("error", *failures, error=failures[-1].error))
    assert usage == CallUsage("chat", B, False, failed=(A, B))
    nothing_tried = CallUsage.of(call("error", skipped=(SkippedModel(A, "cooling"),)))
    assert nothing_tried == CallUsage("chat", A, False, skipped=(A,))


def test_a_stream_closed_early_was_served_at_an_unknown_cost() -> None:
    usage = CallUsage.of(call("cancelled", attempt(A, "cancelled", served_model=A)))
    assert usage == CallUsage("chat", A, True)
    assert usage.cost_usd is None and usage.total_tokens == 0


def test_housekeeping_is_never_counted() -> None:
    for operation in ("list_models", "get_model", "balance", "quote"):
        report = CallReport(operation, (A,), 0.0, 0.1, "ok", (attempt(A),))
        assert CallUsage.of(report) is None
