"""``UsageTracker`` totals tokens and cost over every call, streams and agents included."""

from __future__ import annotations

import httpx
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]

from aisa_core.standin import StandIn
from llama_index_aisa import UsageTracker
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, sse, usage_chunk

USER = [ChatMessage(role="user", content="hi")]


def test_totals_over_call_shapes(make_llm: MakeLLM, gateway: Gateway) -> None:
    priced = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.002}
    gateway.add(
        httpx.Response(200, json=completion(usage=priced)),
        sse(chunk("a"), chunk("b", finish="stop"), usage_chunk(4, 2, cost=0.001)),
        httpx.Response(200, json=completion()),  # no cost reported
    )
    llm = make_llm()
    with UsageTracker() as usage:
        llm.chat(USER)
        list(llm.stream_chat(USER))
        llm.complete("x")
    llm.chat(USER)  # after detaching: not counted
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (3, 21, 9)
    assert usage.total_tokens == 30
    assert usage.cost_usd is not None and abs(usage.cost_usd - 0.003) < 1e-12
    assert usage.unpriced_calls == 1
    assert usage.calls_by_model == {"gpt-4.1": 3}
    assert all(h is not usage for h in get_dispatcher().event_handlers)


def test_cost_stays_unknown_until_priced(make_llm: MakeLLM) -> None:
    with UsageTracker() as usage:
        make_llm().chat(USER)
    assert usage.cost_usd is None and usage.unpriced_calls == 1


def test_structured_wrapper_is_not_counted_twice(standin_llm: MakeLLM, standin: StandIn) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    with UsageTracker() as usage:
        standin_llm().as_structured_llm(Answer).chat(USER)
    assert usage.calls == 1 and usage.cost_usd is not None
