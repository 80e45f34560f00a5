"""``AISA`` with a shared ModelHealth and Budget: they reach the core clients, copies share them,
serialised forms leave them out, and skipped models show in ``additional_kwargs``."""

from __future__ import annotations

import copy
import pickle

import pytest
from llama_index.core.base.llms.types import ChatMessage

from aisa_core import Budget, BudgetExceededError, ModelHealth, RateLimiter
from aisa_core.standin import Fault, StandIn
from llama_index_aisa import AISA
from tests.llama_index.conftest import MakeLLM

USER = [ChatMessage(role="user", content="Where is Lima?")]
PRIMARY, BACKUP = "gpt-4.1", "gpt-4.1-mini"


def sent_models(standin: StandIn) -> list[str]:
    return [r.json["model"] for r in standin.requests if r.path == "/v1/chat/completions"]


def cooled(standin_llm: MakeLLM, standin: StandIn) -> tuple[AISA, ModelHealth]:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    standin.fail_model(PRIMARY, Fault(status=503))
    llm = standin_llm(PRIMARY, fallback_models=[BACKUP], aisa_health=health)
    assert llm.chat(USER).additional_kwargs["model"] == BACKUP
    return llm, health


def test_health_and_budget_reach_both_core_clients(standin_llm: MakeLLM) -> None:
    health, budget = ModelHealth(), Budget(usd=1.0)
    llm = standin_llm(aisa_health=health, aisa_budget=budget)
    for client in (llm.client, llm.async_client):
        assert client.settings.health is health and client.settings.budget is budget
    other = ModelHealth()
    llm.aisa_health = other  # rebuilds the clients
    assert llm.client.settings.health is other and llm.async_client.settings.health is other


def test_skipped_models_in_additional_kwargs(standin_llm: MakeLLM, standin: StandIn) -> None:
    llm, health = cooled(standin_llm, standin)
    before = sent_models(standin)
    response = llm.chat(USER)
    assert sent_models(standin) == [*before, BACKUP]
    [skipped] = response.additional_kwargs["skipped_models"]
    assert skipped == {
        "model": PRIMARY,
        "reason": "cooling down",
        "until": health.cooling_until(PRIMARY),
    }
    assert [s.model for s in response.raw.meta.skipped] == [PRIMARY]
    assert llm.complete("hi").additional_kwargs["skipped_models"][0]["model"] == PRIMARY


async def test_skipped_models_in_streams(astandin_llm: MakeLLM, standin: StandIn) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    standin.fail_model(PRIMARY, Fault(status=503))
    llm = astandin_llm(PRIMARY, fallback_models=[BACKUP], aisa_health=health)
    await llm.achat(USER)
    responses = [r async for r in await llm.astream_chat(USER)]
    assert responses
    for response in responses:
        assert response.additional_kwargs["skipped_models"][0]["model"] == PRIMARY


def test_no_skip_no_key(standin_llm: MakeLLM) -> None:
    response = standin_llm(aisa_health=ModelHealth()).chat(USER)
    assert "skipped_models" not in response.additional_kwargs


def test_a_budget_refusal_sends_nothing(standin_llm: MakeLLM, standin: StandIn) -> None:
    budget = Budget(usd=0.001, prices={PRIMARY: (1000.0, 1000.0)})
    with pytest.raises(BudgetExceededError):
        standin_llm(PRIMARY, aisa_budget=budget, max_tokens=100).chat(USER)
    assert sent_models(standin) == []


def test_copies_share_them_and_serialised_forms_leave_them_out(
    standin_llm: MakeLLM, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    health, budget, limiter = ModelHealth(), Budget(usd=1.0), RateLimiter(60, 2)
    llm = standin_llm(aisa_health=health, aisa_budget=budget, aisa_rate_limiter=limiter)
    clone = copy.deepcopy(llm)
    assert clone.aisa_health is health and clone.aisa_budget is budget
    assert clone.aisa_rate_limiter is limiter
    assert clone.client.settings.health is health
    dumped = llm.to_dict()
    assert not {"aisa_health", "aisa_budget", "aisa_rate_limiter"} & set(dumped)
    monkeypatch.setenv("AISA_API_KEY", standin.api_key)  # a pickle never holds the key
    restored = pickle.loads(pickle.dumps(llm))
    assert isinstance(restored.aisa_health, ModelHealth)
    assert restored.aisa_budget is not None and restored.aisa_budget.usd == 1.0
