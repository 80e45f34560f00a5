"""The key never shows (repr, str, errors, logs, serialised output); models pickle and reload."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load

from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA

from .conftest import MakeLLM

SECRET = "sk-aisa-very-secret-0123456789"


def test_key_not_in_repr_str_or_serialised_output() -> None:
    llm = ChatAISA(model="gpt-4.1", api_key=SECRET, fallback_models=["gpt-4.1-mini"])
    for text in (repr(llm), str(llm), dumps(llm), str(dumpd(llm)), repr(llm._core())):
        assert SECRET not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["AISA_API_KEY"]}


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_dumpd_load_round_trip_reads_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = ChatAISA(model="gpt-4.1", api_key=SECRET, temperature=0.1, fallback_models=["gpt-5"])
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-other")
    revived = load(
        dumpd(llm),
        secrets_from_env=True,
        valid_namespaces=["langchain_aisa"],
        allowed_objects="all",
    )
    assert isinstance(revived, ChatAISA)
    assert revived.fallback_models == ["gpt-5"] and revived.temperature == 0.1
    assert revived.api_key is not None and revived.api_key.get_secret_value() == "sk-aisa-other"
    explicit = load(
        dumpd(llm),
        secrets_map={"AISA_API_KEY": SECRET},
        valid_namespaces=["langchain_aisa"],
        allowed_objects=[ChatAISA],
    )
    assert explicit.api_key.get_secret_value() == SECRET


def test_key_not_in_errors_or_logs(gateway: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    llm = ChatAISA(model="gpt-4.1", api_key=SECRET, base_url=gateway.base_url, max_retries=0)
    caplog.set_level(logging.DEBUG)
    llm.invoke("hi")
    list(llm.stream("hi"))
    for fault in (Fault(status=401), Fault(status=500), Fault(error_after_chunks=1)):
        gateway.enqueue_fault(fault)
        with pytest.raises(Exception) as caught:
            list(llm.stream("hi"))
        for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__)):
            assert SECRET not in text
    assert caplog.records, "httpx/httpcore debug logs were captured"
    assert SECRET not in caplog.text
    llm.close()


def test_pickled_model_still_works(
    make_llm: MakeLLM, gateway: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = make_llm(temperature=0.5, fallback_models=["gpt-4.1-mini"])
    assert llm.invoke("before").content  # a live pool must not stop pickling
    data = pickle.dumps(llm)
    assert gateway.api_key.encode() not in data  # a pickle never holds the key
    monkeypatch.setenv("AISA_API_KEY", gateway.api_key)  # the loading process has it
    clone = pickle.loads(data)
    assert clone.model_dump() == llm.model_dump()
    assert clone._client is None
    gateway.fail_model("gpt-4.1", Fault(status=429, retry_after=0))
    answer = clone.invoke("after")
    assert answer.response_metadata["model_name"] == "gpt-4.1-mini"
    clone.close()


async def test_pickled_model_works_async(
    make_llm: MakeLLM, gateway: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = make_llm()
    await llm.ainvoke("before")
    monkeypatch.setenv("AISA_API_KEY", gateway.api_key)
    clone = pickle.loads(pickle.dumps(llm))
    assert (await clone.ainvoke("after")).content
    await clone.aclose()


def test_model_with_injected_client_refuses_to_pickle() -> None:
    with httpx.Client() as client:
        llm = ChatAISA(model="gpt-4.1", api_key=SECRET, http_client=client)
        with pytest.raises(TypeError, match="http_client"):
            pickle.dumps(llm)


@pytest.mark.parametrize("how", ["copy", "deepcopy", "model_copy"])
def test_copies_make_their_own_clients(make_llm: MakeLLM, how: str) -> None:
    import copy

    llm = make_llm()
    llm.invoke("warm the pool")
    clone = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "model_copy": lambda m: m.model_copy(update={"temperature": 0.5}),
    }[how](llm)
    assert clone._client is None
    assert clone.invoke("from the copy").content
    assert clone._core() is not llm._core()
    del clone  # collecting the copy must not close the original's pool
    assert llm.invoke("still fine").content


def test_deepcopy_shares_an_injected_client() -> None:
    import copy

    with httpx.Client() as client:
        llm = ChatAISA(model="gpt-4.1", api_key=SECRET, http_client=client)
        assert copy.deepcopy(llm).http_client is client


def test_unpickled_model_without_a_key_says_which_variable(make_llm: MakeLLM) -> None:
    clone = pickle.loads(pickle.dumps(make_llm()))
    with pytest.raises(Exception, match="AISA_API_KEY"):
        clone.invoke("hi")


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_allowed_objects_all_needs_no_valid_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for the partner packages langchain-core lists: without this, ``load`` refused the
    package's namespace with an error that printed the arguments, the key from the env too."""
    monkeypatch.setenv("AISA_API_KEY", SECRET)
    revived = load(dumpd(ChatAISA(model="gpt-4.1")), allowed_objects="all", secrets_from_env=True)
    assert isinstance(revived, ChatAISA)
    assert revived.api_key is not None and revived.api_key.get_secret_value() == SECRET
