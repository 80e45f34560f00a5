"""Construction, fields, secrets, serialisation and pickling."""

from __future__ import annotations

import copy
import json
import pickle

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.function_calling import FunctionCallingLLM

import llama_index_aisa
from aisa_core import ConfigurationError, Secret
from llama_index_aisa import AISA
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import BASE, KEY, Gateway, completion

USER = [ChatMessage(role="user", content="hi")]


def test_public_api_is_pinned() -> None:
    assert llama_index_aisa.__all__ == [
        "AISA",
        "DEFAULT_MODEL",
        "AISAEmbedding",
        "AISARerank",
        "ModelUsage",
        "UsageTracker",
    ]


def test_class_name_and_type() -> None:
    assert AISA.class_name() == "AISA"
    assert issubclass(AISA, FunctionCallingLLM)


def test_defaults_send_nothing_optional(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm()
    assert llm.max_tokens is None and llm.temperature is None  # no 256 cap, no invented default
    llm.chat(USER)
    assert gateway.body == {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}


def test_model_is_the_first_positional_argument() -> None:
    assert AISA("qwen3-max", api_key=KEY).model == "qwen3-max"


def test_fields_reach_the_request(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm("claude-sonnet-4-5-20250929", temperature=0.3, max_tokens=100)
    llm.chat(USER)
    body = gateway.body
    assert (body["model"], body["temperature"], body["max_tokens"]) == (
        "claude-sonnet-4-5-20250929",
        0.3,
        100,
    )


def test_additional_kwargs_never_override_per_call_arguments(
    make_llm: MakeLLM, gateway: Gateway
) -> None:
    llm = make_llm(temperature=0.1, additional_kwargs={"top_p": 0.5, "seed": 7, "temperature": 1})
    llm.chat(USER)
    assert gateway.body["temperature"] == 0.1  # the named field wins over additional_kwargs
    assert (gateway.body["top_p"], gateway.body["seed"]) == (0.5, 7)
    llm.chat(USER, top_p=0.9, temperature=0.7, max_tokens=5)
    assert (gateway.body["top_p"], gateway.body["temperature"], gateway.body["max_tokens"]) == (
        0.9,
        0.7,
        5,
    )
    llm.chat(USER, temperature=None)  # None per call: not sent at all
    assert "temperature" not in gateway.body


def test_settings_reach_the_core_client() -> None:
    llm = AISA(
        api_key=KEY,
        timeout=7.5,
        max_retries=4,
        base_url="https://gw.example/",
        default_headers={"X-Team": "rag"},
    )
    settings = llm.client.settings
    assert settings.timeouts.read == 7.5
    assert settings.retry.max_retries == 4
    assert settings.base_url == "https://gw.example/v1"
    assert settings.headers["X-Team"] == "rag"
    assert settings.headers["x-aisa-source"] == "aisa-llm-llama-index"
    assert llm.async_client.settings.retry.max_retries == 4


def test_default_headers_and_bearer_are_sent(make_llm: MakeLLM, gateway: Gateway) -> None:
    make_llm(default_headers={"X-Team": "rag"}).chat(USER)
    request = gateway.requests[-1]
    assert request.headers["x-team"] == "rag"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert str(request.url) == f"{BASE}/chat/completions"


def test_changing_a_connection_field_rebuilds_the_client() -> None:
    llm = AISA(api_key=KEY)
    llm.max_retries = 0
    llm.api_key = "sk-aisa-other-key-123456"  # type: ignore[assignment]
    assert llm.client.settings.retry.max_retries == 0
    assert llm.client.settings.api_key.get_secret_value() == "sk-aisa-other-key-123456"
    with pytest.raises(ValueError, match="temperature"):
        llm.temperature = 5  # validated on assignment


def test_key_from_aisa_env_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-should-never-be-used")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1")
    with pytest.raises(ConfigurationError, match="AISA_API_KEY"):
        AISA()
    monkeypatch.setenv("AISA_API_KEY", KEY)
    llm = AISA()
    assert llm.client.settings.api_key.get_secret_value() == KEY
    assert llm.client.settings.base_url == "https://api.aisa.one/v1"


def test_base_url_from_env_with_or_without_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    for url in ("https://gw.example", "https://gw.example/v1/"):
        monkeypatch.setenv("AISA_BASE_URL", url)
        assert AISA(api_key=KEY).client.settings.base_url == "https://gw.example/v1"


def test_plain_http_refused_except_loopback() -> None:
    with pytest.raises(ConfigurationError):
        AISA(api_key=KEY, base_url="http://gw.example/v1")
    assert AISA(api_key=KEY, base_url="http://127.0.0.1:9/v1").base_url == "http://127.0.0.1:9/v1"


def test_key_never_serialised() -> None:
    llm = AISA(api_key=KEY, http_client=httpx.Client())
    for text in (
        json.dumps(llm.to_dict()),
        llm.to_json(),
        repr(llm),
        str(llm),
        json.dumps(llm.to_payload()),
        llm.model_dump_json(),
    ):
        assert KEY not in text
    assert "api_key" not in llm.to_dict() and "http_client" not in llm.to_dict()


def test_aisa_secret_accepted() -> None:
    llm = AISA(api_key=Secret(KEY))  # type: ignore[arg-type]
    assert llm.client.settings.api_key.get_secret_value() == KEY


def test_round_trip_through_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = AISA("gemini-2.5-pro", api_key=KEY, temperature=0.2, fallback_models=["gpt-4.1"])
    monkeypatch.setenv("AISA_API_KEY", KEY)
    again = AISA.from_dict(llm.to_dict())
    assert (again.model, again.temperature, again.fallback_models) == (
        "gemini-2.5-pro",
        0.2,
        ["gpt-4.1"],
    )


def test_pickle_leaves_the_key_out(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = AISA("qwen3-max", api_key=KEY, max_tokens=50, http_client=httpx.Client())
    data = pickle.dumps(llm)
    assert KEY.encode() not in data
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-from-the-env-123")
    again = pickle.loads(data)
    assert (again.model, again.max_tokens, again.http_client) == ("qwen3-max", 50, None)
    assert again.client.settings.api_key.get_secret_value() == "sk-aisa-from-the-env-123"
    assert llm.api_key is not None  # pickling does not touch the original


def test_unpickling_without_a_key_says_so_at_the_first_call() -> None:
    # Issue 10 item 9: loading works without a key; the first call names AISA_API_KEY.
    again = pickle.loads(pickle.dumps(AISA(api_key=KEY)))
    with pytest.raises(ConfigurationError, match="AISA_API_KEY"):
        again.complete("hi")


def test_pickled_llm_works(standin_llm: MakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    llm = standin_llm()
    monkeypatch.setenv("AISA_API_KEY", llm.client.settings.api_key.get_secret_value())
    again = pickle.loads(pickle.dumps(llm))
    assert "stand-in" in (again.chat(USER).message.content or "")
    again.close()


def test_deepcopy_keeps_the_key_and_gets_its_own_pool() -> None:
    llm = AISA(api_key=KEY, additional_kwargs={"seed": 1})
    clone = copy.deepcopy(llm)
    assert clone.client is not llm.client
    assert clone.client.settings.api_key.get_secret_value() == KEY
    clone.additional_kwargs["seed"] = 2
    assert llm.additional_kwargs == {"seed": 1}


def test_injected_http_clients_are_used(gateway: Gateway) -> None:
    sync = httpx.Client(transport=httpx.MockTransport(gateway))
    llm = AISA(api_key=KEY, http_client=sync)
    assert llm.client.http is sync
    llm.chat(USER)
    llm.close()
    assert not sync.is_closed  # the caller's client is the caller's to close
    assert len(gateway.requests) == 1


def test_own_pool_through_respx() -> None:
    """Without an injected client, AISA's own (core) pool is used; respx stands in for AIsa."""
    import respx

    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/chat/completions").respond(200, json=completion("pooled"))
        llm = AISA("kimi-k2.5", api_key=KEY, temperature=0.2)
        assert llm.chat(USER).message.content == "pooled"
        llm.close()
    sent = json.loads(route.calls.last.request.content)
    assert sent["temperature"] == 1  # the core's per-model quirk: Kimi K2.5 takes only 1
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
