"""An endpoint as one pure operation, and the call that runs it: send, retry, fall back.

Adding an endpoint means one ``Operation`` subclass (how to build its request for a model and
how to read its answer) and a one-line method on each client; the retry and fallback loop is
``run``, written once for both clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from aisa_core.admission import PASS, Ticket
from aisa_core.attempts import AttemptInfo, SkippedModel
from aisa_core.capabilities import Endpoint, endpoint_of
from aisa_core.errors import AISAError, Attempt, InvalidInputError
from aisa_core.types import ResponseMeta

from .effects import Effect, Send, Sleep
from .report import QUIET, CallLog, Watch
from .retry import AttemptPlan, Step
from .wire import Reply, Request, raise_for_status

__all__ = ["Answering", "Operation", "attempts", "check_served", "run"]

T = TypeVar("T")
R = TypeVar("R")

_KINDS: dict[Endpoint, tuple[str, str]] = {
    "chat": ("a chat model", "chat() or stream()"),
    "embeddings": ("an embedding model", "embed() (AISAEmbeddings / AISAEmbedding)"),
    "rerank": ("a rerank model", "rerank() (AISARerank)"),
}


def check_served(models: Sequence[str], endpoint: Endpoint) -> None:
    """Refuse, before anything is sent, a model known to be served by another endpoint (an
    embedding model asked to chat, a chat model asked to embed): the gateway would only answer
    400 after a round trip, and in a fallback chain it would cost a wasted attempt. Ids the
    tables do not know pass (``capabilities.register`` corrects a wrong row)."""
    for model in models:
        kind = endpoint_of(model)
        if kind is not None and kind != endpoint:
            what, where = _KINDS[kind]
            raise InvalidInputError(
                f"{model} is {what}, not {_KINDS[endpoint][0]}",
                model=model,
                hint=f"Send it to {where}, or name {_KINDS[endpoint][0]} here",
            )


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

    def finish(
        self,
        result: T,
        attempts: tuple[Attempt, ...],
        latency: float,
        skipped: tuple[SkippedModel, ...] = (),
    ) -> T:
        """The result of the whole call, told who failed or was skipped before it and how long
        it took."""
        return result

    # --- what the attempt seam is told (see ``aisa_core.attempts``) ------------------------

    def info(self, step: Step, stream: bool) -> AttemptInfo:
        """What an attempt is about to do, for the checks before it (health, budget)."""
        return AttemptInfo(self.name, step.model, stream=stream, force=step.force)

    def facts(self, result: T) -> dict[str, Any]:
        """``AttemptReport`` fields the result knows (usage, cost, served model, ...)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """The request's parameters, for ``CallReport.request``."""
        return {}

    def quote_request(self, model: str) -> Request | None:
        """A request for the gateway's price quote of this call (``None``: not quotable)."""
        return None


class HasMeta(Protocol):
    meta: ResponseMeta


M = TypeVar("M", bound=HasMeta)


class Answering(Operation[M]):
    """An endpoint whose answer carries a ``ResponseMeta``: the call's facts go on it (who failed
    or was skipped before it, how long the call took)."""

    def finish(
        self,
        result: M,
        attempts: tuple[Attempt, ...],
        latency: float,
        skipped: tuple[SkippedModel, ...] = (),
    ) -> M:
        meta = result.meta
        meta.attempts, meta.skipped, meta.latency_s = attempts, skipped, latency
        return result


def attempts(
    op: Operation[Any],
    plan: AttemptPlan,
    log: CallLog,
    one: Callable[[Step], Generator[Effect, Any, R]],
    cleanup: Effect | None = None,
) -> Generator[Effect, Any, tuple[Step, Ticket, R]]:
    """The attempt loop every call shares: wait, ask the checks (a cooling model is skipped),
    try ``one`` attempt; after a failure (``cleanup`` first, e.g. closing a stream) ask the
    plan what comes next, which raises when nothing is left. Gives the step that answered."""
    step = plan.first()
    while True:
        if step.wait:
            yield Sleep(step.wait)
        ticket = PASS
        try:
            ticket = yield from log.admit(step)
            if ticket.skipped is None:
                return step, ticket, (yield from one(step))
        except AISAError as error:
            if cleanup is not None:
                yield cleanup
            error = op.blame(error)
            yield from log.failed(ticket, step.model, error)
            step = yield from log.decide(plan.after_failure, error)
            continue
        step = yield from log.decide(plan.skip, ticket.skipped)


def run(
    op: Operation[T],
    plan: AttemptPlan,
    watch: Watch = QUIET,
    clock: Callable[[], float] = time.perf_counter,
) -> Generator[Effect, Any, T]:
    """One call of ``op``: attempts in the order ``plan`` gives (skipping models the checks
    turn away), until one answers; each attempt and the call reported to the seam."""
    log = CallLog(op, plan, watch, clock=clock)

    def one(step: Step) -> Generator[Effect, Any, tuple[Reply, T]]:
        reply = yield Send(log.sent(op.request(step.model, step.route)), step.model)
        return reply, op.parse(reply, step.model)

    step, ticket, (reply, result) = yield from attempts(op, plan, log, one)
    yield from log.succeeded(ticket, step.model, reply, result)
    return op.finish(result, plan.failures, log.elapsed, tuple(plan.skipped))
