"""Routing on what the models are doing now: :class:`LowestLatency` picks the fastest healthy
route, :class:`HealthAware` orders a route's fallbacks so cooling models go last.

Both read an ``aisa_core.ModelHealth``: its breaker (is a model cooling down, half-open, or
fine) and the per-model averages it keeps of every attempt reported to it (time to first chunk,
total time, error rate, sample count). A router given ``aisa_health=`` hands the same object to
its models (they report to it) and to these strategies (they read it). Nothing here does I/O
beyond reading the health object's store.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.load.serializable import Serializable
from langchain_core.runnables import Runnable, RunnableWithFallbacks
from pydantic import ConfigDict, Field

from aisa_core import Budget, ModelHealth

from .decision import InRouterNamespace, RouteDecision, RouteInfo, RoutingStrategy
from .errors import RouterConfigError
from .features import RouteRequest

__all__ = ["HealthAware", "HealthOrderedFallbacks", "LowestLatency", "model_figures"]

Metric = Literal["ttft", "total"]
_METRIC_NAMES = {"ttft": "time to first token", "total": "total time"}


def model_figures(health: ModelHealth, model: str | None) -> dict[str, Any]:
    """What ``health`` knows of ``model`` now: breaker state (``ok``, ``cooling``,
    ``half-open``), when a cooldown ends, and this process's averages (seconds)."""
    if model is None:
        return {"model": None, "health": "ok", "samples": 0}
    stats = health.stats(model)
    state = health.state(model)
    figures: dict[str, Any] = {
        "model": model,
        "health": state,
        "ttft_s": stats.first_chunk_s,
        "latency_s": stats.latency_s,
        "samples": stats.samples,
        "error_rate": round(stats.error_rate, 4),
    }
    if state == "cooling":
        figures["until"] = health.cooling_until(model)
    return figures


def _seconds(value: float | None) -> str:
    return "untimed" if value is None else f"{value:.3f} s"


class LowestLatency(RoutingStrategy):
    """The fastest of ``candidates`` (default: every route) whose primary model is not cooling
    down, by what ``health`` has observed: ``metric="ttft"`` (time to first token; a model with
    no streamed call yet is judged by its total time, which is when a whole answer's first
    token arrives) or ``"total"``.

    A route with fewer than ``min_samples`` calls recorded is not trusted yet: it is tried
    first (the one with fewest samples), so every route is measured. After that a share
    ``explore`` of calls goes to a healthy route chosen at random (``seed`` makes it
    reproducible), so a route whose first samples were slow is measured again and can win
    back its place. When every candidate is cooling down, the next strategy decides.

    >>> fastest = LowestLatency(["gpt", "claude"], metric="ttft", min_samples=3, explore=0.05)
    """

    kind: ClassVar[str] = "latency"
    reads_health: ClassVar[bool] = True

    candidates: tuple[str, ...] = ()
    metric: Metric = "ttft"
    min_samples: int = 3
    explore: float = 0.05
    seed: int | None = None
    health: ModelHealth | None = Field(default=None, exclude=True)
    """The router's ``aisa_health`` (or, without one, a health of its own that it shares with
    its models); the candidates' models must report to it."""

    def __init__(self, candidates: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(candidates=tuple(candidates), **kwargs)
        if self.min_samples < 0:
            raise RouterConfigError("LowestLatency: min_samples must be >= 0")
        if not 0 <= self.explore <= 1:
            raise RouterConfigError("LowestLatency: explore must be between 0 and 1")
        if self.metric not in _METRIC_NAMES:
            raise RouterConfigError(f"LowestLatency: metric must be ttft or total: {self.metric!r}")

    def prepare(self) -> random.Random:
        return random.Random(self.seed)

    def route_names(self) -> tuple[str, ...]:
        return self.candidates

    def with_signals(self, health: ModelHealth | None, budget: Budget | None) -> LowestLatency:
        if self.health is not None or health is None:
            return self
        return self.model_copy(update={"health": health})

    def check(self, routes: Mapping[str, RouteInfo]) -> None:
        super().check(routes)
        if self.health is None:
            raise RouterConfigError("LowestLatency reads a ModelHealth: pass health=")

    def observed_routes(self, routes: Mapping[str, RouteInfo]) -> tuple[str, ...]:
        return self.candidates or tuple(routes)

    def _figures(self, routes: Mapping[str, RouteInfo]) -> dict[str, dict[str, Any]]:
        assert self.health is not None  # check() made sure
        figures = {}
        for name in self.observed_routes(routes):
            row = model_figures(self.health, routes[name].model)
            first = row.get("ttft_s") if self.metric == "ttft" else None
            row["value_s"] = first if first is not None else row.get("latency_s")
            figures[name] = row
        return figures

    def _choose(self, routes: Mapping[str, RouteInfo], explore: bool) -> RouteDecision | None:
        figures = self._figures(routes)
        healthy = [n for n, row in figures.items() if row["health"] != "cooling"]
        if not healthy:
            return None
        warming = [n for n in healthy if figures[n]["samples"] < self.min_samples]
        if warming:
            name = min(warming, key=lambda n: figures[n]["samples"])
            got = figures[name]["samples"]
            why = f"warming up: route {name!r} has {got} of {self.min_samples} samples"
        elif explore and self.explore and self.prepared.random() < self.explore:
            name = self.prepared.choice(healthy)
            why = f"exploring ({self.explore:.0%} of calls go to a random healthy route)"
        else:
            name = min(healthy, key=lambda n: _rank(figures[n]["value_s"]))
            why = f"lowest {_METRIC_NAMES[self.metric]} of {len(healthy)} healthy routes"
        return RouteDecision(name, f"{why}: {self._summary(figures)}", self.kind, figures=figures)

    def _summary(self, figures: Mapping[str, Mapping[str, Any]]) -> str:
        parts = []
        for name, row in figures.items():
            if row["health"] == "cooling":
                parts.append(f"{name} ({row['model']}) cooling down")
                continue
            state = "" if row["health"] == "ok" else f", {row['health']}"
            seen = f"over {row['samples']} samples" if row["samples"] else "no samples yet"
            parts.append(f"{name} ({row['model']}) {_seconds(row['value_s'])} {seen}{state}")
        return "; ".join(parts)

    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        return self._choose(routes, explore=True)

    def explain(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        """The choice without exploration (which would be a coin toss)."""
        return self._choose(routes, explore=False)


def _rank(value: float | None) -> float:
    return float("inf") if value is None else value


class HealthAware(InRouterNamespace, Serializable):
    """Orders a route's members by health: those whose model is cooling down go last, soonest
    to recover first (``cooling="drop"``: left out, unless all are cooling: then only the one
    that recovers first is tried). The rest keep their order, a half-open model included (its
    probe is how it recovers).

    Set it on a :class:`Route` (``Route(a, [b, c], order=HealthAware())``: the router gives it
    its ``aisa_health``), or wrap Runnables with :meth:`fallbacks`. A chain of model ids is one
    ``ChatAISA`` whose core client already skips cooling models; this orders routes made of
    separate models, where a cooling primary would otherwise be called first every time.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    cooling: Literal["last", "drop"] = "last"
    health: ModelHealth | None = None
    """Kept by ``model_dump`` (LangChain rebuilds fallback chains from it); left out of
    ``to_json``, like every live object."""

    def to_json(self) -> Any:
        data = super().to_json()
        if data.get("type") == "constructor":
            data["kwargs"].pop("health", None)  # type: ignore[typeddict-item]
        return data

    def with_health(self, health: ModelHealth | None) -> HealthAware:
        if self.health is not None or health is None:
            return self
        return self.model_copy(update={"health": health})

    def arrange(self, models: Sequence[str | None]) -> list[int]:
        """Positions of ``models`` in the order to try them (a ``None`` model is never
        cooling)."""
        if self.health is None:
            return list(range(len(models)))
        until = [None if m is None else self.health.cooling_until(m) for m in models]
        ready = [i for i, u in enumerate(until) if u is None]
        cooling = [i for _, i in sorted((u, i) for i, u in enumerate(until) if u is not None)]
        if self.cooling == "drop":
            return ready or cooling[:1]
        return ready + cooling

    def fallbacks(
        self, runnable: Runnable[Any, Any], fallbacks: Sequence[Runnable[Any, Any]]
    ) -> HealthOrderedFallbacks:
        """``runnable.with_fallbacks(fallbacks)``, tried in health order on every call."""
        from .routes import model_ids

        members = [runnable, *fallbacks]
        models = tuple(next(iter(model_ids(m)), None) for m in members)
        return HealthOrderedFallbacks(
            runnable=runnable, fallbacks=list(fallbacks), order=self, member_models=models
        )


class HealthOrderedFallbacks(InRouterNamespace, RunnableWithFallbacks[Any, Any]):
    """A fallback chain whose members are tried in :class:`HealthAware` order on each call
    (``member_models``: each member's model id, as the order reads them)."""

    order: HealthAware
    member_models: tuple[str | None, ...] = ()

    @property
    def runnables(self) -> Any:  # langchain-core's invoke/stream/batch loops all read this
        members = [self.runnable, *self.fallbacks]
        models = self.member_models or (None,) * len(members)
        for index in self.order.arrange(models):
            yield members[index]
