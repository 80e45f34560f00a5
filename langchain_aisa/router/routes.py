"""Routes: what serves each route name, and how tools, schemas and pools reach its models.

A route is a primary Runnable and a fallback chain. Model ids become ``ChatAISA`` objects (one
with ``fallback_models`` when the whole chain is ids, so the core client falls back); anything
else is chained with ``with_fallbacks``. ``member_call`` applies ``bind_tools`` or
``with_structured_output`` to the model inside every member, through bindings and fallbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.load.serializable import Serializable
from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
    RunnableParallel,
    RunnableSequence,
    RunnableWithFallbacks,
)
from langchain_core.runnables.base import coerce_to_runnable
from pydantic import ConfigDict, Field

from aisa_core import ModelHealth

from .decision import InRouterNamespace, RouteDecision, RouteInfo
from .errors import RouteCapabilityError
from .live import HealthAware, model_figures

__all__ = ["ModelMaker", "Route", "chat_maker", "leaves", "member_call", "model_ids"]

ModelMaker = Callable[[str, Sequence[str]], Runnable[Any, Any]]
MemberFn = Callable[[Runnable[Any, Any]], Runnable[Any, Any]]

# Call options that bind_tools / with_structured_output replace rather than add to.
_TOOL_KWARGS = frozenset(
    {"tools", "tool_choice", "parallel_tool_calls", "strict", "response_format"}
    | {"ls_structured_output_format"}
)


def leaves(runnable: Any) -> Iterator[Any]:
    """Every Runnable inside ``runnable`` that is not a binding, fallback chain or composition."""
    if isinstance(runnable, RunnableBinding):
        yield from leaves(runnable.bound)
    elif isinstance(runnable, RunnableWithFallbacks):
        for inner in (runnable.runnable, *runnable.fallbacks):
            yield from leaves(inner)
    elif isinstance(runnable, RunnableSequence):
        for inner in runnable.steps:
            yield from leaves(inner)
    elif isinstance(runnable, RunnableParallel):
        for inner in runnable.steps__.values():
            yield from leaves(inner)
    else:
        yield runnable


def model_ids(runnable: Any) -> tuple[str, ...]:
    """The model ids a Runnable serves from, as far as they can be read: each chat model's
    ``model`` (or ``model_name``) and ``fallback_models``, through bindings, compositions and
    fallbacks."""
    ids: list[str] = []
    for leaf in leaves(runnable):
        for attr in ("model", "model_name"):
            if isinstance(model := getattr(leaf, attr, None), str) and model:
                fallbacks = getattr(leaf, "fallback_models", None) or ()
                ids += [model, *(f for f in fallbacks if isinstance(f, str))]
                break
    return tuple(dict.fromkeys(ids))


class Route(InRouterNamespace, Serializable):
    """One route: a model id, a ``ChatAISA`` or any Runnable, with its own fallback chain.

    A model id whose fallbacks are all model ids becomes one ``ChatAISA(model=...,
    fallback_models=[...])``, so the core client does the falling back (only before the first
    streamed token; every failure kept in one ``AllModelsFailedError``). Other fallbacks are
    chained with ``with_fallbacks``, in the order given, or, with ``order=HealthAware()``, cooling
    models last on every call. ``model`` names the model of a Runnable whose model cannot be
    read from it (for capability checks and prices); ``description`` is shown to the LLM
    classifier.

    >>> strong = Route("gpt-5", ["claude-sonnet-4-5-20250929"], description="hard problems")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    target: Runnable[Any, Any] | str
    fallbacks: list[Runnable[Any, Any] | str] = Field(default_factory=list)
    model: str | None = None
    description: str = ""
    order: HealthAware | None = None

    def __init__(
        self,
        target: Runnable[Any, Any] | str | Callable[[Any], Any],
        fallbacks: Sequence[Runnable[Any, Any] | str] = (),
        **kwargs: Any,
    ) -> None:
        if not isinstance(target, (str, Runnable)):
            target = coerce_to_runnable(target)
        super().__init__(target=target, fallbacks=list(fallbacks), **kwargs)

    def resolve(self, make: ModelMaker) -> Route:
        """This route with every model id turned into a model by ``make``."""
        target, fallbacks = self.target, self.fallbacks
        if isinstance(target, str) and all(isinstance(f, str) for f in fallbacks):
            return self._with(make(target, [str(f) for f in fallbacks]), [])
        if not isinstance(target, str) and all(isinstance(f, Runnable) for f in fallbacks):
            return self
        primary, *rest = (make(m, ()) if isinstance(m, str) else m for m in (target, *fallbacks))
        return self._with(primary, rest)

    def _with(self, target: Runnable[Any, Any], fallbacks: list[Runnable[Any, Any]]) -> Route:
        return Route(
            target, fallbacks, model=self.model, description=self.description, order=self.order
        )

    def with_health(self, health: ModelHealth | None) -> Route:
        """This route with ``health`` for its :class:`HealthAware` order, if it has one
        without its own."""
        if self.order is None or self.order.health is not None or health is None:
            return self
        return self.model_copy(update={"order": self.order.with_health(health)})

    def members(self) -> list[Runnable[Any, Any]]:
        """The primary and its fallbacks (once resolved, all Runnables)."""
        return [m for m in (self.target, *self.fallbacks) if isinstance(m, Runnable)]

    def build(self) -> Runnable[Any, Any]:
        """The Runnable that serves this route."""
        primary, *rest = self.members()
        if not rest:
            return primary
        return self.order.fallbacks(primary, rest) if self.order else primary.with_fallbacks(rest)

    def map(self, fn: MemberFn) -> Route:
        """This route with ``fn`` applied to the primary and to every fallback."""
        primary, *rest = self.members()
        return self._with(fn(primary), [fn(r) for r in rest])

    def info(self, name: str) -> RouteInfo:
        ids = [self.model] if self.model else []
        for member in self.members():
            ids.extend(model_ids(member))
        return RouteInfo(name, tuple(dict.fromkeys(ids)), self.description, self._max_tokens())

    def explained(self, decision: RouteDecision) -> RouteDecision:
        """``decision`` with this route's health order in its figures, when it has one."""
        if self.order is None or self.order.health is None:
            return decision
        models = [next(iter(model_ids(m)), None) for m in self.members()]
        order = [model_figures(self.order.health, models[i]) for i in self.order.arrange(models)]
        return replace(decision, figures={**decision.figures, "order": order})

    def _max_tokens(self) -> int | None:
        """The primary model's ``max_tokens``, where it can be read."""
        members = self.members()
        for leaf in leaves(members[0]) if members else ():
            value = getattr(leaf, "max_tokens", None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None


def chat_maker(chat_kwargs: Mapping[str, Any]) -> ModelMaker:
    def make(model: str, fallbacks: Sequence[str]) -> Runnable[Any, Any]:
        from langchain_aisa.chat_models import ChatAISA

        kwargs = dict(chat_kwargs)
        if fallbacks:
            kwargs["fallback_models"] = list(fallbacks)
        return ChatAISA(model=model, **kwargs)

    return make


def rebind(member: Runnable[Any, Any], apply: MemberFn) -> Runnable[Any, Any]:
    """``apply`` to the model inside ``member``, keeping its bound options (except the tool and
    output options ``apply`` replaces) and fallbacks."""
    if isinstance(member, RunnableWithFallbacks):
        return member.model_copy(
            update={
                "runnable": rebind(member.runnable, apply),
                "fallbacks": [rebind(f, apply) for f in member.fallbacks],
            }
        )
    if isinstance(member, RunnableBinding) and hasattr(member.bound, "bind_tools"):
        inner = rebind(member.bound, apply)
        kept = {k: v for k, v in member.kwargs.items() if k not in _TOOL_KWARGS}
        if not kept and not member.config and type(member) is RunnableBinding:
            return inner
        return member.model_copy(update={"bound": inner, "kwargs": kept})
    return apply(member)


def member_call(route: str, method: str, *args: Any, **kwargs: Any) -> MemberFn:
    def call(member: Runnable[Any, Any]) -> Runnable[Any, Any]:
        bound = getattr(member, method, None)
        failure = f"route {route!r} cannot {method}: {type(member).__name__}"
        if bound is None:
            raise RouteCapabilityError(f"{failure} has no {method}()")
        try:
            result: Runnable[Any, Any] = bound(*args, **kwargs)
        except NotImplementedError as e:
            raise RouteCapabilityError(f"{failure} does not implement {method}()") from e
        return result

    return lambda member: rebind(member, call)
