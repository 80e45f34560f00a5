"""Proxies from the environment (issue 10, item 8): loopback traffic never goes through one (the
key would reach whatever listens on the proxy's address, in clear text over plain http), any
other address does, as the environment says."""

from __future__ import annotations

import json

import pytest

from tests.core.helpers import chunk, completion_body
from tests.core.rawserver import Conn, RawRequest, RawServer, chat, event, head, stream_texts

MODES = ["sync", "aiohttp", "httpx"]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def answer(conn: Conn, request: RawRequest) -> bool:
    """A gateway (or a proxy playing one): a JSON answer or a stream, on a kept-alive
    connection."""
    if request.json.get("stream"):
        body = event(chunk("streamed", finish_reason="stop")) + event("[DONE]")
        conn.send(head(content_type="text/event-stream", length=len(body)) + body)
    else:
        body = json.dumps(completion_body("direct")).encode()
        conn.send(head(content_type="application/json", length=len(body)) + body)
    return True


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> RawServer:
    """A proxy on loopback that every proxy variable names (and nothing exempts)."""
    with RawServer(answer) as server:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, f"http://127.0.0.1:{server.port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("mode", MODES)
def test_loopback_never_goes_through_a_proxy(mode: str, host: str, proxy: RawServer) -> None:
    with RawServer(answer) as gateway:
        base_url = f"http://{host}:{gateway.port}/v1"
        assert chat(mode, base_url) == (["direct"], None)
        assert stream_texts(mode, base_url) == (["streamed"], None)
    assert proxy.requests == [] and proxy.connections == 0
    assert [r.path for r in gateway.requests] == ["/v1/chat/completions"] * 2
    assert all(r.headers["authorization"].startswith("Bearer ") for r in gateway.requests)


@pytest.mark.parametrize("mode", MODES)
def test_any_other_address_uses_the_proxy_the_environment_names(
    mode: str, proxy: RawServer
) -> None:
    base_url = "http://gateway.example.test/v1"  # never resolved here: the proxy is asked
    settings = {"allow_insecure": True}
    assert chat(mode, base_url, **settings) == (["direct"], None)
    assert stream_texts(mode, base_url, **settings) == (["streamed"], None)
    assert [r.path for r in proxy.requests] == [
        "http://gateway.example.test/v1/chat/completions"
    ] * 2
