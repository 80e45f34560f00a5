"""Retry policy arithmetic and the attempt plan that combines retries with fallbacks."""

from __future__ import annotations

import random

import pytest

from aisa_core import errors as E
from aisa_core.protocol.retry import AttemptPlan, RetryPolicy, default_fallback_on


def test_backoff_is_exponential_with_bounded_jitter_and_cap() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    rng = random.Random(0)
    err = E.ServerError("x")
    for n, base in enumerate([1, 2, 4, 8, 8, 8]):
        for _ in range(50):
            d = policy.delay(n, err, rng)
            assert base * 0.75 <= d <= base * 1.25


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=5)
    rng = random.Random(0)
    assert policy.delay(0, E.RateLimitError("x", retry_after=2.5), rng) == 2.5
    assert policy.should_retry(E.RateLimitError("x", retry_after=5), 0)
    assert not policy.should_retry(E.RateLimitError("x", retry_after=6), 0)


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (E.RateLimitError("x"), True),
        (E.ServerError("x"), True),
        (E.APIConnectionError("x"), True),
        (E.APITimeoutError("x"), True),
        (E.BadRequestError("x"), False),
        (E.AuthenticationError("x"), False),
        (E.InsufficientCreditsError("x"), False),
        (E.PermissionDeniedError("x"), False),
        (E.UnprocessableEntityError("x"), False),
        (E.UnknownModelError("x"), False),
        (E.StreamInterruptedError("x"), False),
    ],
)
def test_which_errors_are_retried(error: E.AISAError, retry: bool) -> None:
    assert RetryPolicy().should_retry(error, 0) is retry
    assert not RetryPolicy(max_retries=0).should_retry(error, 0)


@pytest.mark.parametrize(
    ("error", "falls_back"),
    [
        (E.RateLimitError("x"), True),
        (E.ServerError("x"), True),
        (E.UnknownModelError("x"), True),
        (E.APIConnectionError("x"), True),
        (E.APITimeoutError("x"), True),
        (E.StreamError("x"), True),
        (E.BadRequestError("x"), False),
        (E.AuthenticationError("x"), False),
        (E.InsufficientCreditsError("x"), False),
        (E.UnprocessableEntityError("x"), False),
        (E.StreamInterruptedError("x"), False),
    ],
)
def test_default_fallback_rule(error: E.AISAError, falls_back: bool) -> None:
    assert default_fallback_on(error) is falls_back


def walk(plan: AttemptPlan, errors: list[E.AISAError]) -> list[tuple[str, int]]:
    steps = [(plan.first().model, 0)]
    for err in errors:
        step = plan.after_failure(err)
        steps.append((step.model, step.retry))
    return steps


def test_retries_finish_before_fallback_starts() -> None:
    plan = AttemptPlan(["a", "b"], RetryPolicy(max_retries=2, initial_delay=0.01))
    err = E.ServerError("x")
    assert walk(plan, [err, err, err]) == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    assert [a.model for a in plan.failures] == ["a", "a", "a"]


def test_fail_over_fast_skips_retries_while_a_model_is_left() -> None:
    plan = AttemptPlan(
        ["a", "b"], RetryPolicy(max_retries=2, initial_delay=0.01), retry_before_fallback=False
    )
    err = E.RateLimitError("x")
    assert walk(plan, [err, err]) == [("a", 0), ("b", 0), ("b", 1)]


def test_exhausted_chain_raises_one_error_with_every_attempt() -> None:
    plan = AttemptPlan(["a", "b"], RetryPolicy(max_retries=0))
    plan.first()
    plan.after_failure(E.RateLimitError("slow"))
    with pytest.raises(E.AllModelsFailedError) as info:
        plan.after_failure(E.ServerError("down"))
    assert [(a.model, type(a.error)) for a in info.value.attempts] == [
        ("a", E.RateLimitError),
        ("b", E.ServerError),
    ]


def test_non_fallback_error_raises_itself() -> None:
    plan = AttemptPlan(["a", "b"], RetryPolicy(max_retries=2))
    plan.first()
    with pytest.raises(E.AuthenticationError):
        plan.after_failure(E.AuthenticationError("bad key"))


def test_single_model_raises_the_error_itself_after_retries() -> None:
    plan = AttemptPlan(["a"], RetryPolicy(max_retries=1, initial_delay=0.01))
    plan.first()
    plan.after_failure(E.ServerError("1"))
    with pytest.raises(E.ServerError, match="2"):
        plan.after_failure(E.ServerError("2"))


def test_total_wait_is_bounded() -> None:
    plan = AttemptPlan(
        ["a", "b"],
        RetryPolicy(max_retries=10, initial_delay=4, max_delay=4, jitter=0, max_total_wait=10),
    )
    err = E.ServerError("x")
    steps = walk(plan, [err, err, err])
    assert steps == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]  # 4 + 4 = 8; a third 4 would pass 10


def test_custom_fallback_rule() -> None:
    plan = AttemptPlan(
        ["a", "b"],
        RetryPolicy(max_retries=0),
        fallback_on=lambda e: isinstance(e, E.BadRequestError),
    )
    plan.first()
    assert plan.after_failure(E.BadRequestError("x")).model == "b"
