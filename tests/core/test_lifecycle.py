"""Clients across event loops, processes and copies (issue 10, item 13): pools are per event loop
and per process, each closed on its own loop; a dropped client logs nothing; copies keep their
own key."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import logging
import os
import sys
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient
from tests.core.helpers import completion_body
from tests.core.rawserver import Conn, RawRequest, RawServer, head

ASYNC_KINDS = ["aiohttp", "httpx", "httpx-injected"]


def echo(conn: Conn, request: RawRequest) -> bool:
    """Answers with what was asked and which connection it came on; keeps connections alive."""
    said = request.json["messages"][-1]["content"]
    body = json.dumps(completion_body(f"{said} @{conn.number}")).encode()
    conn.send(head(content_type="application/json", length=len(body)) + body)
    return True


def async_client(kind: str, base_url: str, **settings: Any) -> AsyncAISAClient:
    extra: dict[str, Any] = {
        "aiohttp": {},
        "httpx": {"prefer_aiohttp": False},
        "httpx-injected": {"transport": httpx.AsyncHTTPTransport()},
    }[kind]
    return AsyncAISAClient(api_key="sk-life", base_url=base_url, model="m", **extra, **settings)


async def ask(client: AsyncAISAClient, text: str) -> str:
    return (await client.chat(text)).text


# --- event loops ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_one_client_serves_one_asyncio_run_after_another(kind: str) -> None:
    """Each ``asyncio.run`` gets its own pool, closed when that loop ends: nothing leaks (the
    server sees every connection closed) and nothing warns."""
    with RawServer(echo) as server:
        client = async_client(kind, server.base_url)
        answers = [asyncio.run(ask(client, f"run {i}")) for i in range(3)]
        assert [a.split(" @")[0] for a in answers] == ["run 0", "run 1", "run 2"]
        assert server.connections == 3  # a connection per loop: none reused across loops
        assert server.wait_ended(3), f"{server.connections - server.ended} connections left open"
        del client
        gc.collect()


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_a_client_closed_in_one_loop_works_in_the_next(kind: str) -> None:
    with RawServer(echo) as server:
        client = async_client(kind, server.base_url)

        async def use_and_close(text: str) -> str:
            try:
                return await ask(client, text)
            finally:
                await client.aclose()

        assert asyncio.run(use_and_close("a")).startswith("a @")
        assert asyncio.run(use_and_close("b")).startswith("b @")
        assert server.wait_ended(2)


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_a_dropped_client_closes_its_pool_and_logs_nothing(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Dropped without ``aclose()`` while its loop runs, a client's pool is closed on that loop
    soon after: no ``AttributeError`` from asyncio's callbacks, no unclosed-session warning."""
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with RawServer(echo) as server:
        for in_a_cycle in (False, True):
            client = async_client(kind, server.base_url)
            assert await ask(client, "hi")
            if in_a_cycle:
                loop: list[Any] = [client]
                loop.append(loop)
                del loop
            del client
            gc.collect()
            for _ in range(50):
                await asyncio.sleep(0.01)
                if server.ended == server.connections:
                    break
            assert server.ended == server.connections == (2 if in_a_cycle else 1)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], [r.getMessage() for r in errors]


def test_pools_of_a_loop_closed_without_shutting_down_are_abandoned_quietly() -> None:
    """A loop closed by hand (no ``shutdown_asyncgens``) cannot close its pool: its sockets are
    closed directly when the client next runs elsewhere, without asyncio errors."""
    with RawServer(echo) as server:
        client = async_client("aiohttp", server.base_url)
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(ask(client, "by hand"))
        loop.close()
        assert asyncio.run(ask(client, "next")).startswith("next @2")
        assert server.wait_ended(2)


# --- processes --------------------------------------------------------------------------------


def _in_child(work: Any) -> str:
    """Run ``work()`` in a forked child; its result (or error) comes back through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            out = str(work())
        except BaseException as error:
            out, code = f"{type(error).__name__}: {error}", 1
        os.write(write, out.encode())
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, out
    return out


@pytest.mark.skipif(sys.platform != "linux", reason="os.fork on Linux")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_opens_its_own_connection_sync() -> None:
    with RawServer(echo) as server:
        client = AISAClient(api_key="sk-life", base_url=server.base_url, model="m")
        assert client.chat("parent").text == "parent @1"  # a kept-alive connection
        child = _in_child(lambda: client.chat("child").text)
        assert child == "child @2"  # its own connection, its own answer
        assert client.chat("parent again").text == "parent again @1"  # ours, untouched
        client.close()


@pytest.mark.skipif(sys.platform != "linux", reason="os.fork on Linux")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_a_forked_child_opens_its_own_connection_async(kind: str) -> None:
    """The same event loop object on both sides of the fork (a loop kept for reuse): only the
    process tells the pools apart. (A transport or client the caller brought is the caller's:
    it holds one pool whatever the process.)"""
    with RawServer(echo) as server:
        client = async_client(kind, server.base_url)
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(ask(client, "parent")) == "parent @1"

            def in_child() -> str:
                fresh = asyncio.new_event_loop()  # the parent's loop stays the parent's
                return fresh.run_until_complete(ask(client, "child"))

            def on_same_loop() -> str:
                return loop.run_until_complete(ask(client, "child on the same loop"))

            assert _in_child(in_child) == "child @2"
            assert _in_child(on_same_loop) == "child on the same loop @3"
            assert loop.run_until_complete(ask(client, "parent again")) == "parent again @1"
            loop.run_until_complete(client.aclose())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


# --- copies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [AISAClient, AsyncAISAClient])
@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy])
def test_a_copy_keeps_its_own_key(make: Any, how: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISA_API_KEY", "sk-from-the-environment")
    a = make(api_key="sk-key-a", model="m")
    b = make(api_key="sk-key-b", model="m")
    copies = [how(a), how(b)]
    keys = [c.settings.api_key.get_secret_value() for c in copies]
    sent = [c.settings.headers["Authorization"] for c in copies]
    assert keys == ["sk-key-a", "sk-key-b"]
    assert sent == ["Bearer sk-key-a", "Bearer sk-key-b"]
    monkeypatch.delenv("AISA_API_KEY")
    assert how(a).settings.api_key.get_secret_value() == "sk-key-a"  # no key needed around


def test_a_copy_sends_with_its_key_on_its_own_pool() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=completion_body("ok"))

    with RawServer(echo) as server:
        original = AISAClient(api_key="sk-key-a", base_url=server.base_url, model="m")
        original.chat("warm")
        duplicate = copy.copy(original)
        duplicate.chat("from the copy")
        duplicate.close()  # never the original's pool
        assert not original.http.is_closed and original.chat("still").text == "still @1"
        original.close()
    mocked = AISAClient(api_key="sk-key-m", model="m", transport=httpx.MockTransport(handler))
    copy.deepcopy(mocked).chat("hi")  # a caller's transport is shared, not copied
    assert seen == ["Bearer sk-key-m"]
