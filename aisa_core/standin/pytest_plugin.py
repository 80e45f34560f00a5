"""pytest fixtures for the AIsa stand-in gateway (registered as the ``aisa_standin`` plugin).

``aisa_standin``: a running :class:`~aisa_core.standin.StandIn`, reset before and after
each test (scripts, faults, recorded requests, spend). ``aisa_standin_session``: the one
server behind it, started once per session, so tests pay no start-up cost.

With pytest-socket, allow loopback: ``--allow-hosts=127.0.0.1``.

This module is imported by every pytest run in an environment where the package is
installed, so it imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aisa_core.standin import StandIn


@pytest.fixture(scope="session")
def aisa_standin_session() -> Iterator[StandIn]:
    """One stand-in gateway for the whole test session (not reset between tests)."""
    from aisa_core.standin import StandIn

    with StandIn() as standin:
        yield standin


@pytest.fixture
def aisa_standin(aisa_standin_session: StandIn) -> Iterator[StandIn]:
    """The session's stand-in gateway, reset so each test starts from a clean slate."""
    aisa_standin_session.reset()
    yield aisa_standin_session
    aisa_standin_session.reset()
