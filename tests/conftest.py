"""Suite-wide rules: only loopback sockets (pytest-socket, set in pyproject), live tests only with
a key, soak tests only when asked, and no AIsa/OpenAI variables leaking in from the shell."""

from __future__ import annotations

import os

import pytest

LIVE_KEY = os.environ.get("AISA_API_KEY")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long soak tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_live = pytest.mark.skip(reason="live test: set AISA_API_KEY to run against AIsa")
    skip_soak = pytest.mark.skip(reason="long soak test: run with --soak")
    for item in items:
        if item.get_closest_marker("live") and not LIVE_KEY:
            item.add_marker(skip_live)
        if item.get_closest_marker("soak") and not config.getoption("--soak"):
            item.add_marker(skip_soak)


@pytest.fixture(autouse=True)
def _clean_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline tests never see a real key or base URL from the developer's shell."""
    if request.node.get_closest_marker("live"):
        return
    for name in ("AISA_API_KEY", "AISA_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
