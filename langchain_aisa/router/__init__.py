"""RouterRunnable: one Runnable that sends each input to the right model, and says why.

>>> from langchain_aisa.router import CheapestFit, Route, RouterRunnable, Rule
>>> router = RouterRunnable(  # doctest: +SKIP
...     {
...         "fast": "gpt-4.1-mini",
...         "strong": Route("gpt-5", fallbacks=["claude-sonnet-4-5-20250929"]),
...         "vision": "gemini-2.5-flash",
...     },
...     [Rule("vision", has_images=True), Rule("strong", keywords=["prove", "refactor"])],
...     default="fast",
... )
>>> router.invoke("What is 2 + 2?").response_metadata["aisa_route"]  # doctest: +SKIP
'fast'

It is langchain-core's ``RouterRunnable`` (``{"key": ..., "input": ...}`` inputs behave exactly as
there, unknown keys included) that also routes inputs without a key: strategies are tried in
order, the first that names a route wins, else the default route. Routes are model ids (each
becomes a ``ChatAISA`` built with ``chat_kwargs``), ``ChatAISA`` objects or any Runnable, each
with an optional fallback chain. ``bind_tools`` and ``with_structured_output`` apply to every
route (fallbacks included) and return a router, so a router can be a LangGraph agent's model.

Every answer says which route was taken, why, and from which model (``aisa_route``,
``aisa_route_reason``, ``aisa_route_strategy``, ``aisa_route_model``): in the
``response_metadata`` of message outputs (on the first chunk of a stream), and in the tracing
metadata of the routed run and everything under it, tagged ``aisa_route:<name>``. The model
that actually answered (after any fallback) is ChatAISA's ``response_metadata["model_name"]``.
``explain(input)`` gives the decision without calling a model.

Like langchain-core's router, it adds no run of its own to traces: the routed Runnable's run is
the one the caller's ``run_id`` / ``run_name`` name (an LLM classifier's call is a sibling run
named ``aisa_router_classifier``). That keeps a routed call within a few microseconds of a
direct one.

The modules, each one concern:

- ``runnable``: :class:`RouterRunnable`, which decides, runs the route and reports the decision.
- ``routes``: :class:`Route` (a model and its fallback chain) and how tools, schemas and
  connection pools reach every model inside a route.
- ``strategies``: the pure strategies (:class:`Rule`, :class:`WeightedSplit`,
  :class:`FunctionStrategy`).
- ``pricing``: :class:`CheapestFit` (AIsa's prices, or the gateway's quotes) and the budget
  check behind ``on_exceed="cheapest"``.
- ``live``: strategies that read a shared ``ModelHealth``: :class:`LowestLatency` and the
  :class:`HealthAware` order of a route's fallbacks.
- ``signals``: how the router's ``aisa_health`` and ``aisa_budget`` reach its models.
- ``classifier``: :class:`LLMClassifier`, the one strategy that calls a model.
- ``decision``: :class:`RouteInfo`, :class:`RouteDecision` and :class:`RoutingStrategy`, the
  base every strategy implements.
- ``features``: what an input looks like (:class:`InputFeatures`, :class:`RouteRequest`).
- ``errors``: the error tree (drawn in its docstring).

Serialised router parts name this package (``["langchain_aisa", "router", <class>]``), whichever
module defines them, and ``load``/``loads(..., allowed_objects="all")`` revives them as it does
``ChatAISA`` once this package is imported (``allowed_objects=[RouterRunnable, Route, ...]``
works too). A ``FunctionStrategy``, or a ``WeightedSplit`` with a ``key_fn``, holds code and
does not serialise.
"""

from __future__ import annotations

from langchain_aisa._serialization import allow_load_all

from .classifier import LLMClassifier, parse_label
from .decision import RouteDecision, RouteInfo, RoutingStrategy
from .errors import (
    InvalidWeightsError,
    NoRouteError,
    RouteCapabilityError,
    RouterConfigError,
    RouterError,
    UnknownRouteError,
)
from .features import InputFeatures, RouteRequest, estimate_tokens, features_of
from .live import HealthAware, HealthOrderedFallbacks, LowestLatency
from .pricing import CheapestFit
from .routes import Route
from .runnable import RouterRunnable
from .strategies import FunctionStrategy, Rule, WeightedSplit

for _serialisable in (RouterRunnable, Route, Rule, CheapestFit, WeightedSplit, LLMClassifier):
    allow_load_all(_serialisable)

__all__ = [
    "CheapestFit",
    "FunctionStrategy",
    "HealthAware",
    "HealthOrderedFallbacks",
    "InputFeatures",
    "InvalidWeightsError",
    "LLMClassifier",
    "LowestLatency",
    "NoRouteError",
    "Route",
    "RouteCapabilityError",
    "RouteDecision",
    "RouteInfo",
    "RouteRequest",
    "RouterConfigError",
    "RouterError",
    "RouterRunnable",
    "RoutingStrategy",
    "Rule",
    "UnknownRouteError",
    "WeightedSplit",
    "estimate_tokens",
    "features_of",
    "parse_label",
]
