"""How a router's shared model health and budget reach everything that uses them.

One ``ModelHealth`` and one ``Budget`` (``aisa_health=`` / ``aisa_budget=`` on the router, or
the same keys in ``chat_kwargs``) go to every ``ChatAISA`` the router builds, to the
``ChatAISA`` objects it is given that have none (as copies: the caller's object is left as it
was), to the strategies that read them and to the routes' :class:`HealthAware` orders. A model
holding a *different* object is an error: routing would read one while the model reports to
the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
    RunnableSequence,
    RunnableWithFallbacks,
)

from aisa_core import Budget, ModelHealth

from .decision import RouteInfo, RoutingStrategy
from .errors import RouterConfigError
from .routes import Route, leaves

__all__ = ["Signals", "check_observed", "signals_of"]

_FIELDS = (("aisa_health", "health"), ("aisa_budget", "budget"))


class Signals:
    """The router's shared ``health`` and ``budget`` (either may be ``None``)."""

    __slots__ = ("budget", "health")

    def __init__(self, health: ModelHealth | None, budget: Budget | None) -> None:
        self.health = health
        self.budget = budget

    def chat_kwargs(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with the shared objects for the ``ChatAISA`` models built from ids."""
        kwargs = dict(given)
        for field, attr in _FIELDS:
            if getattr(self, attr) is not None:
                kwargs[field] = getattr(self, attr)
        return kwargs

    def share(self, route: Route) -> Route:
        """``route`` with the shared objects given to its ``ChatAISA`` models and its order."""
        if self.health is None and self.budget is None:
            return route
        members = route.members()
        shared = [_walk(m, self._give) for m in members]
        if any(a is not b for a, b in zip(shared, members, strict=True)):
            route = route._with(shared[0], shared[1:])
        return route.with_health(self.health)

    def _give(self, leaf: Runnable[Any, Any]) -> Runnable[Any, Any]:
        from langchain_aisa.chat_models import ChatAISA

        if not isinstance(leaf, ChatAISA):
            return leaf
        update = {}
        for field, attr in _FIELDS:
            ours, theirs = getattr(self, attr), getattr(leaf, field)
            if ours is None or theirs is ours:
                continue
            if theirs is not None:
                raise RouterConfigError(
                    f"the ChatAISA for {leaf.model_name!r} has its own {field}, not the "
                    f"router's: routing would read one while the model reports to the other; "
                    f"give both the same object"
                )
            update[field] = ours
        return leaf.model_copy(update=update) if update else leaf


def signals_of(
    chat_kwargs: Mapping[str, Any],
    health: ModelHealth | None,
    budget: Budget | None,
    strategies: Sequence[Any],
    routes: Mapping[str, Any],
) -> Signals:
    """The router's signals: the explicit arguments, else those in ``chat_kwargs``. A router
    whose strategies or routes read model health and that was given none uses one a strategy
    holds, else one of its own (a new ``ModelHealth``: this router's, not a process-wide one),
    so a router rebuilt from its serialised form works as the original did."""
    health = _one(chat_kwargs, "aisa_health", health)
    if health is None:
        held = (getattr(s, "health", None) for s in strategies)
        health = next((h for h in held if isinstance(h, ModelHealth)), None)
    reads = any(getattr(s, "reads_health", False) for s in strategies) or any(
        isinstance(r, Route) and r.order is not None for r in routes.values()
    )
    if health is None and reads:
        health = ModelHealth()
    return Signals(health, _one(chat_kwargs, "aisa_budget", budget))


def _one(chat_kwargs: Mapping[str, Any], field: str, explicit: Any) -> Any:
    given = chat_kwargs.get(field)
    if explicit is not None and given is not None and given is not explicit:
        raise RouterConfigError(f"{field}= and chat_kwargs[{field!r}] are different objects")
    return explicit if explicit is not None else given


def _walk(member: Any, give: Any) -> Any:
    """``member`` with ``give`` applied to each model inside bindings, fallback chains and
    sequences (copies only where something changed)."""
    if isinstance(member, RunnableWithFallbacks):
        parts = [member.runnable, *member.fallbacks]
        new = [_walk(p, give) for p in parts]
        if all(a is b for a, b in zip(new, parts, strict=True)):
            return member
        return member.model_copy(update={"runnable": new[0], "fallbacks": new[1:]})
    if isinstance(member, RunnableBinding):
        bound = _walk(member.bound, give)
        return member if bound is member.bound else member.model_copy(update={"bound": bound})
    if isinstance(member, RunnableSequence):
        steps = [_walk(s, give) for s in member.steps]
        if all(a is b for a, b in zip(steps, member.steps, strict=True)):
            return member
        return member.model_copy(
            update={"first": steps[0], "middle": steps[1:-1], "last": steps[-1]}
        )
    return give(member)


def check_observed(
    strategies: Sequence[RoutingStrategy],
    routes: Mapping[str, Route],
    infos: Mapping[str, RouteInfo],
) -> None:
    """Each route a strategy reads health for must serve from a ``ChatAISA`` that reports to
    that very health object (else the strategy would wait for samples that never come)."""
    from langchain_aisa.chat_models import ChatAISA

    for strategy in strategies:
        health = getattr(strategy, "health", None)
        for name in strategy.observed_routes(infos):
            members = routes[name].members()
            primary = next(iter(leaves(members[0])), None) if members else None
            if not isinstance(primary, ChatAISA) or primary.aisa_health is not health:
                raise RouterConfigError(
                    f"{type(strategy).__name__} reads the latency the shared ModelHealth "
                    f"records, but route {name!r} does not serve from a ChatAISA reporting to "
                    "it; give the router aisa_health= (it passes it to every ChatAISA)"
                )
