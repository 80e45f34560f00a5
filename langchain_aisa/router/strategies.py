"""The pure routing strategies: declarative rules, a weighted split, a function (and, defined
with the cost logic in ``pricing``, cheapest fit).

Each is a small serialisable model (a function strategy excepted) whose ``decide`` reads the
request's features and returns a :class:`RouteDecision` or ``None``. Everything that can be
checked without an input is checked when the strategy or the router is built.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from langchain_core.load.serializable import SerializedNotImplemented
from langchain_core.runnables import RunnableConfig
from pydantic import Field

from aisa_core.types import ModelInfo

from .decision import RouteDecision, RouteInfo, RoutingStrategy
from .errors import InvalidWeightsError, RouteCapabilityError, RouterConfigError, unknown_route
from .features import InputFeatures, RouteRequest
from .pricing import CheapestFit  # defined with the other cost logic; exported from here too

__all__ = ["CheapestFit", "FunctionStrategy", "Rule", "WeightedSplit"]


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _bounds(what: str, value: int, low: int | None, high: int | None) -> str | None:
    if low is None and high is None:
        return None
    limits = " and ".join(
        f"{op} {bound}" for op, bound in (("≥", low), ("≤", high)) if bound is not None
    )
    return f"{value} {what} ({limits})"


class Rule(RoutingStrategy):
    """Send the input to ``route`` when every condition given holds.

    Conditions: ``keywords`` (any of them, as substrings) or ``patterns`` (any regular expression,
    searched) in the last user message (``scope="all"``: in every message); size bounds in
    characters, estimated tokens or messages (the conversation length); ``has_images``;
    ``needs_tools`` / ``needs_structured_output`` (true when tools or a schema are bound to the
    router or passed to the call). When the router is built, a rule that requires images, tools,
    structured output or a large context is checked against its route's models.

    >>> vision = Rule("vision", has_images=True)
    >>> code = Rule("code", keywords=["python", "traceback"], patterns=[r"\\bdef \\w+\\("])
    >>> long = Rule("long", min_tokens=50_000)
    """

    kind: ClassVar[str] = "rule"

    route: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    min_chars: int | None = None
    max_chars: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    min_messages: int | None = None
    max_messages: int | None = None
    has_images: bool | None = None
    needs_tools: bool | None = None
    needs_structured_output: bool | None = None
    scope: Literal["last", "all"] = "last"
    case_sensitive: bool = False
    name: str | None = None

    def __init__(self, route: str, **kwargs: Any) -> None:
        for field in ("keywords", "patterns"):
            if isinstance(kwargs.get(field), str):
                kwargs[field] = (kwargs[field],)
        super().__init__(route=route, **kwargs)
        self._check_own()
        _ = self.prepared

    def prepare(self) -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
        """(keywords, compiled patterns), lower-cased / case-insensitive unless case_sensitive."""
        flags = 0 if self.case_sensitive else re.IGNORECASE
        try:
            patterns = tuple(re.compile(p, flags) for p in self.patterns)
        except re.error as e:
            raise RouterConfigError(f"{self.label}: bad pattern {e.pattern!r}: {e}") from e
        if self.case_sensitive:
            return self.keywords, patterns
        return tuple(k.lower() for k in self.keywords), patterns

    @property
    def label(self) -> str:
        return f"rule {self.name!r}" if self.name else f"rule for {self.route!r}"

    def _check_own(self) -> None:
        flags = (self.has_images, self.needs_tools, self.needs_structured_output)
        bounds = {
            "chars": (self.min_chars, self.max_chars),
            "tokens": (self.min_tokens, self.max_tokens),
            "messages": (self.min_messages, self.max_messages),
        }
        has_bound = any(b is not None for pair in bounds.values() for b in pair)
        if not (self.keywords or self.patterns or has_bound or any(f is not None for f in flags)):
            raise RouterConfigError(
                f"{self.label} has no condition; use the router's default= for a catch-all"
            )
        if any(not k for k in self.keywords):
            raise RouterConfigError(f"{self.label}: keywords must be non-empty strings")
        for what, (low, high) in bounds.items():
            if any(b is not None and b < 0 for b in (low, high)):
                raise RouterConfigError(f"{self.label}: {what} bounds must be >= 0")
            if low is not None and high is not None and low > high:
                raise RouterConfigError(f"{self.label}: min_{what}={low} > max_{what}={high}")

    def route_names(self) -> tuple[str, ...]:
        return (self.route,)

    def check(self, routes: Mapping[str, RouteInfo]) -> None:
        if self.route not in routes:
            raise unknown_route(self.route, self.label, routes)
        info = routes[self.route]
        needs: list[tuple[str, Callable[[ModelInfo], bool]]] = []
        if self.has_images:
            needs.append(("read images", lambda i: i.vision))
        if self.needs_tools:
            needs.append(("call tools", lambda i: i.tools))
        if self.needs_structured_output:
            needs.append(("give structured output", lambda i: i.json_schema or i.tools))
        if self.min_tokens:
            low = self.min_tokens
            needs.append((f"take {low} tokens", lambda i: i.context_window >= low))
        for need, test in needs:
            if lacking := info.lacking(test):
                raise RouteCapabilityError(
                    f"{self.label} sends inputs that need a model able to {need}, but route "
                    f"{self.route!r} serves from {', '.join(lacking)}, which cannot; choose "
                    "another model, or correct its row with aisa_core.capabilities.register"
                )

    def _term(self, f: InputFeatures) -> str | None:
        """The keyword or pattern that matched, quoted; ``""`` when the rule has neither."""
        keywords, patterns = self.prepared
        if not (keywords or patterns):
            return ""
        last = self.scope == "last"
        raw = f.last_text if last else f.text
        text = raw if self.case_sensitive else f.lower(last=last)
        for keyword in keywords:
            if keyword in text:
                return f"keyword {keyword!r}"
        for pattern in patterns:
            if pattern.search(raw):
                return f"pattern {pattern.pattern!r}"
        return None

    def _flags_hold(self, f: InputFeatures) -> bool:
        return (
            (self.has_images is None or bool(f.images) == self.has_images)
            and (self.needs_tools is None or f.needs_tools == self.needs_tools)
            and (
                self.needs_structured_output is None
                or f.needs_structured_output == self.needs_structured_output
            )
        )

    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        f = request.features
        if not (
            self._flags_hold(f)
            and _within(f.messages, self.min_messages, self.max_messages)
            and _within(f.chars, self.min_chars, self.max_chars)
            and (
                (self.min_tokens is None and self.max_tokens is None)
                or _within(f.tokens, self.min_tokens, self.max_tokens)
            )
        ):
            return None
        term = self._term(f)
        if term is None:
            return None
        return RouteDecision(self.route, f"{self.label}: {self._why(f, term)}", self.kind)

    def _why(self, f: InputFeatures, term: str) -> str:
        parts = [
            term,
            _bounds("messages", f.messages, self.min_messages, self.max_messages),
            _bounds("chars", f.chars, self.min_chars, self.max_chars),
            _bounds("tokens (estimated)", f.tokens, self.min_tokens, self.max_tokens),
        ]
        for flag, yes, no in (
            (self.has_images, f"{f.images} image(s)", "no images"),
            (self.needs_tools, "tools needed", "no tools needed"),
            (self.needs_structured_output, "structured output needed", "no structured output"),
        ):
            if flag is not None:
                parts.append(yes if flag else no)
        return "; ".join(p for p in parts if p)


class WeightedSplit(RoutingStrategy):
    """A weighted A/B split: reproducible, and sticky per user or session.

    The arm is a hash of (``experiment``, ``seed``, key) mapped onto the weights, so the same key
    always gets the same arm, and another seed reshuffles. The key is ``key_fn(input, config)``
    when given, else the first of ``sticky_on`` found in ``config["configurable"]`` or
    ``config["metadata"]`` (``user_id``, ``session_id``, LangGraph's ``thread_id``), else the
    input's text. Weights need not sum to 1, only to a positive number.

    >>> split = WeightedSplit({"gpt": 0.9, "claude": 0.1}, seed=7)
    """

    kind: ClassVar[str] = "split"

    weights: dict[str, float]
    seed: int | str = 0
    experiment: str = "ab"
    sticky_on: tuple[str, ...] = ("user_id", "session_id", "thread_id")
    key_fn: Callable[[Any, RunnableConfig], object] | None = Field(default=None, exclude=True)

    def __init__(self, weights: Mapping[str, float], **kwargs: Any) -> None:
        super().__init__(weights=dict(weights), **kwargs)
        _ = self.prepared

    def prepare(self) -> tuple[float, tuple[tuple[float, str], ...]]:
        """(total weight, (cumulative weight, route) per arm)."""
        total = 0.0
        arms = []
        for name, weight in self.weights.items():
            if not (math.isfinite(weight) and weight >= 0):
                raise InvalidWeightsError(f"split weight of {name!r} is {weight}; need >= 0")
            total += weight
            arms.append((total, name))
        if not total > 0:
            raise InvalidWeightsError(f"split weights {self.weights} must sum to a positive number")
        return total, tuple(arms)

    def route_names(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def to_json(self) -> Any:
        if self.key_fn is not None:
            not_implemented: SerializedNotImplemented = self.to_json_not_implemented()
            return not_implemented
        return super().to_json()

    def _key(self, request: RouteRequest) -> tuple[str, str]:
        if self.key_fn is not None:
            key = self.key_fn(request.input, request.config)
            if key is not None:
                return "key_fn", str(key)
        for section in ("configurable", "metadata"):
            values: Mapping[str, Any] = request.config.get(section) or {}  # type: ignore[assignment]
            for name in self.sticky_on:
                if values.get(name) is not None:
                    return f"{section}.{name}", str(values[name])
        return "the input text", request.features.text

    def bucket(self, key: str) -> float:
        """Where ``key`` falls in [0, 1): the same for the same experiment, seed and key."""
        data = f"{self.experiment}\x00{self.seed}\x00{key}".encode()
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") / 2**64

    def decide(self, request: RouteRequest, routes: Mapping[str, RouteInfo]) -> RouteDecision:
        source, key = self._key(request)
        total, arms = self.prepared
        target = self.bucket(key) * total
        route = next(name for bound, name in arms if target < bound)
        split = " / ".join(f"{n} {w / total:.0%}" for n, w in self.weights.items())
        return RouteDecision(
            route,
            f"split {self.experiment!r} ({split}, seed {self.seed}) keyed on {source}",
            self.kind,
        )


class FunctionStrategy(RoutingStrategy):
    """A plain function of the input: it returns a route name, ``(route, reason)``, or ``None``
    to pass. Plain callables in a router's ``strategies`` are wrapped in this. Not serialisable.
    """

    kind: ClassVar[str] = "function"

    func: Callable[[Any], Any]
    name: str = ""

    def __init__(self, func: Callable[[Any], Any], **kwargs: Any) -> None:
        kwargs.setdefault("name", getattr(func, "__name__", type(func).__name__))
        super().__init__(func=func, **kwargs)

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return False

    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        result = self.func(request.input)
        if not result:
            return None
        route, reason = (result, None) if isinstance(result, str) else result
        if route not in routes:
            raise unknown_route(route, f"function {self.name!r} returned it", routes)
        return RouteDecision(route, reason or f"function {self.name!r}", self.kind)
