"""The tour's later steps: retrieval on one key, model health, a spend budget, and tracing's
seam. Each runs against the stand-in or the real gateway (kept tiny there)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from aisa_core import AISAClient, Budget, BudgetExceededError, ModelHealth
from aisa_core.attempts import CallReport

from .format import usd

if TYPE_CHECKING:
    from .demo import Tour

__all__ = ["budget", "health", "retrieval"]

NOTES = (
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Everest is the highest mountain above sea level.",
    "The Pacific is the largest and deepest ocean on Earth.",
    "Honey never spoils when it is sealed and kept dry.",
)
QUESTION = "How tall is the Eiffel Tower?"


def _say(text: str) -> None:
    print(text, flush=True)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.hypot(*a) * math.hypot(*b) or 1.0)


def retrieval(tour: Tour) -> None:
    client = tour.client
    notes = client.embed(list(NOTES))
    question = client.embed(QUESTION)
    _say(
        f"   embedded {len(NOTES)} notes and the question with {notes.model} "
        f"({len(notes.vectors[0])} dimensions, {notes.usage.prompt_tokens} tokens)"
    )
    _say(f"   > {QUESTION}")
    scores = [_cosine(question.vectors[0], v) for v in notes.vectors]
    best = max(range(len(NOTES)), key=scores.__getitem__)
    _say(f"   nearest note by cosine ({scores[best]:.2f}): {NOTES[best]}")
    ranking = client.rerank(QUESTION, list(NOTES), top_n=1)
    top = ranking.results[0]
    _say(f"   reranker's pick ({ranking.model}, score {top.relevance_score:.2f}): {top.document}")


def health(tour: Tour) -> None:
    primary = "gpt-4.1" if tour.offline else "no-such-model-aisa-demo"
    if tour.offline:
        from aisa_core.standin import Fault

        tour.gateway.fail_model(primary, Fault(status=503, message="Upstream is down."))
        _say(f"   stand-in: {primary} answers 503 to everything")
    else:
        _say(f"   primary is {primary!r}, which the gateway cannot serve")
    shared = ModelHealth(failure_threshold=2, cooldown=60)
    sent: list[str] = []

    class Watch:
        def on_call(self, report: CallReport) -> None:
            sent.extend(a.model for a in report.attempts)

    settings = tour.client.settings
    with AISAClient(
        api_key=settings.api_key,
        base_url=settings.base_url,
        model=primary,
        fallback_models=[tour.client.settings.model or "gpt-4.1-mini"],
        retry_before_fallback=False,
        max_retries=0,
        health=shared,
        observers=[Watch()],
    ) as chain:
        for n in range(1, 5):
            answer = chain.chat(f"Say 'call {n}'.", **tour.limits)
            why = "; ".join(s.reason for s in answer.meta.skipped)
            fate = f"skipped ({why})" if why else "tried first and failed"
            _say(f"   call {n}: answered by {answer.meta.requested_model}; {primary} {fate}")
    _say(f"   requests that went to {primary}: {sent.count(primary)} of 4 calls")
    if tour.offline:
        tour.gateway.heal_model(primary)


def budget(tour: Tour) -> None:
    limit = Budget(0.00002, per="day")
    settings = tour.client.settings
    _say(f"   a budget of {usd(limit.usd)} a day; each call reserves its worst case first")
    with AISAClient(
        api_key=settings.api_key, base_url=settings.base_url, model=settings.model, budget=limit
    ) as capped:
        for n in range(1, 4):
            try:
                capped.chat("Say 'ok'.", max_tokens=5)
                _say(f"   call {n}: answered; spent so far {usd(limit.spent())}")
            except BudgetExceededError as error:
                _say(f"   call {n}: refused before sending ({error.message})")
                break
