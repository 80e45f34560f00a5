"""Fixtures for the ``aisa`` command line: a stand-in gateway in the environment, and ``run``,
which calls ``main`` like the console script would and checks the key never shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from aisa_core.cli import main
from aisa_core.standin import StandIn

KEY = "sk-aisa-cli-SECRET-0123456789abcdef"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def gateway(aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """The stand-in, reachable through ``AISA_BASE_URL`` with a recognisable ``AISA_API_KEY``."""
    monkeypatch.setenv("AISA_API_KEY", KEY)
    monkeypatch.setenv("AISA_BASE_URL", aisa_standin.base_url)
    monkeypatch.setenv("COLUMNS", "200")
    return aisa_standin


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*argv: str) -> Result:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert KEY not in out, "the API key was printed"
        assert KEY not in err, "the API key was printed"
        return Result(code, out, err)

    return run
