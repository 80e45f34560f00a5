"""The pure half of routing: what an input looks like, what a route can do, and why it was chosen.

Nothing here calls a model or does I/O. A strategy reads a :class:`RouteRequest` (the input, the
call's config and, computed once on first use, its :class:`InputFeatures`) and a table of
:class:`RouteInfo` (each route's model ids), and answers a :class:`RouteDecision` or ``None``
("not mine; ask the next strategy").

Errors::

    RouterError (AISAError)               base of everything the router raises on purpose
    ├── RouterConfigError (ConfigurationError, ValueError)   a configuration that cannot work
    │   ├── UnknownRouteError             a rule, split, classifier, default or key names no route
    │   ├── RouteCapabilityError          a route's model cannot do what its rule requires
    │   └── InvalidWeightsError           split weights negative, not finite, or not summing > 0
    └── NoRouteError (ValueError)         at call time: no strategy matched and there is no default
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.load.serializable import Serializable
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict

from aisa_core import capabilities
from aisa_core.errors import AISAError, ConfigurationError
from aisa_core.types import ModelInfo

__all__ = [
    "LC_NAMESPACE",
    "InputFeatures",
    "InvalidWeightsError",
    "NoRouteError",
    "RouteCapabilityError",
    "RouteDecision",
    "RouteInfo",
    "RouteRequest",
    "RouterConfigError",
    "RouterError",
    "RoutingStrategy",
    "UnknownRouteError",
    "estimate_tokens",
    "features_of",
    "unknown_route",
]

LC_NAMESPACE = ["langchain_aisa", "router"]
"""Where serialised router parts say they live (``langchain_aisa.router`` re-exports them all)."""

_IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
_USER_ROLES = frozenset({"human", "user"})


# -- errors ----------------------------------------------------------------------------------


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


# -- what an input looks like ----------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """About four UTF-8 bytes per token: exact enough to rank and size, and needs no tokenizer.

    Counting bytes rather than characters keeps CJK text (three bytes a character, roughly one
    token) from being underestimated fourfold.
    """
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return (size + 3) // 4


class InputFeatures:
    """The facts rules and the cost strategy look at, computed in one pass over the input.

    ``text`` is every message's text; ``last_text`` the last user message's (the request itself).
    Token counts are estimates (:func:`estimate_tokens`) of the text alone.
    """

    __slots__ = (
        "_lower",
        "_lower_last",
        "_tokens",
        "images",
        "last_text",
        "messages",
        "needs_structured_output",
        "needs_tools",
        "text",
    )

    def __init__(
        self,
        text: str,
        last_text: str,
        *,
        images: int = 0,
        messages: int = 1,
        needs_tools: bool = False,
        needs_structured_output: bool = False,
    ) -> None:
        self.text = text
        self.last_text = last_text
        self.images = images
        self.messages = messages
        self.needs_tools = needs_tools
        self.needs_structured_output = needs_structured_output
        self._tokens: int | None = None
        self._lower: str | None = None
        self._lower_last: str | None = None

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def tokens(self) -> int:
        if self._tokens is None:
            self._tokens = estimate_tokens(self.text)
        return self._tokens

    def lower(self, *, last: bool) -> str:
        """The text (or the last user text) lower-cased, computed once however many rules ask."""
        if last:
            if self._lower_last is None:
                self._lower_last = self.last_text.lower()
            return self._lower_last
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    def __repr__(self) -> str:
        return (
            f"InputFeatures(chars={self.chars}, tokens~{self.tokens}, images={self.images}, "
            f"messages={self.messages}, needs_tools={self.needs_tools}, "
            f"needs_structured_output={self.needs_structured_output})"
        )


def features_of(
    value: Any, *, needs_tools: bool = False, needs_structured_output: bool = False
) -> InputFeatures:
    """Features of anything a chat model accepts (a string, messages, a prompt value, tuples or
    role/content dicts) or of a dict input to a chain (its string values, or its ``messages``)."""
    texts: list[str] = []
    last_text = ""
    images = count = 0
    for role, content in _messages_of(value):
        count += 1
        text, found = _content_text(content)
        images += found
        if text:
            texts.append(text)
        if role in _USER_ROLES:
            last_text = text
    text = texts[0] if len(texts) == 1 else "\n".join(texts)
    return InputFeatures(
        text,
        last_text,
        images=images,
        messages=count,
        needs_tools=needs_tools,
        needs_structured_output=needs_structured_output,
    )


def _messages_of(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, str):
        return [("human", value)]
    if isinstance(value, BaseMessage):
        return [(value.type, value.content)]
    if isinstance(value, PromptValue):
        return ((m.type, m.content) for m in value.to_messages())
    if isinstance(value, Mapping):
        if "messages" in value:
            return _messages_of(value["messages"])
        if "role" in value and "content" in value:
            return [_message_like(value)]
        strings = [v for v in value.values() if isinstance(v, str)]
        return [("human", "\n".join(strings))]
    if isinstance(value, Sequence):
        return (_message_like(m) for m in value)
    return [("human", str(value))]


def _message_like(item: Any) -> tuple[str, Any]:
    if isinstance(item, BaseMessage):
        return item.type, item.content
    if isinstance(item, str):
        return "human", item
    if isinstance(item, Mapping):
        return str(item.get("role", item.get("type", "human"))), item.get("content", "")
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return str(item[0]), item[1]
    return "human", str(item)


def _content_text(content: Any) -> tuple[str, int]:
    """(text, number of images) of a message's content: a string or a list of parts."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, Sequence):
        return "", 0
    texts: list[str] = []
    images = 0
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in _IMAGE_PART_TYPES or (kind is None and "image_url" in part):
                images += 1
    return "\n".join(texts), images


class RouteRequest:
    """One input being routed: the value, the call's config and its features (on first use)."""

    __slots__ = ("_features", "config", "input", "needs_structured_output", "needs_tools")

    def __init__(
        self,
        value: Any,
        config: RunnableConfig | None = None,
        *,
        needs_tools: bool = False,
        needs_structured_output: bool = False,
    ) -> None:
        self.input = value
        self.config: RunnableConfig = config if config is not None else {}
        self.needs_tools = needs_tools
        self.needs_structured_output = needs_structured_output
        self._features: InputFeatures | None = None

    @property
    def features(self) -> InputFeatures:
        if self._features is None:
            self._features = features_of(
                self.input,
                needs_tools=self.needs_tools,
                needs_structured_output=self.needs_structured_output,
            )
        return self._features


# -- routes and decisions --------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    """What the router knows of one route: the model ids it may serve from (primary first, then
    its fallbacks, where they can be named) and a description (shown to the LLM classifier)."""

    name: str
    models: tuple[str, ...] = ()
    description: str = ""

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
class RouteDecision:
    """Which route, why (for people), by which strategy, and the route's primary model.

    ``route`` is ``None`` only in :meth:`RouterRunnable.explain` answers for a strategy that would
    need a model call to decide (the LLM classifier on an input it has not seen).
    """

    route: str | None
    reason: str
    strategy: str
    model: str | None = None

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


class RoutingStrategy(Serializable):
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

    def __init__(self, **kwargs: Any) -> None:  # typed for subclasses' super().__init__(...)
        super().__init__(**kwargs)

    def with_models(self, make: Callable[[str], Runnable[Any, Any]]) -> RoutingStrategy:
        """This strategy with any model id it holds built into a model by ``make`` (the router
        passes its ``ChatAISA`` factory). Most strategies hold none."""
        return self

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

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return LC_NAMESPACE

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
