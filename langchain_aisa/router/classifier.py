"""The one strategy that calls a model: a cheap LLM labels the input with a route name.

Labels are bounded (route names only), the answer is parsed tolerantly (quotes, markdown,
"Label: x", a sentence naming exactly one label), repeated inputs are answered from a bounded
cache, and an unusable answer or a failed call goes to ``fallback`` (or to the next strategy).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import Field, PrivateAttr

from .decision import RouteDecision, RouteInfo, RoutingStrategy
from .errors import RouterConfigError, unknown_route
from .features import RouteRequest, _content_text

__all__ = ["LLMClassifier", "parse_label"]

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = (
    "You route requests to the right model. Read the user's request and choose the one label "
    "below that fits it best."
)
# The classifier's own run: named for traces, and hidden from LangGraph's message streams.
CLASSIFIER_RUN_NAME = "aisa_router_classifier"
_CLASSIFIER_TAGS = (CLASSIFIER_RUN_NAME, "nostream")
_TRIM = " \t\r\n`'\"*_.:;!()[]{}<>"


def parse_label(reply: str, labels: Sequence[str]) -> str | None:
    """The label a classifier's reply names, or ``None`` when it names none or several.

    Case and surrounding punctuation are ignored; ``"Label: code"``, ``"**code**"`` and ``"I'd
    say code."`` all give ``"code"``. A label counts inside a sentence only as a whole word
    (``"code"`` is not found in ``"code-review"``).
    """
    by_lower = {label.lower(): label for label in labels}
    text = reply.strip().lower()
    bare = text.strip(_TRIM)
    if bare.startswith("label"):
        bare = bare[len("label") :].strip(_TRIM)
    if bare in by_lower:
        return by_lower[bare]
    found = [
        label
        for low, label in by_lower.items()
        if re.search(rf"(?<![\w-]){re.escape(low)}(?![\w-])", text)
    ]
    return found[0] if len(found) == 1 else None


def _reply_text(reply: Any) -> str:
    if isinstance(reply, BaseMessage):
        return _content_text(reply.content)[0]
    return reply if isinstance(reply, str) else str(reply)


class LLMClassifier(RoutingStrategy):
    """A cheap model picks the route: it sees the last user message (up to ``max_chars``) and
    the labels, and answers one label.

    ``model`` is any Runnable (typically a small ``ChatAISA``) or a model id, built by the router
    with its ``chat_kwargs``. ``labels`` maps route names to short descriptions (a list of names
    works too); by default every route, described by its ``Route.description``. ``fallback`` is the
    route for an unusable answer or a failed call; without one, the next strategy decides.
    Answers are cached per input text (``cache_size`` entries, 0 turns the cache off).

    >>> classifier = LLMClassifier(
    ...     "gpt-4.1-nano", {"code": "programming", "chat": "anything else"}, fallback="chat"
    ... )
    """

    kind: ClassVar[str] = "classifier"

    model: Runnable[Any, Any] | str
    labels: dict[str, str] = Field(default_factory=dict)
    fallback: str | None = None
    instructions: str = DEFAULT_INSTRUCTIONS
    max_chars: int = 2000
    cache_size: int = 1024

    _cache: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        model: Runnable[Any, Any] | str,
        labels: Mapping[str, str] | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if labels is not None and not isinstance(labels, Mapping):
            labels = dict.fromkeys(labels, "")
        super().__init__(model=model, labels=dict(labels or {}), **kwargs)
        if self.max_chars < 1 or self.cache_size < 0:
            raise RouterConfigError("LLMClassifier: max_chars must be >= 1 and cache_size >= 0")

    def route_names(self) -> tuple[str, ...]:
        return (*self.labels, *((self.fallback,) if self.fallback else ()))

    def check(self, routes: Mapping[str, RouteInfo]) -> None:
        for name in self.route_names():
            if name not in routes:
                raise unknown_route(name, "LLMClassifier", routes)

    def with_models(self, make: Callable[[str], Runnable[Any, Any]]) -> LLMClassifier:
        """This classifier with a model id replaced by the model ``make`` builds for it."""
        if isinstance(self.model, str):
            return self.model_copy(update={"model": make(self.model)})
        return self

    # -- the pure parts ------------------------------------------------------------------------

    def _options(self, routes: Mapping[str, RouteInfo]) -> dict[str, str]:
        return self.labels or {name: info.description for name, info in routes.items()}

    def _text(self, request: RouteRequest) -> str:
        f = request.features
        return (f.last_text or f.text)[: self.max_chars]

    def prompt(self, text: str, options: Mapping[str, str]) -> list[BaseMessage]:
        """The messages sent to the classifier model."""
        lines = "\n".join(f"- {n}: {d}" if d else f"- {n}" for n, d in options.items())
        return [
            SystemMessage(
                f"{self.instructions}\n\nLabels:\n{lines}\n\n"
                "Answer with exactly one label and nothing else."
            ),
            HumanMessage(text),
        ]

    def _runnable(self) -> Runnable[Any, Any]:
        if isinstance(self.model, str):
            raise RouterConfigError(
                f"LLMClassifier: model {self.model!r} is an id; use it inside a RouterRunnable "
                "(which builds the model) or pass a Runnable"
            )
        return self.model

    @staticmethod
    def _config(config: RunnableConfig) -> RunnableConfig:
        child: dict[str, Any] = {k: v for k, v in config.items() if k not in ("run_id", "run_name")}
        child["run_name"] = CLASSIFIER_RUN_NAME
        child["tags"] = [*config.get("tags", ()), *_CLASSIFIER_TAGS]
        return child  # type: ignore[return-value]

    def _cached(self, text: str) -> RouteDecision | None:
        label = self._cache.get(text)
        if label is None:
            return None
        return RouteDecision(label, f"classifier labelled it {label!r} (cached)", self.kind)

    def _answer(self, text: str, reply: Any, options: Mapping[str, str]) -> RouteDecision | None:
        said = _reply_text(reply)
        label = parse_label(said, list(options))
        if label is None:
            return self._unusable(f"classifier answered {said[:40]!r}, not one label")
        if self.cache_size:
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache), ""), None)
            self._cache[text] = label
        return RouteDecision(label, f"classifier labelled it {label!r}", self.kind)

    def _unusable(self, why: str) -> RouteDecision | None:
        if self.fallback is None:
            return None
        return RouteDecision(self.fallback, f"{why}; fallback route", self.kind)

    def _failed(self, error: Exception) -> RouteDecision | None:
        logger.warning("router classifier failed: %s", error)
        return self._unusable(f"classifier failed ({type(error).__name__})")

    # -- the decisions -------------------------------------------------------------------------

    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        text = self._text(request)
        if (hit := self._cached(text)) is not None:
            return hit
        model, options = self._runnable(), self._options(routes)
        try:
            reply = model.invoke(self.prompt(text, options), self._config(request.config))
        except Exception as error:
            return self._failed(error)
        return self._answer(text, reply, options)

    async def adecide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        text = self._text(request)
        if (hit := self._cached(text)) is not None:
            return hit
        model, options = self._runnable(), self._options(routes)
        try:
            reply = await model.ainvoke(self.prompt(text, options), self._config(request.config))
        except Exception as error:
            return self._failed(error)
        return self._answer(text, reply, options)

    def explain(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        hit = self._cached(self._text(request))
        if hit is not None:
            return hit
        return RouteDecision(
            None,
            "the LLM classifier would label this input (explain calls no model); labels: "
            + ", ".join(self._options(routes)),
            self.kind,
        )
