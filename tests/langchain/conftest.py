"""Fixtures for the ChatAISA tests: models pointed at the stand-in gateway over loopback, and
local media bytes for the standard suite's image/PDF tests (which would otherwise download).

The ``aisa_standin`` fixture comes from the ``aisa_core.standin.pytest_plugin`` entry point.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from aisa_core.standin import StandIn
from langchain_aisa import ChatAISA

MakeLLM = Callable[..., ChatAISA]


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A tiny valid PNG (solid red), built locally."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def _local_get(url: str, *args: Any, **kwargs: Any) -> httpx.Response:
    for suffix, data in ((".png", png_bytes()), (".pdf", pdf_bytes()), (".wav", wav_bytes())):
        if url.endswith(suffix):
            return httpx.Response(200, content=data)
    raise AssertionError(f"unexpected download in a test: {url}")


@pytest.fixture
def local_media(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard suite's media downloads answered from local bytes."""
    import langchain_tests.integration_tests.chat_models as suite

    monkeypatch.setattr(suite.httpx, "get", _local_get)
    monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "aisa-llm-tests/0.1 (offline)")


@pytest.fixture
def standin_env(aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """AISA_API_KEY / AISA_BASE_URL pointing at the stand-in, as a user's shell would."""
    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)
    monkeypatch.setenv("AISA_BASE_URL", aisa_standin.base_url)
    return aisa_standin


@pytest.fixture
def gateway(aisa_standin: StandIn) -> StandIn:
    return aisa_standin


@pytest.fixture
async def make_llm(aisa_standin: StandIn) -> AsyncIterator[MakeLLM]:
    """``ChatAISA`` against the stand-in; no retries unless a test asks for them. Pools are
    closed at teardown, inside the test's event loop."""
    made: list[ChatAISA] = []

    def make(**kwargs: Any) -> ChatAISA:
        settings: dict[str, Any] = {
            "model": "gpt-4.1",
            "api_key": aisa_standin.api_key,
            "base_url": aisa_standin.base_url,
            "max_retries": 0,
        }
        made.append(ChatAISA(**{**settings, **kwargs}))
        return made[-1]

    yield make
    for llm in made:
        llm.close()
        await llm.aclose()
