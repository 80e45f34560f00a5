"""``RouterRunnable``: the Runnable that asks the strategies for a route, runs it, and writes the
decision onto the answer and into the trace.

It owns only deciding (keyed input, else the strategies in order, else the default) and running
(invoke, stream, batch and their async twins); what routes, strategies and decisions are lives in
the sibling modules. See :mod:`langchain_aisa.router` for the whole picture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.load.serializable import Serializable
from langchain_core.messages import BaseMessage
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableSerializable,
    ensure_config,
)
from langchain_core.runnables.router import RouterRunnable as CoreRouterRunnable
from pydantic import Field

from aisa_core import Budget, ModelHealth

from .decision import InRouterNamespace, RouteDecision, RouteInfo, RoutingStrategy, annotate, traced
from .errors import (
    NoRouteError,
    RouteCapabilityError,
    RouterConfigError,
    UnknownRouteError,
    unknown_route,
)
from .features import RouteRequest
from .pricing import within_budget
from .routes import ModelMaker, Route, chat_maker, leaves, member_call
from .signals import check_observed, signals_of
from .strategies import FunctionStrategy

__all__ = ["RouterRunnable"]

Requirement = Literal["tools", "structured_output"]
_NEEDS: dict[Requirement, tuple[str, Callable[[Any], bool]]] = {
    "tools": ("call tools", lambda i: i.tools),
    "structured_output": ("give structured output", lambda i: i.json_schema or i.tools),
}


# -- the router --------------------------------------------------------------------------------

if TYPE_CHECKING:
    # At run time the router *is* langchain-core's RouterRunnable (isinstance holds), but that
    # class fixes its input type to ``{"key", "input"}``; to type checkers ours takes anything,
    # so it can be passed where a chat model is expected (e.g. LangGraph's create_react_agent).
    _RouterBase = RunnableSerializable[Any, Any]
else:
    _RouterBase = CoreRouterRunnable


class RouterRunnable(InRouterNamespace, _RouterBase):
    """Routes each input to one of ``routes``: by ``{"key", "input"}``, else by ``strategies``
    (the first that names a route wins), else to ``default``.

    Args:
        routes: route name → model id, ``ChatAISA``, Runnable (or function), or :class:`Route`.
            ``runnables=`` is accepted too, as in langchain-core's router.
        strategies: :class:`Rule`, :class:`CheapestFit`, :class:`LLMClassifier`,
            :class:`WeightedSplit`, any :class:`RoutingStrategy`, or plain functions of the input
            returning a route name, ``(route, reason)`` or ``None``.
        default: the route when no strategy names one; without it such inputs raise
            :class:`NoRouteError`.
        chat_kwargs: arguments for every ``ChatAISA`` built from a model id (api_key, base_url,
            temperature, max_retries, timeout, ...).
        aisa_health: a ``ModelHealth`` shared by every ``ChatAISA`` of every route (those given
            without one get a copy holding it) and read by :class:`LowestLatency` and
            :class:`HealthAware` orders (also accepted in ``chat_kwargs``). Without one, a
            router that reads health makes its own.
        aisa_budget: a ``Budget`` shared the same way.
        on_exceed: with a budget, ``"raise"`` (default): a call whose route would pass it
            raises ``BudgetExceededError`` before sending; ``"cheapest"``: it goes to the
            cheapest route that fits what is left (when none does, it raises).

    Raises:
        RouterConfigError: at construction, for anything that cannot work: an unknown route name
            (:class:`UnknownRouteError`), a route whose model cannot do what a rule requires
            (:class:`RouteCapabilityError`), bad split weights (:class:`InvalidWeightsError`).
    """

    runnables: Mapping[str, Runnable[Any, Any]] = Field(exclude=True)
    routes: dict[str, Route]
    strategies: list[RoutingStrategy] = Field(default_factory=list)
    default: str | None = None
    requires: tuple[Requirement, ...] = ()
    aisa_health: ModelHealth | None = Field(default=None, exclude=True)
    aisa_budget: Budget | None = Field(default=None, exclude=True)
    on_exceed: Literal["raise", "cheapest"] = "raise"

    # A slot, not a pydantic private attribute: those cost microseconds per read on this path.
    __slots__ = ("_info",)
    if TYPE_CHECKING:
        _info: dict[str, RouteInfo]

    def __init__(
        self,
        routes: Mapping[str, Any] | None = None,
        strategies: Sequence[RoutingStrategy | Callable[[Any], Any]] = (),
        *,
        default: str | None = None,
        chat_kwargs: Mapping[str, Any] | None = None,
        runnables: Mapping[str, Any] | None = None,
        requires: Sequence[Requirement] = (),
        aisa_health: ModelHealth | None = None,
        aisa_budget: Budget | None = None,
        on_exceed: Literal["raise", "cheapest"] = "raise",
    ) -> None:
        given = _given_routes(routes, runnables)
        signals = signals_of(chat_kwargs or {}, aisa_health, aisa_budget, strategies, given)
        make = chat_maker(signals.chat_kwargs(chat_kwargs or {}))
        built = {
            name: signals.share((r if isinstance(r, Route) else Route(r)).resolve(make))
            for name, r in given.items()
        }
        Serializable.__init__(
            self,
            runnables={name: route.build() for name, route in built.items()},
            routes=built,
            strategies=[
                _strategy(s, make).with_signals(signals.health, signals.budget) for s in strategies
            ],
            default=default,
            requires=tuple(dict.fromkeys(requires)),
            aisa_health=signals.health,
            aisa_budget=signals.budget,
            on_exceed=on_exceed,
        )
        self._check()

    def _check(self) -> None:
        if self.default is not None and self.default not in self.route_info:
            raise unknown_route(self.default, "default", self.route_info)
        for strategy in self.strategies:
            strategy.check(self.route_info)
        check_observed(self.strategies, self.routes, self.route_info)
        for need in self.requires:
            what, test = _NEEDS[need]
            for info in self.route_info.values():
                if lacking := info.lacking(test):
                    raise RouteCapabilityError(
                        f"route {info.name!r} must {what}, but serves from "
                        f"{', '.join(lacking)}, which cannot"
                    )

    @property
    def InputType(self) -> Any:  # noqa: N802 (langchain-core's name)
        return Any

    @property
    def route_info(self) -> Mapping[str, RouteInfo]:
        """What the router knows of each route (its model ids and description)."""
        try:
            return self._info
        except AttributeError:
            info = {name: route.info(name) for name, route in self.routes.items()}
            object.__setattr__(self, "_info", info)
            return info

    # -- deciding ----------------------------------------------------------------------------

    def _request(
        self, value: Any, config: RunnableConfig, kwargs: Mapping[str, Any]
    ) -> RouteRequest:
        return RouteRequest(
            value,
            config,
            needs_tools="tools" in self.requires or bool(kwargs.get("tools")),
            needs_structured_output="structured_output" in self.requires
            or "response_format" in kwargs
            or "ls_structured_output_format" in kwargs,
        )

    def _keyed(self, value: Mapping[str, Any]) -> tuple[RouteDecision, Any]:
        key, inner = value["key"], value["input"]
        if key not in self.runnables:
            raise UnknownRouteError(f"No runnable associated with key '{key}'")
        return RouteDecision(key, f"explicit key {key!r}", "key", self.route_info[key].model), inner

    def _final(self, decision: RouteDecision | None, request: RouteRequest) -> RouteDecision:
        """The decision with its route's model named, moved within the budget if asked to."""
        final = self._named(decision)
        if self.on_exceed == "cheapest" and self.aisa_budget is not None:
            moved = within_budget(final, request, self.route_info, self.aisa_budget)
            if moved is not final:
                return self._named(moved)
        return final

    def _named(self, decision: RouteDecision | None) -> RouteDecision:
        if decision is None:
            if self.default is None:
                raise NoRouteError(
                    "no strategy chose a route for this input and there is no default"
                )
            decision = RouteDecision(self.default, "no strategy matched; default route", "default")
        info = self.route_info.get(decision.route or "")
        if info is None:
            raise unknown_route(decision.route, f"strategy {decision.strategy!r}", self.route_info)
        return decision if decision.model == info.model else replace(decision, model=info.model)

    def _route(
        self, value: Any, config: RunnableConfig, kwargs: Mapping[str, Any]
    ) -> tuple[RouteDecision, Any]:
        if isinstance(value, Mapping) and "key" in value:
            return self._keyed(value)
        request, routes = self._request(value, config, kwargs), self.route_info
        for strategy in self.strategies:
            if (decision := strategy.decide(request, routes)) is not None:
                return self._final(decision, request), value
        return self._final(None, request), value

    async def _aroute(
        self, value: Any, config: RunnableConfig, kwargs: Mapping[str, Any]
    ) -> tuple[RouteDecision, Any]:
        if isinstance(value, Mapping) and "key" in value:
            return self._keyed(value)
        request, routes = self._request(value, config, kwargs), self.route_info
        for strategy in self.strategies:
            if (decision := await strategy.adecide(request, routes)) is not None:
                return self._final(decision, request), value
        return self._final(None, request), value

    def explain(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RouteDecision:
        """The decision :meth:`invoke` would make for ``input``, without calling any model.

        When a strategy would need a model call to decide (the LLM classifier, for an input it
        has not seen), the answer names that strategy and has ``route=None``. For a route with a
        :class:`HealthAware` order, ``figures["order"]`` lists its models in the order they
        would be tried, with their health.
        """
        if isinstance(input, Mapping) and "key" in input:
            decision = self._keyed(input)[0]
        else:
            decision = self._explain(self._request(input, ensure_config(config), kwargs))
        route = self.routes.get(decision.route or "")
        return decision if route is None else route.explained(decision)

    def _explain(self, request: RouteRequest) -> RouteDecision:
        for strategy in self.strategies:
            decision = strategy.explain(request, self.route_info)
            if decision is not None:
                return decision if decision.route is None else self._final(decision, request)
        return self._final(None, request)

    # -- running -----------------------------------------------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        decision, value = self._route(input, config, kwargs)
        route = self.runnables[str(decision.route)]
        return annotate(route.invoke(value, traced(config, decision), **kwargs), decision)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        decision, value = await self._aroute(input, config, kwargs)
        route = self.runnables[str(decision.route)]
        return annotate(await route.ainvoke(value, traced(config, decision), **kwargs), decision)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        config = ensure_config(config)
        decision, value = self._route(input, config, kwargs)
        route = self.runnables[str(decision.route)]
        pending = True
        for chunk in route.stream(value, traced(config, decision), **kwargs):
            if pending and isinstance(chunk, BaseMessage):
                chunk, pending = annotate(chunk, decision), False
            yield chunk

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        config = ensure_config(config)
        decision, value = await self._aroute(input, config, kwargs)
        route = self.runnables[str(decision.route)]
        pending = True
        async for chunk in route.astream(value, traced(config, decision), **kwargs):
            if pending and isinstance(chunk, BaseMessage):
                chunk, pending = annotate(chunk, decision), False
            yield chunk

    def _check_keys(self, inputs: Sequence[Any]) -> None:
        """langchain-core's batch contract: every ``{"key", "input"}`` is checked before any run."""
        keyed = [(i["key"], i["input"]) for i in inputs if isinstance(i, Mapping) and "key" in i]
        if any(key not in self.runnables for key, _ in keyed):
            raise UnknownRouteError("One or more keys do not have a corresponding runnable")

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        self._check_keys(inputs)
        return Runnable.batch(self, inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        self._check_keys(inputs)
        return await Runnable.abatch(
            self, inputs, config, return_exceptions=return_exceptions, **kwargs
        )

    # -- connection pools --------------------------------------------------------------------

    def _models(self) -> list[Any]:
        held: list[Any] = [m for route in self.routes.values() for m in route.members()]
        made = [getattr(s, attr, None) for s in self.strategies for attr in ("model", "quoter")]
        held += [m for m in made if isinstance(m, Runnable)]
        unique = {id(leaf): leaf for item in held for leaf in leaves(item)}
        return list(unique.values())

    def close(self) -> None:
        """Close the connection pools of every model the router holds (reopened on next use)."""
        for model in self._models():
            if callable(close := getattr(model, "close", None)):
                close()

    async def aclose(self) -> None:
        """Close the async connection pools of every model the router holds; call it from the
        event loop that used them."""
        for model in self._models():
            if callable(aclose := getattr(model, "aclose", None)):
                await aclose()

    # -- deriving routers --------------------------------------------------------------------

    def _derive(self, need: Requirement, method: str, *args: Any, **kwargs: Any) -> RouterRunnable:
        routes = {
            name: route.map(member_call(name, method, *args, **kwargs))
            for name, route in self.routes.items()
        }
        return type(self)(
            routes,
            self.strategies,
            default=self.default,
            requires=(*self.requires, need),
            aisa_health=self.aisa_health,
            aisa_budget=self.aisa_budget,
            on_exceed=self.on_exceed,
        )

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> RouterRunnable:
        """A router whose every route (fallbacks included) has ``tools`` bound; the rules see
        ``needs_tools`` on every input."""
        return self._derive("tools", "bind_tools", tools, **kwargs)

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> RouterRunnable:
        """A router whose every route (fallbacks included) returns ``schema``; with
        ``include_raw=True`` the raw message carries the route in its ``response_metadata``."""
        return self._derive(
            "structured_output",
            "with_structured_output",
            schema,
            include_raw=include_raw,
            **kwargs,
        )


def _given_routes(
    routes: Mapping[str, Any] | None, runnables: Mapping[str, Any] | None
) -> dict[str, Any]:
    if (routes is None) == (runnables is None):
        raise RouterConfigError("give routes (or runnables=, as in langchain-core), not both")
    given = dict(routes if routes is not None else runnables or {})
    if not given:
        raise RouterConfigError("a router needs at least one route")
    if bad := [n for n in given if not (isinstance(n, str) and n)]:
        raise RouterConfigError(f"route names must be non-empty strings, got {bad!r}")
    return given


def _strategy(strategy: Any, make: ModelMaker) -> RoutingStrategy:
    if isinstance(strategy, RoutingStrategy):
        return strategy.with_models(lambda model: make(model, ()))
    if callable(strategy) and not isinstance(strategy, Runnable):
        return FunctionStrategy(strategy)
    raise RouterConfigError(
        f"a strategy must be a RoutingStrategy or a function of the input, got {strategy!r}"
    )
