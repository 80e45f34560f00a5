from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from aisa_core.standin import StandIn
from langchain_aisa.router import RouterRunnable

from .helpers import Recorder, standin_kwargs

BuildRouter = Callable[..., RouterRunnable]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def routers(aisa_standin: StandIn) -> AsyncIterator[list[RouterRunnable]]:
    """Routers made in a test; their pools are closed at teardown, in the test's event loop."""
    made: list[RouterRunnable] = []
    yield made
    for router in made:
        router.close()
        await router.aclose()


@pytest.fixture
def build_router(aisa_standin: StandIn, routers: list[RouterRunnable]) -> BuildRouter:
    """``RouterRunnable(routes, strategies, **kwargs)`` whose models talk to the stand-in."""

    def build(routes: Any, strategies: Any = (), **kwargs: Any) -> RouterRunnable:
        kwargs.setdefault("chat_kwargs", standin_kwargs(aisa_standin))
        routers.append(RouterRunnable(routes, strategies, **kwargs))
        return routers[-1]

    return build
