"""What each way in loads: the package name alone loads no HTTP library, a client class loads
neither Redis, OpenTelemetry nor the retrieval modules, and every public name still resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import aisa_core

HEAVY = (
    "httpx",
    "aiohttp",
    "redis",
    "opentelemetry",
    "aisa_core.stores.redis",
    "aisa_core.protocol.embeddings",
    "aisa_core.protocol.rerank",
    "aisa_core.telemetry",
    "aisa_core.standin",
)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_package_name_loads_no_http_library() -> None:
    assert _loaded_after("import aisa_core") == set()


@pytest.mark.parametrize(
    ("statement", "http"),
    [
        ("from aisa_core import AISAClient", {"httpx"}),
        ("from aisa_core import AsyncAISAClient", {"httpx"}),  # aiohttp: on first call
    ],
)
def test_a_client_loads_its_http_stack_and_nothing_it_does_not_use(
    statement: str, http: set[str]
) -> None:
    assert _loaded_after(statement) == http


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in aisa_core.__all__:
        assert getattr(aisa_core, name) is not None, name
    assert set(aisa_core.__all__) <= set(dir(aisa_core))
    with pytest.raises(AttributeError, match="NotAThing"):
        _ = aisa_core.NotAThing  # type: ignore[attr-defined]


def test_redis_store_loads_on_first_use() -> None:
    loaded = _loaded_after("from aisa_core.stores import RedisStore")
    assert "aisa_core.stores.redis" in loaded
