"""End to end on the stand-in: RAG over local documents (offline mock embedding), chat engines,
and a ``FunctionAgent`` with two tools."""

from __future__ import annotations

import pytest
from llama_index.core import Document, MockEmbedding, VectorStoreIndex
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.memory import ChatMemoryBuffer

from aisa_core.standin import Fault, StandIn
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import WORKFLOW_WARNINGS
from tests.retrieval_corpus import DOCS as CORPUS

pytestmark = WORKFLOW_WARNINGS

DOCS = CORPUS[:5]  # the five about Peru


@pytest.fixture
def index() -> VectorStoreIndex:
    documents = [Document(text=text, id_=f"doc-{i}") for i, text in enumerate(DOCS)]
    return VectorStoreIndex.from_documents(documents, embed_model=MockEmbedding(embed_dim=16))


def memory() -> ChatMemoryBuffer:
    """An in-process memory: the default ``Memory`` of chat engines and agents opens an
    aiosqlite connection that LlamaIndex never closes (a ResourceWarning at a later GC)."""
    return ChatMemoryBuffer.from_defaults()


def sent_text(standin: StandIn) -> str:
    return "\n".join(str(m.get("content")) for m in standin.last_request.json["messages"])


def test_query_engine(index: VectorStoreIndex, standin_llm: MakeLLM, standin: StandIn) -> None:
    engine = index.as_query_engine(
        llm=standin_llm("claude-sonnet-4-5-20250929"), similarity_top_k=2
    )
    standin.enqueue_text("Lima is the capital of Peru.")
    response = engine.query("What is the capital of Peru?")
    assert str(response) == "Lima is the capital of Peru."
    assert len(response.source_nodes) == 2
    prompt = sent_text(standin)
    assert "What is the capital of Peru?" in prompt
    assert all(n.node.get_content() in prompt for n in response.source_nodes)


def test_streaming_query_engine(
    index: VectorStoreIndex, standin_llm: MakeLLM, standin: StandIn
) -> None:
    engine = index.as_query_engine(llm=standin_llm(), streaming=True)
    standin.enqueue_text("Lima, on the Pacific coast.")
    response = engine.query("Where is Lima?")
    assert "".join(response.response_gen) == "Lima, on the Pacific coast."  # type: ignore[union-attr]
    assert standin.last_request.json["stream"] is True


async def test_async_query_engine(
    index: VectorStoreIndex, astandin_llm: MakeLLM, standin: StandIn
) -> None:
    engine = index.as_query_engine(llm=astandin_llm("gemini-2.5-flash"))
    standin.enqueue_text("Raw fish in citrus.")
    assert str(await engine.aquery("What is ceviche?")) == "Raw fish in citrus."


def test_condense_plus_context_chat(
    index: VectorStoreIndex, standin_llm: MakeLLM, standin: StandIn
) -> None:
    llm = standin_llm("qwen3-max")
    engine = CondensePlusContextChatEngine.from_defaults(
        index.as_retriever(), llm=llm, memory=memory()
    )
    standin.enqueue_text("Machu Picchu is an Inca citadel.")
    assert str(engine.chat("Tell me about Machu Picchu")) == "Machu Picchu is an Inca citadel."
    standin.enqueue_text("When was it built?")  # the condensed question
    standin.enqueue_text("In the 15th century.")
    streamed = engine.stream_chat("When was it built?")
    assert "".join(streamed.response_gen) == "In the 15th century."
    history = [m["content"] for m in standin.last_request.json["messages"]]
    assert "Machu Picchu is an Inca citadel." in history  # memory reached the model
    assert engine.chat_history[-1].content == "In the 15th century."


async def test_function_agent_with_two_tools(astandin_llm: MakeLLM, standin: StandIn) -> None:
    calls: list[str] = []

    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append(f"add({a}, {b})")
        return a + b

    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        calls.append(f"multiply({a}, {b})")
        return a * b

    agent = FunctionAgent(tools=[add, multiply], llm=astandin_llm("gpt-4.1"))
    standin.enqueue_tool_call("add", {"a": 2, "b": 3})
    standin.enqueue_tool_call("multiply", {"a": 5, "b": 4})
    handler = agent.run("What is (2 + 3) * 4?", memory=memory())
    streamed, results = [], []
    async for event in handler.stream_events():
        if isinstance(event, AgentStream):
            streamed.append(event.delta)
        elif isinstance(event, ToolCallResult):
            results.append(event.tool_output.raw_output)
    answer = await handler
    assert calls == ["add(2, 3)", "multiply(5, 4)"]
    assert results == [5, 20]
    assert str(answer) == "The tool returned: 20"
    assert "".join(streamed).endswith("The tool returned: 20")
    offered = [t["function"]["name"] for t in standin.requests[0].json["tools"]]
    assert offered == ["add", "multiply"]
    tool_turn = standin.last_request.json["messages"]
    assert [m["role"] for m in tool_turn] == ["user", "assistant", "tool", "assistant", "tool"]


async def test_agent_survives_a_failing_primary(astandin_llm: MakeLLM, standin: StandIn) -> None:
    standin.fail_model("gpt-4.1", Fault(status=503))

    def lookup(city: str) -> str:
        """Find facts about a city."""
        return "capital of Peru"

    llm = astandin_llm("gpt-4.1", fallback_models=["claude-haiku-4-5-20251001"])
    answer = await FunctionAgent(tools=[lookup], llm=llm).run("Use lookup on Lima", memory=memory())
    assert str(answer) == "The tool returned: capital of Peru"
    assert {r.json["model"] for r in standin.requests} == {"gpt-4.1", "claude-haiku-4-5-20251001"}


@pytest.mark.filterwarnings(  # ReActAgent (llama-index-core 0.14) asks workflows 2.x is_running
    "ignore:is_running called from within a step:DeprecationWarning"
)
async def test_react_agent(astandin_llm: MakeLLM, standin: StandIn) -> None:
    """ReAct drives the model with plain text (streamed), no tool-calling API."""

    def lookup(city: str) -> str:
        """Find facts about a city."""
        return "Lima is the capital of Peru"

    standin.enqueue_text(
        'Thought: I should look it up.\nAction: lookup\nAction Input: {"city": "Lima"}'
    )
    standin.enqueue_text("Thought: I can answer now.\nAnswer: Lima is the capital of Peru.")
    agent = ReActAgent(tools=[lookup], llm=astandin_llm("deepseek-v3.1"))
    answer = await agent.run("What is Lima?", memory=memory())
    assert str(answer) == "Lima is the capital of Peru."
    assert "tools" not in standin.last_request.json
    assert "Observation: Lima is the capital of Peru" in str(standin.last_request.json["messages"])
