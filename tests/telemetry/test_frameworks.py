"""Under the frameworks' own OpenTelemetry integrations (LangChain's OpenLLMetry instrumentor,
LlamaIndex's OpenInference one), the call span is a child of the framework's span for the model
run, traced by the process-wide ``instrument()`` without code in ChatAISA, AISA or the router."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from aisa_core import telemetry
from aisa_core.standin import StandIn
from tests.telemetry.conftest import Otel, make_otel

A = "gpt-4.1"


def parent_of(otel: Otel, span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None
    [parent] = [s for s in otel.spans() if s.context and s.context.span_id == span.parent.span_id]
    return parent


@pytest.fixture(scope="module")
def module_otel() -> Iterator[Otel]:
    """The instrumentors are process singletons that keep the first provider they are given, so
    these tests share one SDK (cleared before each test)."""
    from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    otel = make_otel()
    instrumentors = [LangchainInstrumentor(), LlamaIndexInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=otel.tracer_provider)
    yield otel
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    otel.tracer_provider.shutdown()
    otel.meter_provider.shutdown()


@pytest.fixture
def langchain_traced(module_otel: Otel) -> Iterator[Otel]:
    module_otel.exporter.clear()
    telemetry.instrument(tracer_provider=module_otel.tracer_provider)
    yield module_otel
    telemetry.uninstrument()


llama_traced = langchain_traced


def test_chataisa_calls_join_langchains_trace(
    aisa_standin: StandIn, langchain_traced: Otel
) -> None:
    """OpenLLMetry takes its model-run span back out of the context (and sets its suppression
    flag) before the model runs, so the call span is a child of the enclosing chain's span, a
    sibling of ``ChatAISA.chat`` in the same trace."""
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_aisa import ChatAISA

    model = ChatAISA(model=A, api_key="k", base_url=aisa_standin.base_url)
    (ChatPromptTemplate.from_messages([("user", "{q}")]) | model).invoke({"q": "hi"})
    call = langchain_traced.span("chat gpt-4.1")
    chain = parent_of(langchain_traced, call)
    framework = langchain_traced.span("ChatAISA.chat")
    assert chain.name == "RunnableSequence.workflow"
    assert framework.parent and framework.parent.span_id == chain.context.span_id  # type: ignore[union-attr]


async def test_async_chataisa_calls_join_it_too(
    aisa_standin: StandIn, langchain_traced: Otel
) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_aisa import ChatAISA

    model = ChatAISA(model=A, api_key="k", base_url=aisa_standin.base_url)
    await (ChatPromptTemplate.from_messages([("user", "{q}")]) | model).ainvoke({"q": "hi"})
    call = langchain_traced.span("chat gpt-4.1")
    assert parent_of(langchain_traced, call).name == "RunnableSequence.workflow"


def test_the_router_is_traced_without_code_of_its_own(
    aisa_standin: StandIn, langchain_traced: Otel
) -> None:
    from langchain_aisa.router import RouterRunnable, Rule

    router = RouterRunnable(
        {"fast": A, "strong": "gpt-5"},
        [Rule("strong", keywords=["prove"])],
        default="fast",
        chat_kwargs={"api_key": "k", "base_url": aisa_standin.base_url},
    )
    tracer = langchain_traced.tracer_provider.get_tracer("web")
    with tracer.start_as_current_span("POST /route"):
        router.invoke("prove it")
    call = langchain_traced.span("chat gpt-5")
    assert parent_of(langchain_traced, call).name == "POST /route"
    assert call.attributes["gen_ai.request.model"] == "gpt-5"  # type: ignore[index]


# OpenInference calls pydantic's deprecated ``.json()`` on the LLM's metadata.
@pytest.mark.filterwarnings("ignore:The `json` method is deprecated:DeprecationWarning")
def test_aisa_llm_calls_nest_under_llamaindexs_span(
    aisa_standin: StandIn, llama_traced: Otel
) -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_aisa import AISA

    llm = AISA(A, api_key="k", base_url=aisa_standin.base_url)
    llm.chat([ChatMessage(role="user", content="hi")])
    call = llama_traced.span("chat gpt-4.1")
    framework = parent_of(llama_traced, call)
    assert framework.name.startswith("AISA.") and framework.context is not None
    assert call.context is not None and call.context.trace_id == framework.context.trace_id
