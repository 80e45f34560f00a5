"""The server around the app: lifecycle, threads and loops, the CLI, the pytest plugin."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from aisa_core.standin import StandIn, StandInApp
from aisa_core.standin._server import _Quiet
from aisa_core.standin._wire import DeliberateDropError

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": "Bearer sk-aisa-standin"}


def test_start_stop_and_urls() -> None:
    standin = StandIn()
    assert not standin.running
    assert repr(standin) == "<StandIn stopped>"
    with pytest.raises(RuntimeError, match="not running"):
        _ = standin.base_url
    started = time.perf_counter()
    standin.start()
    try:
        assert time.perf_counter() - started < 0.5
        assert standin.running
        assert standin.api_key == "sk-aisa-standin"
        assert standin.url == f"http://127.0.0.1:{standin.port}"
        assert standin.base_url == standin.url + "/v1"
        assert repr(standin) == f"<StandIn {standin.url}>"
        assert standin.start() is standin  # idempotent
        response = httpx.post(f"{standin.base_url}/chat/completions", json=CHAT, headers=AUTH)
        assert response.status_code == 200
    finally:
        standin.stop()
    assert not standin.running
    standin.stop()  # idempotent
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.settimeout(1)
        probe.connect(("127.0.0.1", int(response.url.port or 0)))


def test_restart_on_a_new_port_keeps_the_scripts() -> None:
    standin = StandIn()
    with standin:
        standin.enqueue_text("survives a restart")
    with standin:
        body = httpx.post(f"{standin.base_url}/chat/completions", json=CHAT, headers=AUTH).json()
    assert body["choices"][0]["message"]["content"] == "survives a restart"


def test_custom_app_and_fixed_port() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    app = StandInApp(models=["only-model"])
    with StandIn(port=port, app=app) as standin:
        assert standin.port == port
        assert standin.app is app
        listing = httpx.get(f"{standin.base_url}/models", headers=AUTH).json()
    assert [m["id"] for m in listing["data"]] == ["only-model"]


def test_port_in_use_raises() -> None:
    with StandIn() as first, pytest.raises(OSError):
        StandIn(port=first.port).start()


async def test_usable_inside_a_running_event_loop() -> None:
    with StandIn() as standin:  # sync start from async code: its own thread and loop
        async with httpx.AsyncClient(base_url=standin.base_url, headers=AUTH, verify=False) as c:
            first = await c.post("/chat/completions", json=CHAT)
    async with (
        StandIn() as standin,
        httpx.AsyncClient(base_url=standin.base_url, headers=AUTH, verify=False) as c,
    ):
        second = await c.post("/chat/completions", json={**CHAT, "stream": True})
    assert first.status_code == second.status_code == 200
    assert second.text.endswith("data: [DONE]\n\n")


def test_requests_reuse_one_connection_without_nagle_stalls(aisa_standin: StandIn) -> None:
    """Keep-alive works and small responses are not held back ~40 ms (delayed ACK)."""
    request = b"GET /v1/models/gpt-4o HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n"
    with socket.create_connection(("127.0.0.1", aisa_standin.port), timeout=2) as sock:
        started = time.perf_counter()
        for _ in range(20):
            sock.sendall(request)
            received = b""
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200")
        elapsed = time.perf_counter() - started
    assert elapsed < 20 * 0.01, f"{elapsed / 20 * 1000:.1f} ms per request"


async def test_hundred_concurrent_streams(aisa_standin: StandIn) -> None:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(
        base_url=aisa_standin.base_url, headers=AUTH, limits=limits, verify=False
    ) as client:
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        responses = await asyncio.gather(
            *(client.post("/chat/completions", json=body) for _ in range(100))
        )
    assert {r.status_code for r in responses} == {200}
    assert all(r.text.endswith("data: [DONE]\n\n") for r in responses)
    assert len(aisa_standin.requests) == 100


def test_scripting_from_another_thread_while_serving(aisa_standin: StandIn) -> None:
    def script() -> None:
        aisa_standin.enqueue_text("from a thread")

    worker = threading.Thread(target=script)
    worker.start()
    worker.join()
    response = httpx.post(f"{aisa_standin.base_url}/chat/completions", json=CHAT, headers=AUTH)
    assert response.json()["choices"][0]["message"]["content"] == "from a thread"


def test_quiet_filter_keeps_real_errors() -> None:
    quiet = _Quiet()

    def record(level: int, exc: BaseException | None) -> logging.LogRecord:
        info = (type(exc), exc, None) if exc is not None else None
        return logging.LogRecord("uvicorn.error", level, __file__, 1, "m", None, info)

    assert not quiet.filter(record(logging.ERROR, DeliberateDropError()))
    assert quiet.filter(record(logging.ERROR, ValueError("a real bug")))
    assert quiet.filter(record(logging.INFO, None))  # this thread is not the server's
    verdicts: list[bool] = []
    thread = threading.Thread(
        target=lambda: verdicts.extend(
            [quiet.filter(record(logging.INFO, None)), quiet.filter(record(logging.WARNING, None))]
        ),
        name="aisa-standin-1234",
    )
    thread.start()
    thread.join()
    assert verdicts == [False, True]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_cli_serves_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "aisa_core.standin", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("AIsa stand-in gateway: http://127.0.0.1:")
        base_url = line.split()[3]
        assert base_url.endswith("/v1")
        assert "export AISA_BASE_URL=" in process.stdout.readline()
        response = httpx.post(f"{base_url}/chat/completions", json=CHAT, headers=AUTH)
        assert response.json()["choices"][0]["message"]["content"].startswith("Hello from")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=5)
    assert "Traceback" not in stderr


def test_pytest_plugin_standalone(tmp_path: Path) -> None:
    """The plugin module works on its own, as the pytest11 entry point will load it."""
    (tmp_path / "test_uses_plugin.py").write_text(
        textwrap.dedent(
            """
            import urllib.request

            def test_first(aisa_standin, aisa_standin_session):
                assert aisa_standin is aisa_standin_session
                aisa_standin.enqueue_text("left over")
                request = urllib.request.Request(
                    aisa_standin.base_url + "/models",
                    headers={"Authorization": "Bearer " + aisa_standin.api_key},
                )
                assert urllib.request.urlopen(request, timeout=5).status == 200

            def test_second_starts_clean(aisa_standin):
                assert aisa_standin.pending == 0
                assert aisa_standin.requests == []
            """
        )
    )
    env = _env()
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "aisa_core.standin.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
