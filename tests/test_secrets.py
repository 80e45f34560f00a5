"""One recognisable key, every public path at DEBUG logging, and a scan of everything produced.

Success, each error, streams, serialisation, pickling, ``to_dict``, the command line: none of it
may contain the key. (Notebook outputs are scanned the same way in ``test_notebooks.py``.)
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn

CANARY = "sk-aisa-canary-5e1f0c7b9a2d"
FAULTS = [Fault(status=s) for s in (400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503, 504)]
FAULTS += [
    Fault(status=401, body_style="text"),
    Fault(error_after_chunks=1),
    Fault(drop_after_chunks=1),
    Fault(malformed=True),
]


class Produced:
    """Everything a user could see: texts, reprs, errors with their causes, bytes."""

    def __init__(self) -> None:
        self.items: list[str | bytes] = []

    def add(self, *things: Any) -> None:
        for thing in things:
            if isinstance(thing, bytes):
                self.items.append(thing)
            elif isinstance(thing, BaseException):
                seen: BaseException | None = thing
                while seen is not None:
                    self.items += [str(seen), repr(seen), str(getattr(seen, "body", ""))]
                    seen = seen.__cause__ or seen.__context__
            else:
                self.items += [str(thing), repr(thing)]

    def attempt(self, fn: Callable[[], Any]) -> None:
        try:
            self.add(fn())
        except Exception as error:  # every error is produced output too
            self.add(error)


@pytest.fixture
def produced(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Any:
    caplog.set_level(logging.DEBUG)
    box = Produced()
    yield box
    out, err = capsys.readouterr()
    everything = [*box.items, caplog.text, out, err]
    assert len(everything) > 5, "the scan must have covered the paths"
    for item in everything:
        needle: str | bytes = CANARY.encode() if isinstance(item, bytes) else CANARY
        assert needle not in item, f"the key leaked in: {item[:300]!r}"


def test_core_client_paths(
    aisa_standin: StandIn, produced: Produced, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = AISAClient(
        api_key=CANARY,
        base_url=aisa_standin.base_url,
        model="gpt-4.1",
        max_retries=0,
        fallback_models=["gpt-4.1-mini"],
    )
    produced.add(client, client.settings, client.settings.api_key, pickle.dumps(client))
    produced.add(pickle.dumps(client.settings), pickle.dumps(client.settings.api_key))
    produced.attempt(lambda: client.chat("hello"))
    produced.attempt(lambda: client.stream("hello").completion())
    for fault in FAULTS:
        for streamed in (False, True):
            aisa_standin.fail_model("gpt-4.1", fault)
            aisa_standin.fail_model("gpt-4.1-mini", fault)
            if streamed:
                produced.attempt(lambda: client.stream("hello there friend").completion())
            else:
                produced.attempt(lambda: client.chat("hello"))
    aisa_standin.reset()
    for call in (
        client.list_models,
        client.balance,
        lambda: client.quote("hi"),
        lambda: client.compare_models("hi", ["gpt-4.1", "unknown-x"]),
        lambda: client.generate_content("gemini-2.5-flash", "hi"),
    ):
        produced.attempt(call)
    bad = AISAClient(api_key="sk-aisa-invalid", base_url=aisa_standin.base_url, model="m")
    produced.attempt(lambda: bad.chat("hi"))
    produced.attempt(lambda: AISAClient(api_key=CANARY, base_url="http://remote.test/v1"))

    async def run_async() -> None:
        aclient = AsyncAISAClient(
            api_key=CANARY, base_url=aisa_standin.base_url, model="gpt-4.1", max_retries=0
        )
        produced.add(aclient, pickle.dumps(aclient), await aclient.chat("hi"))
        aisa_standin.fail_model("gpt-4.1", Fault(status=429))
        try:
            await aclient.stream("hi").completion()
        except E.AISAError as error:
            produced.add(error)
        await aclient.aclose()

    asyncio.run(run_async())
    client.close()
    bad.close()


def test_langchain_paths(aisa_standin: StandIn, produced: Produced) -> None:
    from langchain_core.load import dumpd, dumps

    from langchain_aisa import ChatAISA, get_aisa_callback
    from langchain_aisa.router import RouterRunnable, Rule

    llm = ChatAISA(model="gpt-4.1", api_key=CANARY, base_url=aisa_standin.base_url, max_retries=0)
    produced.add(
        llm,
        llm.to_json(),
        dumps(llm),
        dumpd(llm),
        pickle.dumps(llm),
        llm.model_dump(),
        llm._get_ls_params(),
    )
    with get_aisa_callback() as totals:
        produced.attempt(lambda: llm.invoke("hello"))
        produced.attempt(lambda: list(llm.stream("hello")))
    produced.add(totals)
    for fault in FAULTS:
        aisa_standin.fail_model("gpt-4.1", fault)
        produced.attempt(lambda: llm.invoke("hello"))
        produced.attempt(lambda: list(llm.stream("hello there friend")))
    aisa_standin.reset()
    bound = llm.bind_tools([{"name": "f", "parameters": {"type": "object", "properties": {}}}])
    produced.add(bound, dumps(bound))
    router = RouterRunnable(
        {"a": llm, "b": "gpt-4.1-mini"},
        [Rule("b", keywords=["zebra"])],
        default="a",
        chat_kwargs={"api_key": CANARY, "base_url": aisa_standin.base_url},
    )
    produced.add(router, dumps(router), router.explain("zebra"))
    produced.attempt(lambda: router.invoke("a zebra"))
    llm.close()


def test_llama_index_paths(aisa_standin: StandIn, produced: Produced) -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_aisa import AISA

    llm = AISA("gpt-4.1", api_key=CANARY, base_url=aisa_standin.base_url, max_retries=0)
    produced.add(llm, llm.to_dict(), llm.to_json(), pickle.dumps(llm), llm.metadata)
    produced.attempt(lambda: llm.complete("hello"))
    produced.attempt(lambda: list(llm.stream_chat([ChatMessage(role="user", content="hi")])))
    for fault in FAULTS:
        aisa_standin.fail_model("gpt-4.1", fault)
        produced.attempt(lambda: llm.complete("hello"))
        produced.attempt(lambda: list(llm.stream_complete("hello there friend")))
    aisa_standin.reset()


def test_command_line_paths(
    aisa_standin: StandIn, produced: Produced, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisa_core.cli import main

    monkeypatch.setenv("AISA_API_KEY", CANARY)
    monkeypatch.setenv("AISA_BASE_URL", aisa_standin.base_url)
    for argv in (
        ["chat", "--model", "gpt-4.1", "--message", "hi"],
        ["chat", "--model", "gpt-4.1", "--message", "hi", "--stream", "--json"],
        ["chat", "--model", "unknown-x", "--message", "hi"],
        ["models"],
        ["balance"],
        ["compare", "--models", "gpt-4.1,unknown-y", "--message", "hi"],
    ):
        produced.add(main(argv))
    aisa_standin.fail_model("gpt-4.1", Fault(status=401))
    produced.add(main(["chat", "--model", "gpt-4.1", "--message", "hi"]))
