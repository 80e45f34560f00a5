"""``CostLedger``: settled cost per model, per key label and per day, from the attempt seam,
readable from any process that points at the same store."""

from __future__ import annotations

import datetime

import pytest

from aisa_core import AISAClient, AsyncAISAClient, CostLedger
from aisa_core.attempts import AttemptReport
from aisa_core.errors import BadRequestError, ConfigurationError
from aisa_core.standin import Fault, StandIn
from aisa_core.stores import MemoryStore, RedisStore


def _report(model: str, cost: float | None, started: float, outcome: str = "ok") -> AttemptReport:
    return AttemptReport("chat", model, outcome, started, 0.1, cost_usd=cost)  # type: ignore[arg-type]


def test_it_adds_settled_cost_by_model_label_and_day(store: RedisStore) -> None:
    day = datetime.datetime(2026, 3, 1, 23, 59, 59, tzinfo=datetime.timezone.utc).timestamp()
    a, b = CostLedger(store, label="team-a"), CostLedger(store, label="team-b")
    a.on_attempt(_report("gpt-4.1", 0.25, day))
    a.on_attempt(_report("gpt-4.1", 0.5, day))
    a.on_attempt(_report("gpt-4.1-mini", 0.125, day))
    a.on_attempt(_report("gpt-4.1", 1.0, day + 1))  # the next day (UTC)
    a.on_attempt(_report("gpt-4.1", None, day, "error"))  # nothing billed
    a.on_attempt(_report("gpt-4.1", 0.0, day))
    b.on_attempt(_report("gpt-4.1", 2.0, day))
    assert a.totals("2026-03-01") == {"gpt-4.1": 0.75, "gpt-4.1-mini": 0.125}
    assert a.total(datetime.date(2026, 3, 1)) == 0.875
    assert a.totals("2026-03-02") == {"gpt-4.1": 1.0}
    assert CostLedger(store).by_label("2026-03-01") == {
        "team-a": {"gpt-4.1": 0.75, "gpt-4.1-mini": 0.125},
        "team-b": {"gpt-4.1": 2.0},
    }
    assert CostLedger(store, namespace="other").by_label("2026-03-01") == {}


def test_a_client_reports_to_it(store: RedisStore, aisa_standin: StandIn) -> None:
    ledger = CostLedger(store, label="svc")
    with AISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, observers=[ledger]
    ) as client:
        client.chat("hello", model="gpt-4.1")
        client.stream("hello", model="gpt-4.1-mini").completion()
        aisa_standin.fail_model("gpt-4.1", Fault(status=400))
        with pytest.raises(BadRequestError):  # not billed: not in the ledger
            client.chat("hello", model="gpt-4.1")
    totals = ledger.totals()
    assert set(totals) == {"gpt-4.1", "gpt-4.1-mini"}
    assert sum(totals.values()) == pytest.approx(aisa_standin.spent_micros_usd / 1e6)
    assert ledger.today() == datetime.datetime.now(datetime.timezone.utc).date()


async def test_the_async_client_awaits_it(astore: RedisStore, aisa_standin: StandIn) -> None:
    ledger = CostLedger(astore, label="svc")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the blocking store method was called from async code")

    astore.incr_field = refuse  # type: ignore[method-assign]
    async with AsyncAISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, observers=[ledger]
    ) as client:
        await client.chat("hello", model="gpt-4.1")
    del astore.incr_field
    assert ledger.total() == pytest.approx(aisa_standin.spent_micros_usd / 1e6)


def test_record_by_hand_and_in_memory() -> None:
    ledger = CostLedger(MemoryStore(), label="ops")
    ledger.record("gpt-4.1", 0.5, day="2026-01-02")
    ledger.record("gpt-4.1", 0.25)
    assert ledger.totals("2026-01-02") == {"gpt-4.1": 0.5}
    assert ledger.totals() == {"gpt-4.1": 0.25}


@pytest.mark.parametrize("options", [{"label": ""}, {"label": "a|b"}, {"keep_days": 0}])
def test_bad_settings(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        CostLedger(MemoryStore(), **options)  # type: ignore[arg-type]


def test_a_bad_day(store: RedisStore) -> None:
    with pytest.raises(ConfigurationError):
        CostLedger(store).totals("yesterday")
