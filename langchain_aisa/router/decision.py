"""How a route is chosen: what the router knows of each route, what a strategy answers, and the
base class every strategy implements.

Nothing here calls a model or does I/O. A strategy reads a :class:`RouteRequest` (the input, the
call's config and, computed once on first use, its features) and a table of :class:`RouteInfo`
(each route's model ids), and answers a :class:`RouteDecision` or ``None`` ("not mine; ask the
next strategy"). :func:`annotate` and :func:`traced` write a decision onto an answer and into a
run's tracing config.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.load.serializable import Serializable
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict

from aisa_core import Budget, ModelHealth, capabilities
from aisa_core.display import Tabular
from aisa_core.types import ModelInfo

from .errors import unknown_route
from .features import RouteRequest

__all__ = [
    "LC_NAMESPACE",
    "InRouterNamespace",
    "RouteDecision",
    "RouteInfo",
    "RoutingStrategy",
    "annotate",
    "traced",
]

LC_NAMESPACE = ["langchain_aisa", "router"]
"""Where serialised router parts say they live (``langchain_aisa.router`` re-exports them all)."""


class InRouterNamespace:
    """A serialisable router part (strategies, routes, orders, the router): ``dumpd`` writes it
    under ``LC_NAMESPACE``. Put it first among the bases, before LangChain's."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return LC_NAMESPACE


@dataclass(frozen=True)
class RouteInfo:
    """What the router knows of one route: the model ids it may serve from (primary first, then
    its fallbacks, where they can be named), a description (shown to the LLM classifier) and the
    primary model's ``max_tokens`` when it sets one (for cost estimates)."""

    name: str
    models: tuple[str, ...] = ()
    description: str = ""
    max_tokens: int | None = None

    @property
    def model(self) -> str | None:
        return self.models[0] if self.models else None

    @property
    def capabilities(self) -> ModelInfo:
        """The primary model's row in the capability table (the conservative default if none)."""
        return capabilities(self.model or "")

    def lacking(self, check: Callable[[ModelInfo], bool]) -> list[str]:
        """This route's models that the capability table knows and says fail ``check``.

        Models the table does not know are given the benefit of the doubt.
        """
        return [m for m in self.models if (i := capabilities(m)).known and not check(i)]


@dataclass(frozen=True)
class RouteDecision(Tabular):
    """Which route, why (for people), by which strategy, and the route's primary model.

    ``route`` is ``None`` only in :meth:`RouterRunnable.explain` answers for a strategy that would
    need a model call to decide (the LLM classifier on an input it has not seen). ``figures``
    holds what a strategy that reads live signals or prices looked at, per route (health,
    latency averages and samples, prices, estimates, quotes, the budget): plain data.

    In Jupyter it shows as a table, one row per route the strategy weighed with its figures
    (then, for a route with a :class:`HealthAware` order, its models in the order they would be
    tried); ``to_pandas()`` gives the same rows as a DataFrame (pandas is never required).
    """

    route: str | None
    reason: str
    strategy: str
    model: str | None = None
    figures: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def metadata(self) -> dict[str, str]:
        """The ``aisa_route*`` entries written to tracing metadata and ``response_metadata``."""
        meta = {
            "aisa_route": self.route or "",
            "aisa_route_reason": self.reason,
            "aisa_route_strategy": self.strategy,
        }
        if self.model:
            meta["aisa_route_model"] = self.model
        return meta

    def records(self) -> list[dict[str, Any]]:
        """The table's rows: ``route``, ``chosen``, ``model`` and the figures it was judged on."""
        rows = _route_rows(self)
        for i, member in enumerate(self.figures.get("order") or (), start=1):
            rows.append({"route": self.route, "try": i, **member})
        return rows

    def table_columns(self) -> list[str]:
        columns = ["route", "chosen", "model"]
        for row in self.records():
            columns += [c for c in row if c not in columns]
        return columns

    def table_caption(self) -> str:
        caption = f"route {self.route!r} by {self.strategy}: {self.reason}"
        budget = self.figures.get("budget")
        if isinstance(budget, Mapping):
            left, usd = budget.get("remaining_usd"), budget.get("usd")
            caption += f" (budget: ${left} of ${usd} per {budget.get('per')} left)"
        return caption


_NOT_ROUTES = frozenset({"budget", "estimates_usd", "order"})
"""Figures about the decision as a whole, not about one route."""


def _route_rows(decision: RouteDecision) -> list[dict[str, Any]]:
    """One row per route in the figures (the decision's own route when there are none); the
    budget's estimates join their route's row."""
    weighed = {
        name: row
        for name, row in decision.figures.items()
        if name not in _NOT_ROUTES and isinstance(row, Mapping)
    }
    rows = {
        name: {"route": name, "chosen": name == decision.route, **row}
        for name, row in weighed.items()
    }
    estimates = decision.figures.get("estimates_usd")
    for name, usd in estimates.items() if isinstance(estimates, Mapping) else ():
        rows.setdefault(name, {"route": name, "chosen": name == decision.route})
        rows[name]["budget_estimate_usd"] = usd
    if not rows:
        return [
            {"route": decision.route, "chosen": decision.route is not None, "model": decision.model}
        ]
    return list(rows.values())


class RoutingStrategy(InRouterNamespace, Serializable):
    """Base of the routing strategies: a small, serialisable piece of configuration that looks at
    a :class:`RouteRequest` and names a route, or returns ``None`` to pass to the next strategy.

    Subclasses implement :meth:`decide` (pure and fast); those that call a model also override
    :meth:`adecide` and :meth:`explain` (which must never call a model).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    # A slot, not a pydantic private attribute: those cost microseconds per read on this path.
    __slots__ = ("_prepared",)
    if TYPE_CHECKING:
        _prepared: Any

    kind: ClassVar[str] = "strategy"
    reads_health: ClassVar[bool] = False
    """Whether it decides from a ``ModelHealth`` (the router then always has one)."""

    def __init__(self, **kwargs: Any) -> None:  # typed for subclasses' super().__init__(...)
        super().__init__(**kwargs)

    def with_models(self, make: Callable[[str], Runnable[Any, Any]]) -> RoutingStrategy:
        """This strategy with any model id it holds built into a model by ``make`` (the router
        passes its ``ChatAISA`` factory). Most strategies hold none."""
        return self

    def with_signals(self, health: ModelHealth | None, budget: Budget | None) -> RoutingStrategy:
        """This strategy given the router's shared model health and budget, where it reads them
        and was given none of its own. Most strategies read neither."""
        return self

    def observed_routes(self, routes: Mapping[str, RouteInfo]) -> tuple[str, ...]:
        """Routes whose primary model must report to this strategy's ``health`` (the router
        checks that it does); strategies that read no health name none."""
        return ()

    def prepare(self) -> Any:
        """Precompute what :meth:`decide` needs (compiled patterns, weight tables); subclasses
        raise :class:`RouterConfigError` here for settings that cannot work."""
        return None

    @property
    def prepared(self) -> Any:
        """:meth:`prepare`'s result, computed once per object (and again after a copy)."""
        try:
            return self._prepared
        except AttributeError:
            value = self.prepare()
            object.__setattr__(self, "_prepared", value)
            return value

    def route_names(self) -> tuple[str, ...]:
        """The routes this strategy can choose; the router checks that they exist."""
        return ()

    def check(self, routes: Mapping[str, RouteInfo]) -> None:
        """Validate against the router's routes; raise a :class:`RouterConfigError` subclass."""
        for name in self.route_names():
            if name not in routes:
                raise unknown_route(name, f"{type(self).__name__}", routes)

    @abstractmethod
    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        """The route for ``request``, or ``None`` to let the next strategy decide."""

    async def adecide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        return self.decide(request, routes)

    def explain(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        """Like :meth:`decide`, but never calls a model."""
        return self.decide(request, routes)


def annotate(output: Any, decision: RouteDecision) -> Any:
    """``output`` with the decision in its ``response_metadata``, if it is (or holds) a message."""
    if isinstance(output, BaseMessage):
        meta = {**output.response_metadata, **decision.metadata()}
        return output.model_copy(update={"response_metadata": meta})
    if isinstance(output, dict) and isinstance(output.get("raw"), BaseMessage):
        return {**output, "raw": annotate(output["raw"], decision)}
    return output


def traced(config: RunnableConfig, decision: RouteDecision) -> RunnableConfig:
    """``config`` with the decision in its tracing metadata and an ``aisa_route:<name>`` tag."""
    out = dict(config)
    out["metadata"] = {**config.get("metadata", {}), **decision.metadata()}
    out["tags"] = [*config.get("tags", ()), f"aisa_route:{decision.route}"]
    return out  # type: ignore[return-value]
