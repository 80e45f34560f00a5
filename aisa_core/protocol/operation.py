"""An endpoint as one pure operation, and the call that runs it: send, retry, fall back.

Adding an endpoint means one ``Operation`` subclass (how to build its request for a model and
how to read its answer) and a one-line method on each client; the retry and fallback loop is
``run``, written once for both clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from aisa_core.errors import AISAError, Attempt

from .effects import Effect, Send, Sleep
from .retry import AttemptPlan
from .wire import Reply, Request, raise_for_status

__all__ = ["Operation", "run"]

T = TypeVar("T")


class Operation(Generic[T]):
    """One endpoint, pure. ``models`` is the chain to try in order (a label such as
    ``"models"`` for endpoints that name no model); ``name`` says what the call is."""

    name: ClassVar[str] = "call"
    names_model: ClassVar[bool] = True
    """False for endpoints that name no model (balance, the model list): their ``models`` is
    only a label, so their errors carry ``model=None`` rather than it."""
    routes: ClassVar[int] = 1
    """How many paths serve this endpoint; a plain 404 on one moves to the next."""

    def __init__(self, models: Sequence[str]) -> None:
        self.models = tuple(models)

    def request(self, model: str, route: int) -> Request:
        raise NotImplementedError

    def parse(self, reply: Reply, model: str) -> T:
        """The answer to one attempt; an error status raises its typed error."""
        raise_for_status(reply, model)
        return self.read(reply, model)

    def read(self, reply: Reply, model: str) -> T:
        raise NotImplementedError

    def blame(self, error: AISAError) -> AISAError:
        """The failure as the caller sees it: no pseudo-model for an endpoint that names none."""
        if not self.names_model:
            error.model = None
        return error

    def finish(self, result: T, attempts: tuple[Attempt, ...], latency: float) -> T:
        """The result of the whole call, told who failed before it and how long it took."""
        return result


def run(
    op: Operation[T],
    plan: AttemptPlan,
    clock: Callable[[], float] = time.perf_counter,
) -> Generator[Effect, Any, T]:
    """One call of ``op``: attempts in the order ``plan`` gives, until one answers."""
    started = clock()
    step = plan.first()
    while True:
        if step.wait:
            yield Sleep(step.wait)
        try:
            reply = yield Send(op.request(step.model, step.route), step.model)
            result = op.parse(reply, step.model)
        except AISAError as error:
            step = plan.after_failure(op.blame(error))  # raises when nothing is left to try
        else:
            return op.finish(result, plan.failures, clock() - started)
