"""``ChatAISA``, ``AISAEmbeddings`` and ``AISARerank`` hold their core clients the same way (one
owner): the same connection fields, copies that share the rate limiter, model health and budget,
one error for unknown arguments that never shows the key, and clients made once."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aisa_core import Budget, ModelHealth, RateLimiter
from langchain_aisa import AISAEmbeddings, AISARerank, ChatAISA

SECRET = "sk-aisa-owner-secret-0123456789"
OWNERS: list[tuple[type[Any], dict[str, Any]]] = [
    (ChatAISA, {"model": "gpt-4.1"}),
    (AISAEmbeddings, {}),
    (AISARerank, {}),
]
COPIES = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "model_copy": lambda m: m.model_copy(update={"max_retries": 5}),
}


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize(("cls", "kwargs"), OWNERS, ids=lambda v: getattr(v, "__name__", ""))
def test_copies_share_what_they_count(cls: type[Any], kwargs: dict[str, Any], how: str) -> None:
    limiter, health, budget = RateLimiter(60, 2), ModelHealth(), Budget(usd=1.0)
    owner = cls(
        api_key=SECRET, aisa_rate_limiter=limiter, aisa_health=health, aisa_budget=budget, **kwargs
    )
    original = owner._core()
    clone = COPIES[how](owner)
    assert (clone.aisa_rate_limiter, clone.aisa_health, clone.aisa_budget) == (
        limiter,
        health,
        budget,
    )
    assert clone.aisa_rate_limiter is limiter and clone.aisa_health is health
    assert clone.aisa_budget is budget
    settings = clone._core().settings
    assert clone._core() is not original  # its own pool
    assert settings.rate_limiter is limiter and settings.health is health
    assert settings.budget is budget and clone._acore().settings.health is health


@pytest.mark.parametrize(("cls", "kwargs"), OWNERS, ids=lambda v: getattr(v, "__name__", ""))
def test_unknown_arguments_name_the_class_and_never_the_key(
    cls: type[Any], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__} got unknown argument.s. colour") as e:
        cls(api_key=SECRET, colour="blue", **kwargs)
    assert SECRET not in str(e.value) and SECRET not in repr(e.value)
    with pytest.raises(ValueError) as e:  # a wrong type: the input is not shown either
        cls(api_key=SECRET, max_retries="many", **kwargs)
    assert SECRET not in str(e.value)


@pytest.mark.parametrize(("cls", "kwargs"), OWNERS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_first_calls_of_many_threads_share_one_client(
    cls: type[Any], kwargs: dict[str, Any]
) -> None:
    owner = cls(api_key=SECRET, **kwargs)
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: owner._core(), range(32)))
    assert all(c is clients[0] for c in clients)
    owner.timeout = 9.0  # a changed setting: a new client, with it
    assert owner._core() is not clients[0] and owner._core().settings.timeouts.read == 9.0
    owner.close()
