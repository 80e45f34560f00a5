"""A client pickles into worker processes and works there (the pool is rebuilt per process)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from aisa_core import AISAClient
from aisa_core.standin import StandIn


def ask(client: AISAClient, question: str) -> tuple[str, str]:
    done = client.chat(question)
    return done.text, done.model


def test_batch_through_a_process_pool(
    aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)  # workers inherit it
    client = AISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, model="gpt-4.1-mini"
    )
    client.chat("warm the pool first")  # a live pool must not stop pickling
    questions = [f"question {i}" for i in range(6)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        answers = list(pool.map(ask, [client] * len(questions), questions))
    assert [a[0].endswith(q) for a, q in zip(answers, questions, strict=True)] == [True] * 6
    assert {a[1] for a in answers} == {"gpt-4.1-mini"}
    client.close()
