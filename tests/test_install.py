"""What a plain install brings (issue 10, item 14): the fast async transport is a dependency, so
``pip install "aisa-llm[langchain]"`` (or any extra) gets it; ``speed`` stays as an empty extra
for old install lines; nothing depends on ``httpx-aiohttp`` any more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def test_aiohttp_comes_with_every_install() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "aiohttp" in _names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert extras["speed"] == []  # still installable, now empty
    everything = [r for reqs in extras.values() for r in reqs] + project["dependencies"]
    assert "httpx-aiohttp" not in _names(everything)
    assert "httpx-aiohttp" not in (ROOT / "constraints.txt").read_text()


def test_the_installed_distribution_requires_aiohttp_without_an_extra() -> None:
    from importlib.metadata import requires

    plain = [r for r in requires("aisa-llm") or [] if "extra ==" not in r]
    assert "aiohttp" in _names(plain)


def test_the_default_async_client_uses_aiohttp() -> None:
    from aisa_core import AsyncAISAClient
    from aisa_core.transport.aio import AiohttpHTTP

    client = AsyncAISAClient(api_key="sk-install", model="m")
    assert isinstance(client._http, AiohttpHTTP)
