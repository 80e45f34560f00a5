"""langchain-tests' standard suites: the unit suite offline, the integration suite against the
stand-in gateway over a real loopback socket (and against AIsa when AISA_API_KEY is set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from aisa_core.standin import StandIn
from langchain_aisa import ChatAISA

Detail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]


class TestChatAISAUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatAISA]:
        return ChatAISA

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4.1-mini", "api_key": "sk-aisa-unit-test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"AISA_API_KEY": "sk-aisa-from-env", "AISA_BASE_URL": "https://gateway.example/v1"},
            {"model": "gpt-4.1"},
            {"api_key": "sk-aisa-from-env", "base_url": "https://gateway.example/v1"},
        )

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4.1-nano"


class _GatewayFlags:
    """Capabilities of gpt-4.1 behind AIsa: vision (URL and base64, also in tool results),
    JSON mode and JSON schema, reasoning and cached-token details in usage; no audio input,
    and no Anthropic-format inputs (AIsa's OpenAI route takes OpenAI shapes)."""

    @property
    def chat_model_class(self) -> type[ChatAISA]:
        return ChatAISA

    @pytest.fixture
    async def model(self, request: pytest.FixtureRequest) -> AsyncIterator[ChatAISA]:
        """The suite's model fixture, plus closing the connection pools inside the test's
        event loop (a pool left open when its loop ends leaks sockets)."""
        extra = getattr(request, "param", None) or {}
        llm = ChatAISA(**{**self.standard_chat_model_params, **self.chat_model_params, **extra})
        yield llm
        llm.close()
        await llm.aclose()

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4.1-nano"

    @property
    def supported_usage_metadata_details(self) -> dict[Literal["invoke", "stream"], list[Detail]]:
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatAISA(model="claude-sonnet-4-5-20250929-thinking")
        return _answer(llm, "Why is the sky blue? Think first.", stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return _answer(ChatAISA(model="gpt-4.1-mini"), "Hello again", stream=stream)


@pytest.mark.usefixtures("standin_env", "local_media")
class TestChatAISAIntegration(_GatewayFlags, ChatModelIntegrationTests):
    """Against the stand-in gateway over loopback. The stand-in also takes PDFs as ``file``
    parts (AIsa does not document them, so the live class leaves them out)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4.1"}

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @pytest.fixture(autouse=True)
    def _script_answers(self, request: pytest.FixtureRequest, aisa_standin: StandIn) -> None:
        """Two tests need answers only a real model can write: JSON mode returns the JSON the
        prompt asks for, and the unicode test wants the customer name copied from the prompt.
        Their answers are scripted; everything else on the path (request, SSE, parsing) is
        real."""
        name = request.node.originalname
        if name == "test_json_mode":
            for _ in range(4):
                aisa_standin.enqueue_text('{"setup": "Why cats?", "punchline": "Because."}')
        elif name == "test_unicode_tool_call_integration":
            for customer in ("你好啊集团", "こんにちは株式会社"):
                args = {"customer_name": customer, "description": "客户 – お客様"}
                aisa_standin.enqueue_tool_call("unicode_customer", args)


def _answer(llm: ChatAISA, prompt: str, *, stream: bool) -> AIMessage:
    if not stream:
        return llm.invoke(prompt)
    full = None
    for chunk in llm.stream(prompt):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessage)
    return full


@pytest.mark.live
@pytest.mark.enable_socket
class TestChatAISALive(_GatewayFlags, ChatModelIntegrationTests):
    """The same suite against AIsa itself; runs only when AISA_API_KEY is set."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4.1-mini"}
