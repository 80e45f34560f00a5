"""The rough edges LlamaIndex users hit: prompt packing in a small context window, LlamaIndex's
spelling of the base URL and unknown arguments, moving on to a fallback at once, usage per model,
text documents, hints in LlamaIndex's terms, and agents on thinking models."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from llama_index.core import Document, MockEmbedding, Settings, SummaryIndex, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.memory import ChatMemoryBuffer
from pydantic import BaseModel

from aisa_core import ConfigurationError, InvalidInputError
from aisa_core.standin import Fault, StandIn
from llama_index_aisa import AISA, UsageTracker
from llama_index_aisa._convert import to_wire_messages
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import WORKFLOW_WARNINGS

pytestmark = WORKFLOW_WARNINGS

# Twelve documents of about 550 tokens each: more than an 8,000-token window holds at once.
DOCS = [f"Fact {i} about Peru. " + "The Andes rise high above the coast. " * 60 for i in range(12)]


def _index() -> VectorStoreIndex:
    documents = [Document(text=text, id_=f"doc-{i}") for i, text in enumerate(DOCS)]
    return VectorStoreIndex.from_documents(documents, embed_model=MockEmbedding(embed_dim=8))


def _prompt_chars(standin: StandIn) -> list[int]:
    return [sum(len(str(m["content"])) for m in r.json["messages"]) for r in standin.requests]


# -- prompt packing -----------------------------------------------------------------------------


def test_num_output_leaves_room_in_a_small_context_window() -> None:
    small = AISA("gpt-4.1", api_key="sk-aisa-x", context_window=8000).metadata
    assert (small.context_window, small.num_output) == (8000, 2000)
    large = AISA("gpt-4.1", api_key="sk-aisa-x").metadata
    assert large.num_output == 4096  # a reservation for packing, never sent
    capped = AISA("gpt-4.1", api_key="sk-aisa-x", context_window=8000, max_tokens=300).metadata
    assert capped.num_output == 300


def test_query_engine_packs_into_a_small_context_window(
    standin_llm: MakeLLM, standin: StandIn
) -> None:
    llm = standin_llm("gpt-4.1", context_window=8000)
    engine = _index().as_query_engine(llm=llm, similarity_top_k=12)
    response = engine.query("Tell me about Peru.")
    assert str(response).startswith("Hello from the AIsa stand-in")
    assert len(standin.requests) > 1, "the context did not fit in one prompt: it was refined"
    assert "max_tokens" not in standin.requests[0].json
    for chars in _prompt_chars(standin):
        assert chars / 4 < 8000 - 2000


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Global ``Settings`` as a fresh process has them; monkeypatch restores them afterwards."""
    for name in ("_llm", "_prompt_helper", "_chat_prompt_helper", "_embed_model"):
        monkeypatch.setattr(Settings, name, None)


@pytest.mark.usefixtures("clean_settings")
def test_settings_context_window_packs_too(standin_llm: MakeLLM, standin: StandIn) -> None:
    Settings.llm = standin_llm("gpt-4.1")
    Settings.context_window = 8000
    index = SummaryIndex.from_documents([Document(text=t) for t in DOCS])
    response = index.as_query_engine(response_mode="compact").query("Tell me about Peru.")
    assert str(response).startswith("Hello from the AIsa stand-in")
    assert len(standin.requests) > 1
    assert all(chars / 4 < 8000 for chars in _prompt_chars(standin))


# -- constructor arguments --------------------------------------------------------------------


def test_api_base_is_an_alias_of_base_url(standin: StandIn) -> None:
    llm = AISA("gpt-4.1", api_base=standin.base_url, api_key=standin.api_key, max_retries=0)
    try:
        assert llm.base_url == standin.base_url
        assert llm.complete("hi").text.startswith("Hello from the AIsa stand-in")
        assert len(standin.requests) == 1
    finally:
        llm.close()
    same = AISA("gpt-4.1", api_key="sk-aisa-x", api_base="https://a/v1", base_url="https://a/v1")
    assert same.base_url == "https://a/v1"
    with pytest.raises(ConfigurationError, match="api_base"):
        AISA("gpt-4.1", api_key="sk-aisa-x", api_base="https://a/v1", base_url="https://b/v1")


@pytest.mark.parametrize(
    ("argument", "suggestion"),
    [("temprature", "temperature"), ("model_name", "model"), ("api_version", None)],
)
def test_unknown_arguments_are_refused(argument: str, suggestion: str | None) -> None:
    with pytest.raises(ConfigurationError, match=argument) as caught:
        AISA("gpt-4.1", api_key="sk-aisa-x", **{argument: 1})
    assert (f"Did you mean {suggestion}?" in str(caught.value)) is (suggestion is not None)
    assert "additional_kwargs" in str(caught.value)


def test_serialised_llm_still_loads() -> None:
    llm = AISA("gpt-4.1", api_key="sk-aisa-x", fallback_models=["gpt-4.1-mini"], temperature=0.2)
    clone = AISA.from_dict(llm.to_dict(), api_key="sk-aisa-x")
    assert (clone.fallback_models, clone.temperature) == (["gpt-4.1-mini"], 0.2)


# -- fallbacks: no retries stacked in front of them --------------------------------------------


@pytest.mark.parametrize(("retry_first", "primary_requests"), [(False, 1), (True, 3)])
def test_a_rate_limit_moves_on_at_once(
    standin_llm: MakeLLM, standin: StandIn, retry_first: bool, primary_requests: int
) -> None:
    standin.fail_model("gpt-4.1", Fault(status=429, retry_after=0))
    llm = standin_llm(
        "gpt-4.1",
        fallback_models=["gpt-4.1-mini"],
        max_retries=2,
        **({"retry_before_fallback": True} if retry_first else {}),
    )
    assert llm.retry_before_fallback is retry_first
    response = llm.chat([ChatMessage(role="user", content="hi")])
    assert response.additional_kwargs["model"] == "gpt-4.1-mini"
    models = [r.json["model"] for r in standin.requests]
    assert models == ["gpt-4.1"] * primary_requests + ["gpt-4.1-mini"]


# -- usage per model --------------------------------------------------------------------------


def test_usage_tracker_totals_per_model(standin_llm: MakeLLM, standin: StandIn) -> None:
    big, small = standin_llm("gpt-4.1"), standin_llm("gpt-4.1-mini")
    with UsageTracker() as usage:
        first = big.chat([ChatMessage(role="user", content="one")])
        second = small.chat([ChatMessage(role="user", content="two two two")])
        third = small.complete("three")
    assert set(usage.by_model) == {"gpt-4.1", "gpt-4.1-mini"}
    per_big, per_small = usage.by_model["gpt-4.1"], usage.by_model["gpt-4.1-mini"]
    assert (per_big.calls, per_small.calls) == (1, 2)
    extra = [r.additional_kwargs for r in (first, second, third)]
    assert per_big.prompt_tokens == extra[0]["prompt_tokens"]
    assert (
        per_small.completion_tokens == extra[1]["completion_tokens"] + extra[2]["completion_tokens"]
    )
    assert per_big.cost_usd is not None and math.isclose(per_big.cost_usd, extra[0]["cost_usd"])
    assert per_small.cost_usd is not None
    assert math.isclose(per_small.cost_usd, extra[1]["cost_usd"] + extra[2]["cost_usd"])
    assert usage.calls == 3 and usage.calls_by_model == {"gpt-4.1": 1, "gpt-4.1-mini": 2}
    assert usage.total_tokens == per_big.total_tokens + per_small.total_tokens
    assert usage.cost_usd is not None
    assert math.isclose(usage.cost_usd, standin.spent_micros_usd / 1e6)


# -- documents and hints ------------------------------------------------------------------------


def test_text_documents_are_sent_as_text(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Lima is the capital of Peru.\n", encoding="utf-8")
    blocks = [
        TextBlock(text="Summarise:"),
        DocumentBlock(path=notes),
        DocumentBlock(data=b'{"capital": "Lima"}', document_mimetype="application/json"),
        DocumentBlock(data=b"Plain bytes, no name."),
    ]
    [wire] = to_wire_messages([ChatMessage(role="user", blocks=blocks)])
    assert wire["content"] == (
        'Summarise:\nLima is the capital of Peru.\n\n{"capital": "Lima"}\nPlain bytes, no name.'
    )


def test_a_pdf_document_is_still_a_file_part() -> None:
    pdf = DocumentBlock(data=b"%PDF-1.4\n%%EOF\n", title="report.pdf")
    [wire] = to_wire_messages([ChatMessage(role="user", blocks=[TextBlock(text="x"), pdf])])
    part = wire["content"][1]
    assert part["type"] == "file" and part["file"]["filename"] == "report.pdf"
    assert part["file"]["file_data"].startswith("data:application/pdf;base64,")


@pytest.mark.parametrize(
    ("block", "hint"),
    [
        (DocumentBlock(data=b"\x00\x01\x02binary"), "Set document_mimetype= on the DocumentBlock"),
        (DocumentBlock(data=b"\xff\xfe", document_mimetype="text/plain"), "document_mimetype="),
        (ImageBlock(image=b"not an image"), "Set image_mimetype= on the ImageBlock"),
        (AudioBlock(audio=b"not audio"), "Set format= on the AudioBlock"),
    ],
)
def test_hints_name_llama_index_things(block: object, hint: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        to_wire_messages(
            [ChatMessage(role="user", content="hi"), ChatMessage(role="user", blocks=[block])]
        )  # type: ignore[list-item]
    assert caught.value.message.startswith("messages[1]: ")
    assert caught.value.hint is not None and hint in caught.value.hint
    assert "mime_type=" not in caught.value.hint.replace("_mimetype=", "")


# -- reasoning in history -----------------------------------------------------------------------


def test_thinking_blocks_go_back_as_reasoning_content() -> None:
    turn = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="Call the tool."),
            ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs={"city": "Oslo"}),
        ],
    )
    legacy = ChatMessage(
        role="assistant", content="Hi", additional_kwargs={"reasoning_content": "r"}
    )
    wire = to_wire_messages([turn, legacy, ChatMessage(role="user", content="x")])
    assert wire[0]["reasoning_content"] == "Call the tool."
    assert wire[1]["reasoning_content"] == "r"
    assert "reasoning_content" not in wire[2]


def get_weather(city: str) -> str:
    """Look up the current weather in a city."""
    return f"It is sunny in {city}."


@pytest.mark.parametrize("model", ["deepseek-v4-flash", "kimi-k2.5", "deepseek-reasoner"])
@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "chat"])
async def test_function_agent_on_a_thinking_model(
    astandin_llm: MakeLLM, standin: StandIn, model: str, streaming: bool
) -> None:
    standin.set_reasoning(model, "The user wants the weather: call get_weather.")
    agent = FunctionAgent(tools=[get_weather], llm=astandin_llm(model), streaming=streaming)
    answer = await agent.run(
        "What is the weather in Oslo?", memory=ChatMemoryBuffer.from_defaults()
    )
    assert str(answer) == "The tool returned: It is sunny in Oslo."
    sent = standin.last_request.json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["reasoning_content"] == "The user wants the weather: call get_weather."


async def test_reasoning_is_not_sent_to_other_models(
    astandin_llm: MakeLLM, standin: StandIn
) -> None:
    standin.set_reasoning(
        "gpt-4.1", "Thinking out loud."
    )  # a model that reasons but does not check
    agent = FunctionAgent(tools=[get_weather], llm=astandin_llm("gpt-4.1"))
    await agent.run("What is the weather in Oslo?", memory=ChatMemoryBuffer.from_defaults())
    assert all("reasoning_content" not in m for m in standin.last_request.json["messages"])


class Weather(BaseModel):
    """The weather report."""

    city: str
    summary: str


async def test_function_agent_with_structured_output(
    astandin_llm: MakeLLM, standin: StandIn
) -> None:
    agent = FunctionAgent(
        tools=[get_weather], llm=astandin_llm("deepseek-v3.1"), output_cls=Weather
    )
    result = await agent.run(
        "What is the weather in Oslo?", memory=ChatMemoryBuffer.from_defaults()
    )
    assert Weather.model_validate(result.structured_response).city
    assert standin.last_request.json["tool_choice"] == "required"
