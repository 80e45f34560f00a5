"""``UsageTracker`` totals tokens and cost over every call, streams and agents included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import Field

from aisa_core import AISAError, ModelHealth
from aisa_core.standin import StandIn
from aisa_core.usage import CallUsage
from llama_index_aisa import UsageTracker
from llama_index_aisa import _usage as llama_usage
from llama_index_aisa._usage import AISAUsageEvent
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, error, sse, usage_chunk
from tests.without_pandas import MISSING, tables_without_pandas

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


# --- read from the attempt seam ---------------------------------------------------------------


class Events(BaseEventHandler):
    """Keeps every ``AISAUsageEvent``."""

    seen: list[AISAUsageEvent] = Field(default_factory=list)

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, AISAUsageEvent):
            self.seen.append(event)


def test_one_event_per_call_inside_the_llms_span(make_llm: MakeLLM, gateway: Gateway) -> None:
    events = Events()
    root = get_dispatcher()
    root.add_event_handler(events)
    try:
        make_llm().chat(USER)
    finally:
        root.event_handlers.remove(events)
    [event] = events.seen
    usage = event.usage
    assert (usage.operation, usage.model, usage.answered) == ("chat", "gpt-4.1", True)
    assert event.span_id is not None and event.span_id.startswith("AISA.chat")


def test_failed_attempts_skips_and_failed_calls_per_model(
    make_llm: MakeLLM, gateway: Gateway
) -> None:
    backups = [httpx.Response(200, json=completion(model="gpt-4.1-mini")) for _ in range(2)]
    gateway.add(error(503, "upstream_error"), *backups, error(503, "upstream_error"))
    health = ModelHealth(failure_threshold=1, cooldown=60)
    with UsageTracker() as usage:
        make_llm(fallback_models=["gpt-4.1-mini"], aisa_health=health).chat(USER)
        make_llm(fallback_models=["gpt-4.1-mini"], aisa_health=health).chat(USER)  # skips 4.1
        with pytest.raises(AISAError):
            make_llm("gpt-4.1-mini", max_retries=0).chat(USER)
    primary, backup = usage.by_model["gpt-4.1"], usage.by_model["gpt-4.1-mini"]
    assert (primary.calls, primary.failed_attempts, primary.skipped) == (0, 1, 1)
    assert (backup.calls, backup.failed_attempts, backup.skipped) == (2, 1, 0)
    assert usage.calls_by_model == {"gpt-4.1-mini": 2}
    assert (usage.calls, usage.failed_calls) == (2, 1)


def test_cached_reasoning_and_calls_straight_to_the_core(
    make_llm: MakeLLM, gateway: Gateway
) -> None:
    details = {
        "prompt_tokens": 10,
        "completion_tokens": 30,
        "total_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 20},
        "cost": 0.004,
    }
    gateway.add(httpx.Response(200, json=completion(model="o4-mini", usage=details)))
    llm = make_llm("o4-mini")
    with UsageTracker() as usage:
        llm.client.chat("no LlamaIndex events around this one", model="o4-mini")
    model = usage.by_model["o4-mini"]
    assert (model.prompt_tokens, model.cached_tokens, model.reasoning_tokens) == (10, 6, 20)
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.cost_usd) == (6, 20, 0.004)


def test_a_stream_closed_early_counts_once(make_llm: MakeLLM, gateway: Gateway) -> None:
    """Served, so it may be billed: a call whose cost is unknown."""
    gateway.add(sse(chunk("a"), chunk("b"), chunk("c", finish="stop"), usage_chunk(4, 3)))
    with UsageTracker() as usage:
        stream = make_llm().stream_chat(USER)
        next(stream)
        stream.close()  # LlamaIndex's wrapper drops the AISA stream, which closes it
    assert (usage.calls, usage.unpriced_calls, usage.calls_by_model) == (1, 1, {"gpt-4.1": 1})


async def test_async_streams_count_when_they_end(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(sse(chunk("a"), chunk("b", finish="stop"), usage_chunk(4, 3, cost=0.001)))
    with UsageTracker() as usage:
        _ = [r async for r in await make_llm().astream_chat(USER)]
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 4, 3)
    assert usage.cost_usd == 0.001 and usage.unpriced_calls == 0


# --- as a table ---------------------------------------------------------------------------


def test_the_totals_show_as_a_table_and_a_dataframe(make_llm: MakeLLM, gateway: Gateway) -> None:
    priced = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.002}
    gateway.add(
        error(503, "upstream_error"),
        httpx.Response(200, json=completion(model="gpt-4.1-mini", usage=priced)),
        httpx.Response(200, json=completion(model="claude-haiku-4-5-20251001")),
    )
    with UsageTracker() as usage:
        make_llm(fallback_models=["gpt-4.1-mini"]).chat(USER)
        make_llm("claude-haiku-4-5-20251001").chat(USER)
    frame = usage.to_pandas().set_index("model")
    assert list(frame.index) == ["claude-haiku-4-5-20251001", "gpt-4.1", "gpt-4.1-mini", "total"]
    assert frame.loc["gpt-4.1", "failed_attempts"] == 1 and frame.loc["gpt-4.1", "calls"] == 0
    assert frame.loc["gpt-4.1-mini", "cost_usd"] == 0.002
    total = frame.loc["total"]
    assert (total["calls"], total["unpriced_calls"], total["failed_attempts"]) == (2, 1, 1)
    assert total["total_tokens"] == usage.total_tokens
    page = usage._repr_html_()
    assert page.count("<tr>") == 5 and "unpriced_calls" in page and "<caption>" in page
    assert usage.table().splitlines()[-1].startswith("total")


def test_model_names_are_escaped_in_the_table() -> None:
    usage = UsageTracker()
    usage.add(CallUsage("chat", "<script>alert(1)</script>", True, cost_usd=0.1))
    page = usage._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_pandas_the_table_still_shows_and_to_pandas_says_what_is_missing() -> None:
    shown = tables_without_pandas("from llama_index_aisa import UsageTracker", "[UsageTracker()]")
    assert shown == [MISSING]


def test_nothing_is_built_when_nobody_listens(
    make_llm: MakeLLM, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root dispatcher's own ``NullEventHandler`` does not count as a listener."""
    read: list[object] = []

    class Counting(CallUsage):
        @classmethod
        def of(cls, report: Any) -> CallUsage | None:
            read.append(report)
            return CallUsage.of(report)

    monkeypatch.setattr(llama_usage, "CallUsage", Counting)
    make_llm().chat(USER)
    assert read == []
    with UsageTracker() as usage:
        make_llm().chat(USER)
    assert len(read) == 1 and usage.calls == 1


def test_with_no_handler_listening_the_core_makes_no_report() -> None:
    from llama_index_aisa import AISA

    llm = AISA("gpt-4.1", api_key="sk-aisa-x")
    assert not llm.client.settings.watch.watched
    usage = UsageTracker().attach()
    try:
        assert llm.client.settings.watch.watched
    finally:
        usage.detach()
    assert not llm.client.settings.watch.watched
