"""Money in routing decisions: whether a model can take an input, what a route would cost (AIsa's
prices from the capability table, or the gateway's own quote), :class:`CheapestFit`, and the
budget check that moves a call to the cheapest route that still fits a shared
``aisa_core.Budget``.

Estimates are pure; only :func:`ask_quotes` / :func:`aask_quotes` send requests (the gateway's
``X-AISA-Cost-Mode: quote``, which validates a request and prices it without running it).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from langchain_core.runnables import Runnable
from pydantic import Field

from aisa_core import AISAError, AttemptInfo, Budget, CostQuote
from aisa_core.types import ModelInfo

from .decision import RouteDecision, RouteInfo, RoutingStrategy
from .errors import RouterConfigError
from .features import InputFeatures, RouteRequest

__all__ = [
    "CheapestFit",
    "aask_quotes",
    "ask_quotes",
    "fits_input",
    "prompt_estimate",
    "within_budget",
]

_QUOTER_MODEL = "gpt-4.1-mini"  # the quoting client's default; every quote names its model

Quotes = dict[str, "float | str"]
"""Per model: the quoted cost in USD, or why there is none."""


def fits_input(info: ModelInfo, f: InputFeatures, output_tokens: int) -> bool:
    """Whether a model can take this input: context window, images, tools, structured output."""
    return (
        f.tokens + output_tokens <= info.context_window
        and (info.vision or not f.images)
        and (info.tools or not f.needs_tools)
        and (info.json_schema or info.tools or not f.needs_structured_output)
    )


def prompt_estimate(f: InputFeatures) -> int:
    """Prompt tokens as the core counts them for a budget: the text, plus what each message's
    JSON wrapping adds (the core estimates from the whole request body)."""
    return f.tokens + 8 * f.messages + 8


# --- the gateway's quotes ----------------------------------------------------------------------


def _wire(quoter: Any, value: Any) -> list[dict[str, Any]] | None:
    """The input as the wire messages the quoted request would carry (``None``: not a chat
    input)."""
    from langchain_aisa._convert import _convert_messages

    try:
        messages = quoter._convert_input(value).to_messages()
    except (ValueError, TypeError, NotImplementedError):
        return None
    return _convert_messages(messages)


def _usd(quote: CostQuote) -> float | str:
    micros = quote.estimated_cost_micros_usd
    if micros is None:
        micros = quote.max_cost_micros_usd
    return "no figure in the quote" if micros is None else micros / 1_000_000


def _failed(error: AISAError) -> str:
    return f"quote failed ({type(error).__name__}: {error.message})"


def ask_quotes(quoter: Any, value: Any, models: Sequence[str], output_tokens: int) -> Quotes:
    """The gateway's quote for ``value`` on each of ``models``, through ``quoter`` (a
    ``ChatAISA``: its key, base URL and headers), one after another."""
    wire = _wire(quoter, value)
    if wire is None:
        return dict.fromkeys(models, "the input is not a chat input")
    client = quoter._core()
    quotes: Quotes = {}
    for model in models:
        try:
            quotes[model] = _usd(client.quote(wire, model=model, max_tokens=output_tokens))
        except AISAError as error:
            quotes[model] = _failed(error)
    return quotes


async def aask_quotes(quoter: Any, value: Any, models: Sequence[str], output_tokens: int) -> Quotes:
    """:func:`ask_quotes`, the quotes asked for at the same time."""
    wire = _wire(quoter, value)
    if wire is None:
        return dict.fromkeys(models, "the input is not a chat input")
    client = quoter._acore()

    async def one(model: str) -> float | str:
        try:
            return _usd(await client.quote(wire, model=model, max_tokens=output_tokens))
        except AISAError as error:
            return _failed(error)

    answers = await asyncio.gather(*(one(m) for m in models))
    return dict(zip(models, answers, strict=True))


# --- the budget ----------------------------------------------------------------------------


def _estimate(budget: Budget, info: RouteInfo, prompt: int) -> float | None:
    if info.model is None:
        return None
    attempt = AttemptInfo(
        "chat", info.model, prompt_tokens=prompt, max_output_tokens=info.max_tokens
    )
    return budget.estimate(attempt)


def within_budget(
    decision: RouteDecision,
    request: RouteRequest,
    routes: Mapping[str, RouteInfo],
    budget: Budget,
) -> RouteDecision:
    """``decision``, or, when its route's worst-case cost would not fit what is left of
    ``budget``, the cheapest route whose cost fits and whose model can take the input. When
    none fits (or the chosen route's cost is unknown), ``decision`` stands and the core raises
    ``BudgetExceededError`` before sending, if the call indeed does not fit."""
    chosen = routes.get(decision.route or "")
    prompt = prompt_estimate(request.features)
    cost = None if chosen is None else _estimate(budget, chosen, prompt)
    if cost is None or budget.fits(cost):
        return decision
    options = []
    for name, info in routes.items():
        other = _estimate(budget, info, prompt)
        output = info.max_tokens or budget.default_output_tokens
        fits = fits_input(info.capabilities, request.features, output)
        if other is not None and fits and budget.fits(other):
            options.append((other, name))
    if not options:
        return decision
    best, name = min(options)
    left = budget.remaining()
    figures = {
        **decision.figures,
        "budget": {"usd": budget.usd, "per": budget.per, "remaining_usd": left},
        "estimates_usd": {decision.route: cost, name: best},
    }
    reason = (
        f"{decision.reason}; but route {decision.route!r} (up to ${cost:.6f}) would not fit the "
        f"budget (${left:.6f} of ${budget.usd:g} per {budget.per} left): cheapest route that "
        f"fits is {name!r} (up to ${best:.6f})"
    )
    return replace(
        decision, route=name, reason=reason, strategy="budget", model=None, figures=figures
    )


# --- the strategy ------------------------------------------------------------------------


class CheapestFit(RoutingStrategy):
    """The cheapest of ``candidates`` (default: every route) whose primary model fits the input.

    A model fits when the estimated input tokens plus ``output_tokens`` fit its context window,
    and it can read the images, call the tools or give the structured output the input needs.
    Cost is estimated from ``prices`` (USD per million input and output tokens, keyed by route
    name or model id), else from the capability table (AIsa's own prices). Routes with no
    price are not candidates; when nothing fits, the next strategy decides.

    ``quote=True`` asks the gateway what the call would cost (``X-AISA-Cost-Mode: quote``: it
    prices the request without running it) on each of the ``quote_top`` cheapest candidates
    and picks the lowest quote: a request each, before every routed call. A quote that fails
    leaves that candidate out; when all fail, the table's pick stands. Inside a router the
    quotes go through a ``ChatAISA`` built with the router's ``chat_kwargs`` (``quoter``).

    >>> cheapest = CheapestFit(["mini", "strong", "vision"], prices={"my-finetune": (0.2, 0.8)})
    """

    kind: ClassVar[str] = "cost"

    candidates: tuple[str, ...] = ()
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    output_tokens: int = 500
    quote: bool = False
    quote_top: int = 3
    quoter: Any = Field(default=None, exclude=True)

    def __init__(self, candidates: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(candidates=tuple(candidates), **kwargs)
        for key, pair in self.prices.items():
            if not all(math.isfinite(p) and p >= 0 for p in pair):
                raise RouterConfigError(f"CheapestFit: price of {key!r} must be finite and >= 0")
        if self.output_tokens < 0:
            raise RouterConfigError("CheapestFit: output_tokens must be >= 0")
        if self.quote_top < 1:
            raise RouterConfigError("CheapestFit: quote_top must be >= 1")

    def route_names(self) -> tuple[str, ...]:
        return self.candidates

    def with_models(self, make: Callable[[str], Runnable[Any, Any]]) -> RoutingStrategy:
        if not self.quote or self.quoter is not None:
            return self
        return self.model_copy(update={"quoter": make(_QUOTER_MODEL)})

    def check(self, routes: Mapping[str, RouteInfo]) -> None:
        super().check(routes)
        names = self.candidates or tuple(routes)
        if not any(self._price(routes[n]) for n in names):
            raise RouterConfigError(
                f"CheapestFit: none of the routes {', '.join(map(repr, names))} has a known "
                "price; pass prices={route or model: (input, output)} (USD per 1M tokens)"
            )
        if self.quote and self.quoter is None:
            raise RouterConfigError("CheapestFit(quote=True) needs a quoter: use it in a router")

    def _price(self, info: RouteInfo) -> tuple[float, float] | None:
        given = self.prices.get(info.name) or (self.prices.get(info.model) if info.model else None)
        if given is not None:
            return given
        caps = info.capabilities
        if caps.input_price is None or caps.output_price is None:
            return None
        return caps.input_price, caps.output_price

    def _ranked(
        self, f: InputFeatures, routes: Mapping[str, RouteInfo]
    ) -> tuple[list[tuple[float, str]], dict[str, dict[str, Any]]]:
        """Fitting candidates by estimated cost, cheapest first, and what each was judged on."""
        ranked, figures = [], {}
        for name in self.candidates or tuple(routes):
            info = routes[name]
            price = self._price(info)
            fits = fits_input(info.capabilities, f, self.output_tokens)
            row: dict[str, Any] = {"model": info.model, "fits": fits}
            if price is not None:
                cost = (f.tokens * price[0] + self.output_tokens * price[1]) / 1e6
                row |= {"input_price": price[0], "output_price": price[1], "estimate_usd": cost}
                if fits:
                    ranked.append((cost, name))
            figures[name] = row
        return sorted(ranked), figures

    def _decision(
        self,
        f: InputFeatures,
        ranked: list[tuple[float, str]],
        figures: dict[str, dict[str, Any]],
        quotes: Mapping[str, float | str] | None,
    ) -> RouteDecision | None:
        if not ranked:
            return None
        cost, name = ranked[0]
        size = f"~{f.tokens} input + {self.output_tokens} output tokens"
        why = f"cheapest fit of {len(figures)} routes"
        for _, route in ranked[: self.quote_top] if quotes is not None else ():
            figures[route]["quote_usd"] = quotes.get(figures[route]["model"]) if quotes else None
        quoted = [
            (q, r) for r, row in figures.items() if isinstance(q := row.get("quote_usd"), float)
        ]
        if quoted:
            cost, name = min(quoted)
            why = f"lowest of {len(quoted)} gateway quotes"
        elif quotes is not None:
            why += " (no quote could be had)"
        model = figures[name]["model"] or name
        return RouteDecision(
            name, f"{why}: {model} ≈ ${cost:.6f} for {size}", self.kind, figures=figures
        )

    def _to_quote(
        self, ranked: list[tuple[float, str]], routes: Mapping[str, RouteInfo]
    ) -> list[str]:
        """The models to ask the gateway about (none unless ``quote``)."""
        if not self.quote:
            return []
        return [m for _, n in ranked[: self.quote_top] if (m := routes[n].model)]

    def decide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        ranked, figures = self._ranked(request.features, routes)
        asked = self._to_quote(ranked, routes)
        quotes = (
            ask_quotes(self.quoter, request.input, asked, self.output_tokens) if asked else None
        )
        return self._decision(request.features, ranked, figures, quotes)

    async def adecide(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        ranked, figures = self._ranked(request.features, routes)
        asked = self._to_quote(ranked, routes)
        value, output = request.input, self.output_tokens
        quotes = await aask_quotes(self.quoter, value, asked, output) if asked else None
        return self._decision(request.features, ranked, figures, quotes)

    def explain(
        self, request: RouteRequest, routes: Mapping[str, RouteInfo]
    ) -> RouteDecision | None:
        """The pick by AIsa's prices alone: asking for quotes would send requests."""
        ranked, figures = self._ranked(request.features, routes)
        decision = self._decision(request.features, ranked, figures, None)
        if decision is None or not self.quote:
            return decision
        top = ", ".join(n for _, n in ranked[: self.quote_top])
        reason = f"{decision.reason}; a call asks the gateway's quotes for {top} first"
        return replace(decision, reason=reason)
