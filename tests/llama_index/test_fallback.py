"""Fallback chains run in the core: before the first streamed token only, and the response
says which model answered."""

from __future__ import annotations

import json

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage

from aisa_core import AllModelsFailedError, AuthenticationError, ServerError
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, error, sse

USER = [ChatMessage(role="user", content="hi")]
CHAIN = {"fallback_models": ["claude-haiku-4-5-20251001"], "max_retries": 0}


def models(gateway: Gateway) -> list[str]:
    return [json.loads(r.content)["model"] for r in gateway.requests]


def test_chat_falls_back(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        error(503, "provider_unavailable"),
        httpx.Response(200, json=completion("from claude", model="claude-haiku-4-5")),
    )
    response = make_llm("gpt-4.1", **CHAIN).chat(USER)
    assert response.message.content == "from claude"
    assert response.additional_kwargs["model"] == "claude-haiku-4-5-20251001"
    assert response.additional_kwargs["failed_models"] == ["gpt-4.1"]
    assert models(gateway) == ["gpt-4.1", "claude-haiku-4-5-20251001"]


def test_no_fallback_on_auth_errors(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(error(401, "invalid_api_key"))
    with pytest.raises(AuthenticationError):
        make_llm("gpt-4.1", **CHAIN).chat(USER)
    assert models(gateway) == ["gpt-4.1"]


def test_every_failure_is_kept(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(error(503, "provider_unavailable"), error(429, "rate_limit_exceeded"))
    with pytest.raises(AllModelsFailedError) as caught:
        make_llm("gpt-4.1", **CHAIN).chat(USER)
    assert [a.model for a in caught.value.attempts] == ["gpt-4.1", "claude-haiku-4-5-20251001"]


def test_per_call_chain_overrides(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(error(503, "provider_unavailable"))
    make_llm("gpt-4.1", **CHAIN).chat(USER, fallback_models=["qwen3-max"])
    assert models(gateway) == ["gpt-4.1", "qwen3-max"]


def test_stream_falls_back_before_the_first_token(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse({"error": {"code": "upstream_unavailable", "message": "down"}}, done=False),
        sse(chunk("ok", model="claude-haiku-4-5"), chunk(finish="stop")),
    )
    responses = list(make_llm("gpt-4.1", **CHAIN).stream_chat(USER))
    assert responses[-1].message.content == "ok"
    assert responses[0].additional_kwargs["model"] == "claude-haiku-4-5-20251001"
    assert responses[0].additional_kwargs["failed_models"] == ["gpt-4.1"]


def test_stream_never_falls_back_after_a_token(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse(chunk("half"), {"error": {"code": "upstream_timeout", "message": "x"}}, done=False)
    )
    seen = []
    with pytest.raises(ServerError):
        for response in make_llm("gpt-4.1", **CHAIN).stream_chat(USER):
            seen.append(response.delta)
    assert seen == ["half"]
    assert models(gateway) == ["gpt-4.1"]


async def test_async_stream_falls_back(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(error(429, "rate_limit_exceeded"), sse(chunk("ok"), chunk(finish="stop")))
    stream = await make_llm("gpt-4.1", **CHAIN).astream_chat(USER)
    responses = [r async for r in stream]
    assert responses[-1].additional_kwargs["model"] == "claude-haiku-4-5-20251001"
