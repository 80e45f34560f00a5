"""``python -m aisa_core.cli.demo`` (``make demo``): a short tour of the package, printed as it
runs.

With ``AISA_API_KEY`` set it talks to the real AIsa gateway (small prompts, ``max_tokens``
capped); otherwise, or with ``--offline``, it starts the stand-in gateway on loopback and says
so. Each step prints what it sends and what came back: a chat, a live stream, a tool call round
trip, vision with a PNG drawn in memory, a fallback chain whose first model fails, the usage and
cost totals, ``compare_models``, retrieval (embeddings and a reranker), model health skipping a
failing model, a spend budget refusing a call before sending it, and the LangChain / LlamaIndex
adapters when installed.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aisa_core import AISAClient
from aisa_core.config import API_KEY_ENV, resolve_base_url
from aisa_core.content import assistant, image_part, text_part, tool_result, user
from aisa_core.errors import AISAError
from aisa_core.types import ChatCompletion

from . import demo_live
from . import format as fmt

__all__ = ["main", "tiny_png"]

MODEL = "gpt-4.1-mini"
FALLBACK = "claude-haiku-4-5-20251001"
COMPARE = (MODEL, FALLBACK, "gemini-2.5-flash")
OFFLINE_NOTE = "No {env} set: running against the offline stand-in gateway at {url}"


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG (a colour gradient) built with zlib and struct: no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def get_weather(city: str, unit: str = "celsius") -> str:
    """Current weather for a city (the demo's tool; it always reports mild weather)."""
    return json.dumps({"city": city, "temperature": 21, "unit": unit, "sky": "clear"})


@dataclass
class Tour:
    """What every step needs: the client, the stand-in (``None`` on the real gateway), totals."""

    client: AISAClient
    gateway: Any = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    uncosted: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def offline(self) -> bool:
        return self.gateway is not None

    @property
    def limits(self) -> dict[str, Any]:
        """Keep answers (and spend) small on the real gateway."""
        return {} if self.offline else {"max_tokens": 60}

    def count(self, completion: ChatCompletion) -> ChatCompletion:
        self.calls += 1
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens
            self.completion_tokens += completion.usage.completion_tokens
        if completion.cost_usd is None:
            self.uncosted += 1
        else:
            self.cost_usd += completion.cost_usd
        return completion


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(number: int, title: str) -> None:
    say()
    say(f"{number}. {title}")


def answered(completion: ChatCompletion) -> None:
    say(f"   < {completion.text.strip()}")
    say(f"     [{fmt.completion_summary(completion)}]")


# --- the steps -----------------------------------------------------------------------------


def plain_chat(tour: Tour) -> None:
    prompt = "In one sentence, what is an LLM gateway?"
    say(f"   > {prompt}")
    answered(tour.count(tour.client.chat(prompt, model=MODEL, **tour.limits)))


def streaming(tour: Tour) -> None:
    headers = None
    if tour.offline:  # pace the stand-in's chunks so the tokens visibly arrive one by one
        from aisa_core.standin import FAULT_HEADER

        headers = {FAULT_HEADER: "chunk_delay=0.02"}
        say("   (the stand-in spaces its chunks 20 ms apart so you can watch them arrive)")
    prompt = "Count from one to ten in words."
    say(f"   > {prompt}")
    print("   < ", end="", flush=True)
    with tour.client.stream(prompt, model=MODEL, extra_headers=headers, **tour.limits) as stream:
        pieces = 0
        for text in stream.text_stream():
            print(text, end="", flush=True)
            pieces += 1
        completion = stream.completion()
    say()
    say(f"     [{pieces} chunks · {fmt.completion_summary(tour.count(completion))}]")


def tool_round_trip(tour: Tour) -> None:
    messages: list[Any] = [user("What's the weather in Paris right now?")]
    say(f"   > {messages[0]['content']}   (tools: get_weather)")
    first = tour.count(
        tour.client.chat(messages, model=MODEL, tools=[get_weather], tool_choice="required")
    )
    if not first.tool_calls:
        say(f"   < (no tool call) {first.text}")
        return
    messages.append(assistant(first.text or None, tool_calls=_wire_calls(first)))
    for call in first.tool_calls:
        result = get_weather(**call.parsed_arguments())
        say(f"   model asked for {call.name}({call.function.arguments}) -> we ran it: {result}")
        messages.append(tool_result(call.id, result))
    answered(tour.count(tour.client.chat(messages, model=MODEL, tools=[get_weather])))


def _wire_calls(completion: ChatCompletion) -> list[dict[str, Any]]:
    return [call.model_dump(exclude_none=True) for call in completion.tool_calls]


def vision(tour: Tour) -> None:
    png = tiny_png()
    say(f"   > What colours are in this image? (a {len(png)}-byte 16x16 PNG drawn in memory)")
    message = user(
        text_part("What colours are in this image? One short sentence."), image_part(png)
    )
    answered(tour.count(tour.client.chat([message], model=MODEL, **tour.limits)))


def fallback(tour: Tour) -> None:
    if tour.offline:
        from aisa_core.standin import Fault

        primary = "gpt-4.1"
        outage = Fault(status=503, code="upstream_unavailable", message="Upstream is down.")
        tour.gateway.fail_model(primary, outage)
        say(f"   stand-in: every request for {primary} now gets a 503 (fail_model)")
    else:
        primary = "no-such-model-aisa-demo"
        say(f"   primary is {primary!r}, an id the gateway does not know")
    say(f"   chain: {primary} -> {FALLBACK} (retry_before_fallback=False: no retries first)")
    settings = tour.client.settings
    with AISAClient(
        api_key=settings.api_key,
        base_url=settings.base_url,
        model=primary,
        fallback_models=[FALLBACK],
        retry_before_fallback=False,
    ) as chain:
        completion = chain.chat("Say 'fallback works' and nothing else.", **tour.limits)
    for attempt in completion.meta.attempts:
        error = attempt.error
        say(f"   x {attempt.model}: {type(error).__name__} ({error.status_code}) {error.message}")
    answered(tour.count(completion))
    if tour.offline:
        tour.gateway.heal_model(primary)


def totals(tour: Tour) -> None:
    cost = fmt.usd(tour.cost_usd)
    note = f" ({tour.uncosted} calls without a cost figure)" if tour.uncosted else ""
    say(
        f"   {tour.calls} answers · {tour.prompt_tokens} prompt + {tour.completion_tokens} "
        f"completion tokens · {cost}{note}"
    )
    if tour.offline:
        say(f"   (the stand-in's own ledger: {fmt.micros_to_usd(tour.gateway.spent_micros_usd)})")


def compare(tour: Tour) -> None:
    prompt = "Name one prime number greater than 10."
    say(f"   > {prompt}   (all models at once)")
    results = tour.client.compare_models(prompt, list(COMPARE), **tour.limits)
    rows = fmt.compare_rows(results)
    lines = fmt.table(fmt.COMPARE_HEADERS, rows, right=(2, 3, 4), width=110).splitlines()
    for line in lines:
        say(f"   {line}")


def adapters(tour: Tour) -> None:
    settings = tour.client.settings
    key = settings.api_key.get_secret_value()
    prompt = "Reply with one word: hello."
    for label, run in (("LangChain ChatAISA", _langchain), ("LlamaIndex AISA", _llama_index)):
        try:
            text = run(settings.base_url, key, prompt)
        except ImportError as exc:
            say(f"   {label}: skipped ({exc.name or exc} is not installed or not written yet)")
            continue
        say(f"   {label}: {text.strip()}")


def _langchain(base_url: str, key: str, prompt: str) -> str:
    from pydantic import SecretStr

    from langchain_aisa import ChatAISA

    llm = ChatAISA(model=MODEL, api_key=SecretStr(key), base_url=base_url, max_tokens=60)
    try:
        return str(llm.invoke(prompt).content)
    finally:
        llm.close()


def _llama_index(base_url: str, key: str, prompt: str) -> str:
    from llama_index.core.llms import ChatMessage

    from llama_index_aisa import AISA

    llm = AISA(model=MODEL, api_key=key, base_url=base_url, max_tokens=60)
    try:
        return str(llm.chat([ChatMessage(role="user", content=prompt)]).message.content)
    finally:
        llm.close()


STEPS: tuple[tuple[str, Callable[[Tour], None]], ...] = (
    ("Plain chat", plain_chat),
    ("Streaming: tokens printed as they arrive", streaming),
    ("Tool call round trip", tool_round_trip),
    ("Vision: an image made in memory", vision),
    ("Fallback chain: the first model fails, the next one answers", fallback),
    ("Usage and cost so far", totals),
    ("compare_models: one prompt, several models, concurrently", compare),
    ("Retrieval on one key: embeddings and a reranker", demo_live.retrieval),
    ("Model health: a failing model cools down and is skipped", demo_live.health),
    ("A spend budget: a call that would pass it is refused before sending", demo_live.budget),
    ("Framework adapters", adapters),
)


# --- running it ----------------------------------------------------------------------------


@contextmanager
def _tour(offline: bool) -> Iterator[Tour]:
    if not offline and os.environ.get(API_KEY_ENV, "").strip():
        base_url = resolve_base_url(None)
        say(f"{API_KEY_ENV} is set: touring the real AIsa gateway at {base_url}")
        with AISAClient(model=MODEL) as client:
            yield Tour(client)
        return
    from aisa_core.standin import StandIn

    with StandIn() as gateway:
        say(OFFLINE_NOTE.format(env=API_KEY_ENV, url=gateway.base_url))
        say("(set AISA_API_KEY to run this tour against the real AIsa gateway)")
        client = AISAClient(api_key=gateway.api_key, base_url=gateway.base_url, model=MODEL)
        with client:
            yield Tour(client, gateway=gateway)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aisa_core.cli.demo", description=__doc__)
    parser.add_argument("--offline", action="store_true", help="use the stand-in even with a key")
    args = parser.parse_args(argv)
    say("aisa-llm: a short tour")
    with _tour(args.offline) as tour:
        for number, (title, step) in enumerate(STEPS, start=1):
            heading(number, title)
            try:
                step(tour)
            except AISAError as error:
                say(f"   ! this step failed: {error}")
                tour.failures.append(title)
    say()
    if tour.failures:
        say(f"Done, with {len(tour.failures)} failed step(s): {', '.join(tour.failures)}")
        return 1
    say("Done. Next: `aisa --help` for the command line, `make test` for the suite.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
