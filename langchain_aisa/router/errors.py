"""The router's errors: everything it raises on purpose.

::

    RouterError (AISAError)               base of everything the router raises on purpose
    ├── RouterConfigError (ConfigurationError, ValueError)   a configuration that cannot work
    │   ├── UnknownRouteError             a rule, split, classifier, default or key names no route
    │   ├── RouteCapabilityError          a route's model cannot do what its rule requires
    │   └── InvalidWeightsError           split weights negative, not finite, or not summing > 0
    └── NoRouteError (ValueError)         at call time: no strategy matched and there is no default
"""

from __future__ import annotations

from collections.abc import Iterable

from aisa_core.errors import AISAError, ConfigurationError

__all__ = [
    "InvalidWeightsError",
    "NoRouteError",
    "RouteCapabilityError",
    "RouterConfigError",
    "RouterError",
    "UnknownRouteError",
    "unknown_route",
]


class RouterError(AISAError):
    """Base class of the router's own errors."""


class RouterConfigError(RouterError, ConfigurationError):
    """A router configuration that cannot work; raised when the router (or a strategy) is built."""


class UnknownRouteError(RouterConfigError):
    """A route name that does not exist (also raised for an unknown ``{"key": ...}`` at call time,
    with langchain-core's ``RouterRunnable`` message)."""


class RouteCapabilityError(RouterConfigError):
    """A route whose model cannot do what a rule (or a bound tool / schema) requires of it."""


class InvalidWeightsError(RouterConfigError):
    """Split weights that are negative, not finite, or do not sum to a positive number."""


class NoRouteError(RouterError, ValueError):
    """No strategy matched the input and the router has no default route."""


def unknown_route(name: object, where: str, routes: Iterable[str]) -> UnknownRouteError:
    known = ", ".join(repr(r) for r in routes) or "none"
    return UnknownRouteError(f"{where}: there is no route named {name!r} (routes: {known})")
