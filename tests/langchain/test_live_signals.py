"""ChatAISA with a shared ModelHealth and Budget: they reach the core client, copies share them,
serialised forms leave them out, skipped models show in the metadata, a budget refusal is
LangChain's permission error raised before anything is sent."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from langchain_core.exceptions import ModelPermissionDeniedError
from langchain_core.load import dumpd

from aisa_core import Budget as CoreBudget
from aisa_core import BudgetExceededError, ModelHealth
from aisa_core.standin import Fault, StandIn
from langchain_aisa import AISABudgetExceededError, ChatAISA

from .conftest import MakeLLM

PRIMARY, BACKUP = "gpt-4.1", "gpt-4.1-mini"


def sent_models(gateway: StandIn) -> list[str]:
    return [r.json["model"] for r in gateway.requests if r.path == "/v1/chat/completions"]


@pytest.fixture
def health() -> ModelHealth:
    return ModelHealth(failure_threshold=1, cooldown=60)


def cool_down(make_llm: MakeLLM, gateway: StandIn, health: ModelHealth) -> ChatAISA:
    """A model with a fallback whose primary has failed once, so it is cooling down."""
    gateway.fail_model(PRIMARY, Fault(status=503))
    llm = make_llm(fallback_models=[BACKUP], aisa_health=health)
    assert llm.invoke("hi").response_metadata["model_name"] == BACKUP
    assert not health.is_available(PRIMARY)
    return llm


def test_health_and_budget_reach_both_core_clients(make_llm: MakeLLM) -> None:
    health, budget = ModelHealth(), CoreBudget(usd=1.0)
    llm = make_llm(aisa_health=health, aisa_budget=budget)
    for core in (llm._core(), llm._acore()):
        assert core.settings.health is health and core.settings.budget is budget
    other = ModelHealth()
    llm.aisa_health = other  # a changed setting rebuilds the client
    assert llm._core().settings.health is other


def test_skipped_models_are_in_the_metadata_of_an_answer(
    make_llm: MakeLLM, gateway: StandIn, health: ModelHealth
) -> None:
    llm = cool_down(make_llm, gateway, health)
    before = sent_models(gateway)
    answer = llm.invoke("hi")
    assert sent_models(gateway) == [*before, BACKUP]  # nothing sent to the cooling model
    [skipped] = answer.response_metadata["skipped_models"]
    assert skipped["model"] == PRIMARY and skipped["reason"] == "cooling down"
    assert skipped["until"] == health.cooling_until(PRIMARY)


def test_no_skipped_models_means_no_key(make_llm: MakeLLM, health: ModelHealth) -> None:
    answer = make_llm(fallback_models=[BACKUP], aisa_health=health).invoke("hi")
    assert "skipped_models" not in answer.response_metadata


async def test_skipped_models_are_on_one_chunk_of_a_stream(
    make_llm: MakeLLM, gateway: StandIn, health: ModelHealth
) -> None:
    llm = cool_down(make_llm, gateway, health)
    chunks = [c async for c in llm.astream("hello there")]
    carrying = [c for c in chunks if "skipped_models" in c.response_metadata]
    assert carrying == chunks[:1]
    merged: Any = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert [s["model"] for s in merged.response_metadata["skipped_models"]] == [PRIMARY]


def test_a_budget_refusal_is_a_permission_error_before_sending(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    budget = CoreBudget(usd=0.001, prices={PRIMARY: (1000.0, 1000.0)})
    llm = make_llm(aisa_budget=budget, max_tokens=100)
    with pytest.raises(ModelPermissionDeniedError) as caught:
        llm.invoke("hi")
    assert isinstance(caught.value, AISABudgetExceededError)
    assert isinstance(caught.value, BudgetExceededError)
    assert caught.value.limit == 0.001 and caught.value.estimate > 0.001
    assert sent_models(gateway) == []


def test_copies_share_health_budget_and_rate_limiter(make_llm: MakeLLM) -> None:
    from aisa_core import RateLimiter

    health, budget, limiter = ModelHealth(), CoreBudget(usd=1.0), RateLimiter(60, 2)
    llm = make_llm(aisa_health=health, aisa_budget=budget, aisa_rate_limiter=limiter)
    for clone in (copy.deepcopy(llm), llm.model_copy(), llm.model_copy(deep=True)):
        assert clone.aisa_health is health and clone.aisa_budget is budget
        assert clone.aisa_rate_limiter is limiter


def test_serialised_forms_leave_them_out(make_llm: MakeLLM) -> None:
    llm = make_llm(aisa_health=ModelHealth(), aisa_budget=CoreBudget(usd=1.0))
    kwargs = dumpd(llm)["kwargs"]
    assert "aisa_health" not in kwargs and "aisa_budget" not in kwargs
    restored = pickle.loads(pickle.dumps(llm))
    # A pickle keeps the settings (the in-memory state starts empty in the new process).
    assert isinstance(restored.aisa_health, ModelHealth)
    assert restored.aisa_budget is not None and restored.aisa_budget.usd == 1.0
