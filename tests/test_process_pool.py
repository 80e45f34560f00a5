"""The framework models pickle into worker processes and answer there (issue 6)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from aisa_core.standin import Fault, StandIn


def ask_langchain(model: Any, question: str) -> tuple[str, str]:
    answer = model.invoke(question)
    return str(answer.content), str(answer.response_metadata["model_name"])


def ask_llama(model: Any, question: str) -> str:
    return str(model.complete(question).text)


def test_models_run_a_batch_in_a_process_pool(
    aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_aisa import ChatAISA
    from llama_index_aisa import AISA

    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)  # workers inherit it; pickles
    monkeypatch.setenv("AISA_BASE_URL", aisa_standin.base_url)  # never carry the key
    chat = ChatAISA(model="gpt-4.1", fallback_models=["gpt-4.1-mini"])
    llama = AISA("gpt-4.1-mini")
    aisa_standin.fail_model("gpt-4.1", Fault(status=503))  # the fallback runs in the workers
    questions = [f"question {i}" for i in range(4)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        lc = list(pool.map(ask_langchain, [chat] * 4, questions))
        li = list(pool.map(ask_llama, [llama] * 4, questions))
    assert [text.endswith(q) for (text, _), q in zip(lc, questions, strict=True)] == [True] * 4
    assert {served for _, served in lc} == {"gpt-4.1-mini"}
    assert [text.endswith(q) for text, q in zip(li, questions, strict=True)] == [True] * 4
