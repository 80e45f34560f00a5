"""What a call tells the attempt seam, built as it goes. Pure: times come from injected clocks.

``CallLog`` measures each attempt and the call, turns them into ``AttemptReport`` and
``CallReport`` (``aisa_core.attempts``), and yields the effects that hand them on (``Admit``
before an attempt, ``Leave`` after it, ``Done`` after the call). Nobody listening (no health, no
budget, no observers) means no effect and no report at all.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aisa_core.admission import PASS, Ticket
from aisa_core.attempts import AttemptReport, CallReport, Outcome
from aisa_core.errors import AISAError

from .effects import Admit, Done, Effect, Leave, Send
from .retry import AttemptPlan, Step
from .wire import Reply, Request

__all__ = ["QUIET", "CallLog", "Watch"]

T = TypeVar("T")
A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Watch:
    """Who listens to a client's calls: ``checks`` (health or budget: ``Admit`` before each
    attempt), ``watched`` (anyone: reports are made), ``quotes`` (the budget wants the
    gateway's quote before each chat attempt)."""

    checks: bool = False
    watched: bool = False
    quotes: bool = False


QUIET = Watch()
_DEFAULT_PORTS = {"https": 443, "http": 80}


@functools.lru_cache(maxsize=64)
def _server_of(url: str) -> tuple[str | None, int | None]:
    """Host and port of ``url`` (parsed once per URL)."""
    if not url:
        return None, None
    parts = urlsplit(url)
    return parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)


class CallLog:
    """The reports of one call of ``op`` (see the module docstring)."""

    __slots__ = (
        "_attempt_start",
        "_attempts",
        "_clock",
        "_first",
        "_index",
        "_op",
        "_plan",
        "_started",
        "_url",
        "_wall",
        "stream",
        "watch",
    )

    def __init__(
        self,
        op: Any,
        plan: AttemptPlan,
        watch: Watch,
        *,
        stream: bool = False,
        clock: Callable[[], float] = time.perf_counter,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._op = op
        self._plan = plan
        self.watch = watch
        self.stream = stream
        self._clock = clock
        self._wall = wall
        self._started = clock()
        self._attempt_start = self._started
        self._first: float | None = None
        self._index = 0
        self._attempts: list[AttemptReport] = []
        self._url = ""

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def admit(self, step: Step) -> Generator[Effect, Any, Ticket]:
        """Before an attempt: ``Admit`` (health, budget) when anything checks, else go."""
        self._attempt_start = self._clock()
        self._first = None
        if not self.watch.checks:
            return PASS
        info = self._op.info(step, self.stream)
        quote = self._op.quote_request(step.model) if self.watch.quotes else None
        if quote is not None:
            reply = yield Send(quote, step.model)
            info = replace(info, quoted_usd=self._op.read_quote(reply, step.model))
        ticket: Ticket = yield Admit(info)
        self._attempt_start = self._clock()
        return ticket

    def sent(self, request: Request) -> Request:
        self._url = request.url
        return request

    def first_chunk(self) -> None:
        if self._first is None:
            self._first = self._clock() - self._attempt_start

    def attempt(
        self,
        model: str,
        outcome: Outcome,
        ticket: Ticket,
        *,
        reply: Reply | None = None,
        result: Any = None,
        error: AISAError | None = None,
    ) -> AttemptReport:
        facts: dict[str, Any] = self._op.facts(result) if result is not None else {}
        duration = self._clock() - self._attempt_start
        report = AttemptReport(
            operation=self._op.name,
            model=model,
            outcome=outcome,
            started=self._wall() - duration,
            duration_s=duration,
            index=self._index,
            stream=self.stream,
            first_chunk_s=self._first,
            status=reply.status if reply is not None else getattr(error, "status_code", None),
            error=error,
            request_id=(reply.request_id if reply is not None else None)
            or getattr(error, "request_id", None),
            probe=ticket.probe,
            **facts,
        )
        self._index += 1
        self._attempts.append(report)
        return report

    def leave(self, ticket: Ticket, report: AttemptReport) -> Generator[Effect, Any, None]:
        if self.watch.watched:
            yield Leave(ticket, report)

    def failed(self, ticket: Ticket, model: str, error: AISAError) -> Generator[Effect, Any, None]:
        if self.watch.watched:
            yield Leave(ticket, self.attempt(model, "error", ticket, error=error))

    def succeeded(
        self, ticket: Ticket, model: str, reply: Reply | None, result: Any
    ) -> Generator[Effect, Any, None]:
        """The attempt answered: its report, then the call's."""
        if self.watch.watched:
            report = self.attempt(model, "ok", ticket, reply=reply, result=result)
            yield Leave(ticket, report)
            yield Done(self.call("ok", result=result))

    def call(
        self, outcome: Outcome, *, error: AISAError | None = None, result: Any = None
    ) -> CallReport:
        elapsed = self.elapsed
        return CallReport(
            operation=self._op.name,
            models=tuple(self._plan.models),
            started=self._wall() - elapsed,
            duration_s=elapsed,
            outcome=outcome,
            attempts=tuple(self._attempts),
            skipped=tuple(self._plan.skipped),
            error=error,
            stream=self.stream,
            server_address=_server_of(self._url)[0],
            server_port=_server_of(self._url)[1],
            request=self._op.describe(),
            result=result,
        )

    def done(
        self, outcome: Outcome, *, error: AISAError | None = None, result: Any = None
    ) -> Generator[Effect, Any, None]:
        if self.watch.watched:
            yield Done(self.call(outcome, error=error, result=result))

    def abandoned(self, ticket: Ticket, model: str, partial: Any) -> list[Effect]:
        """The reports of a stream closed before its end (they are performed later)."""
        report = self.attempt(model, "cancelled", ticket, result=partial)
        return [Leave(ticket, report), Done(self.call("cancelled", result=partial))]

    def decide(self, choose: Callable[[A], Step], arg: A) -> Generator[Effect, Any, Step]:
        """The plan's next step after a failure or a skip; when it gives up, the call's report
        goes out before its error."""
        try:
            return choose(arg)
        except AISAError as final:
            yield from self.done("error", error=final)
            raise
