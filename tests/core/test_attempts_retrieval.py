"""Embedding and rerank calls on the attempt seam: what they served, their tokens and cost, and
the caller's context when the sync client runs batches on its thread pool."""

from __future__ import annotations

import contextvars
import math

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core.attempts import CallReport
from aisa_core.standin import StandIn

EMBED, RERANK = "text-embedding-3-small", "jina-reranker-v3"
TEXTS = ["the sun is a star", "Lima is the capital of Peru", "coral reefs", "K2 is tall"]
caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


class Calls:
    """An observer that keeps each call's report and the caller it was heard for."""

    def __init__(self) -> None:
        self.reports: list[CallReport] = []
        self.callers: list[str] = []

    def on_call(self, report: CallReport) -> None:
        self.reports.append(report)
        self.callers.append(caller.get())


def test_each_embedding_batch_reports_tokens_cost_and_served_model(
    aisa_standin: StandIn,
) -> None:
    calls = Calls()
    client = AISAClient(api_key="k", base_url=aisa_standin.base_url, observers=[calls])
    result = client.embed(TEXTS, model=EMBED, batch_size=2, max_concurrency=1, dimensions=64)
    assert result.batches == 2 and len(calls.reports) == 2
    for report in calls.reports:
        final = report.final
        assert final is not None and report.operation == final.operation == "embeddings"
        assert final.served_model == EMBED and final.usage is not None
        assert final.usage.prompt_tokens > 0 and final.cost_usd is not None
        assert report.request == {"encoding_format": "base64", "dimensions": 64}  # no texts
    reports = [r.final for r in calls.reports if r.final]
    assert sum(a.usage.prompt_tokens for a in reports if a.usage) == result.usage.prompt_tokens
    assert result.cost_usd is not None
    assert math.isclose(sum(a.cost_usd or 0 for a in reports), result.cost_usd)
    client.close()


async def test_a_rerank_call_reports_tokens_and_cost_but_not_the_documents(
    aisa_standin: StandIn,
) -> None:
    calls = Calls()
    aclient = AsyncAISAClient(api_key="k", base_url=aisa_standin.base_url, observers=[calls])
    ranking = await aclient.rerank("capital of Peru", TEXTS, model=RERANK, top_n=2)
    [report] = calls.reports
    final = report.final
    assert final is not None and (report.operation, final.served_model) == ("rerank", RERANK)
    assert final.usage == ranking.usage and final.usage is not None
    assert final.cost_usd == ranking.cost_usd is not None
    assert report.request == {"top_n": 2, "return_documents": True}
    await aclient.aclose()


def test_pooled_batches_are_heard_in_the_callers_context(aisa_standin: StandIn) -> None:
    """The sync client runs batches a few at a time on threads; observers still hear each one
    in the caller's context (where a tracer's current span or a usage tracker lives)."""
    calls = Calls()
    client = AISAClient(api_key="k", base_url=aisa_standin.base_url, observers=[calls])
    token = caller.set("the caller")
    try:
        client.embed(TEXTS, model=EMBED, batch_size=1, max_concurrency=4)
    finally:
        caller.reset(token)
    assert calls.callers == ["the caller"] * 4
    client.close()
