"""The clients under test, each behind the same small interface.

A sync ``Contender`` has ``call()`` (one non-streamed answer, returns its text) and ``stream()``
(one streamed answer, returns the joined text); an async one has ``call()`` as a coroutine. Each
factory imports its library when called, so a client whose package is missing (or not written
yet) is skipped with the reason instead of stopping the run. Every client is configured alike:
the same prompt and model, no retries, the key passed explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

MODEL = "gpt-4.1-mini"
KEY = "sk-bench-not-a-real-key"
PROMPT = "Say hello."
ANSWER = "Hello from the bench server."
MESSAGES = [{"role": "user", "content": PROMPT}]


def _nothing() -> None:
    return None


async def _anothing() -> None:
    return None


@dataclass
class Contender:
    call: Callable[[], str]
    stream: Callable[[], str] | None = None
    close: Callable[[], None] = _nothing
    keep: list[Any] = field(default_factory=list)  # objects that must outlive the callables
    name: str = ""


@dataclass
class AsyncContender:
    call: Callable[[], Awaitable[str]]
    aclose: Callable[[], Awaitable[None]] = _anothing
    name: str = ""


# --- sync ----------------------------------------------------------------------------------


def raw_httpx(base: str) -> Contender:
    import httpx

    http = httpx.Client(timeout=60)
    url = base + "/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    body = {"model": MODEL, "messages": MESSAGES}
    streamed = {**body, "stream": True}

    def call() -> str:
        response = http.post(url, content=json.dumps(body), headers=headers)
        response.raise_for_status()
        return str(json.loads(response.content)["choices"][0]["message"]["content"])

    def stream() -> str:
        parts = []
        with http.stream("POST", url, content=json.dumps(streamed), headers=headers) as response:
            response.raise_for_status()
            for line in response.iter_lines():  # read to the end: the connection is reused
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk["choices"]:
                    parts.append(chunk["choices"][0]["delta"].get("content") or "")
        return "".join(parts)

    return Contender(call, stream, http.close)


def openai_sdk(base: str) -> Contender:
    from openai import OpenAI

    client = OpenAI(base_url=base, api_key=KEY, max_retries=0)
    create = client.chat.completions.create

    def call() -> str:
        return create(model=MODEL, messages=MESSAGES).choices[0].message.content or ""

    def stream() -> str:
        chunks = create(model=MODEL, messages=MESSAGES, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    return Contender(call, stream, client.close)


def aisa_client(base: str) -> Contender:
    from aisa_core import AISAClient

    client = AISAClient(api_key=KEY, base_url=base, model=MODEL, max_retries=0)

    def call() -> str:
        return client.chat(MESSAGES).text

    def stream() -> str:
        with client.stream(MESSAGES) as chunks:
            return "".join(c.text for c in chunks)

    return Contender(call, stream, client.close)


def _traced_aisa(base: str, observer: Any, keep: list[Any]) -> Contender:
    from aisa_core import AISAClient

    client = AISAClient(api_key=KEY, base_url=base, model=MODEL, max_retries=0)
    if observer is not None:
        client.settings.observe(observer)

    def call() -> str:
        return client.chat(MESSAGES).text

    return Contender(call, None, client.close, keep)


def aisa_untraced(base: str) -> Contender:
    return _traced_aisa(base, None, [])


class _Silent:
    """An observer that does nothing: what the attempt seam itself costs once anyone listens."""

    def on_call(self, report: Any) -> None:
        return None


def aisa_seam_only(base: str) -> Contender:
    return _traced_aisa(base, _Silent(), [])


def aisa_otel_api(base: str) -> Contender:
    """Tracing on, with OpenTelemetry's API but no SDK configured: every span is a no-op."""
    from opentelemetry import trace

    from aisa_core.telemetry import OTelObserver

    if type(trace.get_tracer_provider()).__name__ != "ProxyTracerProvider":
        raise ImportError("a global tracer provider is already set in this process")
    return _traced_aisa(base, OTelObserver(), [])


def aisa_otel_sdk(base: str) -> Contender:
    """Tracing on, into the SDK with an in-memory exporter (spans kept, then cleared)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from aisa_core.telemetry import OTelObserver

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    observer = OTelObserver(tracer_provider=tracer_provider, meter_provider=meter_provider)
    contender = _traced_aisa(base, observer, [tracer_provider, meter_provider])
    plain = contender.call

    def call() -> str:
        if len(exporter.get_finished_spans()) > 1000:
            exporter.clear()
        return plain()

    contender.call = call
    return contender


TRACING: tuple[tuple[str, Callable[[str], Contender]], ...] = (
    ("AISAClient (untraced)", aisa_untraced),
    ("AISAClient + an observer doing nothing", aisa_seam_only),
    ("AISAClient + OTel API, no SDK", aisa_otel_api),
    ("AISAClient + OTel SDK, in-memory", aisa_otel_sdk),
)


def chat_aisa(base: str) -> Contender:
    from langchain_aisa import ChatAISA

    llm = ChatAISA(model=MODEL, api_key=KEY, base_url=base, max_retries=0)
    return _langchain(llm, llm.close)


def chat_openai(base: str) -> Contender:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL, api_key=KEY, base_url=base, max_retries=0)
    return _langchain(llm, _nothing)


def _langchain(llm: Any, close: Callable[[], None]) -> Contender:
    def call() -> str:
        return str(llm.invoke(PROMPT).content)

    def stream() -> str:
        return "".join(str(chunk.content) for chunk in llm.stream(PROMPT))

    return Contender(call, stream, close, keep=[llm])


def llama_openai(base: str) -> Contender:
    from llama_index.llms.openai import OpenAI

    return _llama(OpenAI(model=MODEL, api_key=KEY, api_base=base, max_retries=0))


def llama_openai_like(base: str) -> Contender:
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(model=MODEL, api_key=KEY, api_base=base, is_chat_model=True, max_retries=0)
    return _llama(llm)


def llama_aisa(base: str) -> Contender:
    from llama_index_aisa import AISA

    llm = AISA(model=MODEL, api_key=KEY, base_url=base, max_retries=0)
    return _llama(llm, llm.close)


def _llama(llm: Any, close: Callable[[], None] = _nothing) -> Contender:
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content=PROMPT)]

    def call() -> str:
        return str(llm.chat(messages).message.content)

    def stream() -> str:
        return "".join(r.delta or "" for r in llm.stream_chat(messages))

    return Contender(call, stream, close, keep=[llm])


SYNC: tuple[tuple[str, Callable[[str], Contender]], ...] = (
    ("raw httpx", raw_httpx),
    ("openai SDK", openai_sdk),
    ("AISAClient", aisa_client),
    ("ChatAISA", chat_aisa),
    ("ChatOpenAI", chat_openai),
    ("llama OpenAI", llama_openai),
    ("llama OpenAILike", llama_openai_like),
    ("AISA (llama)", llama_aisa),
)


# --- async (factories run inside the event loop that will use them) -------------------------


def raw_httpx_async(base: str) -> AsyncContender:
    import httpx

    http = httpx.AsyncClient(timeout=60)  # httpx's defaults: 100 connections, 20 kept alive
    url = base + "/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    body = {"model": MODEL, "messages": MESSAGES}

    async def call() -> str:
        response = await http.post(url, content=json.dumps(body), headers=headers)
        response.raise_for_status()
        return str(json.loads(response.content)["choices"][0]["message"]["content"])

    return AsyncContender(call, http.aclose)


def raw_aiohttp_async(base: str) -> AsyncContender:
    """Not a target: aiohttp alone shows what the server and the machine can do."""
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
    url = base + "/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    body = {"model": MODEL, "messages": MESSAGES}

    async def call() -> str:
        async with session.post(url, data=json.dumps(body), headers=headers) as response:
            response.raise_for_status()
            return str(json.loads(await response.read())["choices"][0]["message"]["content"])

    return AsyncContender(call, session.close)


def openai_async(base: str) -> AsyncContender:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base, api_key=KEY, max_retries=0)

    async def call() -> str:
        answer = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return answer.choices[0].message.content or ""

    return AsyncContender(call, client.close)


def aisa_async(base: str, *, aiohttp: bool = True) -> AsyncContender:
    """With the aiohttp transport (the default when aiohttp is installed), or httpx's pool."""
    from aisa_core import AsyncAISAClient

    client = AsyncAISAClient(
        api_key=KEY, base_url=base, model=MODEL, max_retries=0, prefer_aiohttp=aiohttp
    )

    async def call() -> str:
        return (await client.chat(MESSAGES)).text

    return AsyncContender(call, client.aclose)


def aisa_async_httpx(base: str) -> AsyncContender:
    return aisa_async(base, aiohttp=False)


def chat_aisa_async(base: str) -> AsyncContender:
    from langchain_aisa import ChatAISA

    llm = ChatAISA(model=MODEL, api_key=KEY, base_url=base, max_retries=0)

    async def call() -> str:
        return str((await llm.ainvoke(PROMPT)).content)

    return AsyncContender(call, llm.aclose)


def chat_openai_async(base: str) -> AsyncContender:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL, api_key=KEY, base_url=base, max_retries=0)

    async def call() -> str:
        return str((await llm.ainvoke(PROMPT)).content)

    return AsyncContender(call)


def llama_aisa_async(base: str) -> AsyncContender:
    from llama_index_aisa import AISA

    llm = AISA(model=MODEL, api_key=KEY, base_url=base, max_retries=0)
    return _llama_async(llm, llm.aclose)


def llama_openai_async(base: str) -> AsyncContender:
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model=MODEL, api_key=KEY, api_base=base, max_retries=0)
    return _llama_async(llm)


def _llama_async(llm: Any, aclose: Callable[[], Awaitable[None]] = _anothing) -> AsyncContender:
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content=PROMPT)]

    async def call() -> str:
        return str((await llm.achat(messages)).message.content)

    return AsyncContender(call, aclose)


ASYNC: tuple[tuple[str, Callable[[str], AsyncContender]], ...] = (
    ("raw httpx AsyncClient", raw_httpx_async),
    ("raw aiohttp (ceiling)", raw_aiohttp_async),
    ("openai AsyncOpenAI", openai_async),
    ("AsyncAISAClient", aisa_async),
    ("AsyncAISAClient (httpx pool)", aisa_async_httpx),
    ("ChatAISA.ainvoke", chat_aisa_async),
    ("ChatOpenAI.ainvoke", chat_openai_async),
    ("AISA.achat", llama_aisa_async),
    ("llama OpenAI.achat", llama_openai_async),
)


def build(factories: Any, base: str) -> tuple[list[Any], dict[str, str]]:
    """Make every client that can be made; the others are returned with the reason."""
    made, skipped = [], {}
    for name, factory in factories:
        try:
            contender = factory(base)
        except ImportError as exc:
            skipped[name] = f"not importable ({exc})"
            continue
        contender.name = name
        made.append(contender)
    return made, skipped
