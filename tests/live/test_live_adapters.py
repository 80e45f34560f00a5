"""The adapters against the real AIsa gateway; runs only when AISA_API_KEY is set."""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.live, pytest.mark.enable_socket]

MODEL = os.environ.get("AISA_LIVE_MODEL", "gpt-4.1-mini")


def test_llama_index_chat_stream_and_tools() -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.core.tools import FunctionTool

    from llama_index_aisa import AISA

    llm = AISA(MODEL, max_tokens=50)
    assert llm.complete("Reply with the single word: pong").text.strip()
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Count 1 to 3.")]))
    assert chunks and "2" in chunks[-1].message.content

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    tool = FunctionTool.from_defaults(get_weather)
    response = llm.chat_with_tools(
        [tool], user_msg="Weather in Paris? Use the tool.", tool_required=True
    )
    calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert calls and calls[0].tool_name == "get_weather"


def test_router_routes_and_answers() -> None:
    from langchain_aisa.router import RouterRunnable, Rule

    router = RouterRunnable(
        {"fast": MODEL, "other": MODEL},
        [Rule("other", keywords=["zebra"])],
        default="fast",
        chat_kwargs={"max_tokens": 20},
    )
    answer = router.invoke("Say hi about a zebra")
    assert answer.response_metadata["aisa_route"] == "other" and answer.content
