"""``Budget``: a spend limit in USD per day, per hour or in total, shared like model health.

Before each attempt the worst-case cost is reserved: the prompt (estimated from its length) at
the model's input price plus ``max_tokens`` at its output price (``default_output_tokens`` when
the call sets no ``max_tokens``), or the gateway's own quote when ``quote=True``. An attempt that
would take the period's spend past ``usd`` raises ``BudgetExceededError`` before anything is
sent. After the attempt the settled cost replaces the reservation (a failed attempt with no
cost gives its reservation back; an answer with no cost keeps it, as nothing better is known).
So the spend never passes the limit by more than what one call's answer exceeds its
reservation, which is nothing when ``max_tokens`` is set.

``max_price_usd`` caps each call at the gateway too (``X-AISA-Max-Price-USD``: it answers 402
when its estimate is higher, raised as ``PriceCapExceededError``, a ``BudgetExceededError``).
The spend lives in a store like model health's (``store=``; a ``RedisStore``, or
``AISA_REDIS_URL`` set, makes one budget for every process), and periods follow the store's
clock (UTC days and hours).

Prices come from the capability table (AIsa's prices); ``prices={model: (input, output)}``
(USD per million tokens) overrides them. A model with no known price reserves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .attempts import AttemptInfo, AttemptReport
from .capabilities import capabilities
from .errors import BudgetExceededError, ConfigurationError
from .stores import Store, StoreOp, StoreOps, arun_ops, default_store, run_ops

__all__ = ["Budget", "BudgetTicket", "Period"]

Period = Literal["day", "hour", "total"]
_PERIODS: dict[str, tuple[str, float | None]] = {
    "day": ("%Y-%m-%d", 2 * 86_400.0),
    "hour": ("%Y-%m-%dT%H", 2 * 3_600.0),
    "total": ("total", None),
}


@dataclass(frozen=True, slots=True)
class BudgetTicket:
    """One attempt's reservation: ``reserved`` USD under ``key``."""

    key: str
    reserved: float


class Budget:
    """See the module docstring."""

    def __init__(
        self,
        usd: float,
        per: Period = "day",
        *,
        store: Store | None = None,
        namespace: str = "default",
        max_price_usd: float | None = None,
        quote: bool = False,
        default_output_tokens: int = 1024,
        prices: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        if not usd > 0:
            raise ConfigurationError(f"a budget must be a positive amount of USD, got {usd!r}")
        if per not in _PERIODS:
            raise ConfigurationError(f"per must be one of {sorted(_PERIODS)}, got {per!r}")
        if max_price_usd is not None and not max_price_usd > 0:
            raise ConfigurationError("max_price_usd must be positive")
        self.usd = float(usd)
        self.per = per
        self.store: Store = store if store is not None else default_store()
        self.namespace = namespace
        self.max_price_usd = max_price_usd
        self.quote = quote
        self.default_output_tokens = default_output_tokens
        self.prices = dict(prices or {})

    def __repr__(self) -> str:
        return f"Budget(usd={self.usd}, per={self.per!r}, store={self.store!r})"

    def estimate(self, info: AttemptInfo) -> float | None:
        """The worst-case cost of ``info``'s attempt in USD; ``None`` when no price is known."""
        if info.quoted_usd is not None:
            return info.quoted_usd
        price = self.prices.get(info.model)
        if price is None:
            caps = capabilities(info.model)
            if caps.input_price is None or caps.output_price is None:
                return None
            price = (caps.input_price, caps.output_price)
        output = info.max_output_tokens
        if output is None:
            output = 0 if info.operation != "chat" else self.default_output_tokens
        return (info.prompt_tokens * price[0] + output * price[1]) / 1e6

    def _key(self, now: float) -> str:
        fmt, _ = _PERIODS[self.per]
        period = fmt if self.per == "total" else time.strftime(fmt, time.gmtime(now))
        return f"budget:{self.namespace}:{period}"

    # --- reservation and settlement, written once over store operations --------------------

    def reserve_ops(self, info: AttemptInfo) -> StoreOps[BudgetTicket]:
        estimate = self.estimate(info) or 0.0
        now = yield StoreOp(self.store, "now")
        key = self._key(now)
        ttl = _PERIODS[self.per][1]
        total = yield StoreOp(self.store, "incr_within", key, estimate, self.usd, ttl)
        if total < 0:
            spent = -1 - total
            raise BudgetExceededError(
                f"this call (up to ${estimate:.6f} on {info.model}) would take the budget past "
                f"${self.usd:g} per {self.per} (${spent:.6f} spent)",
                spent=spent,
                limit=self.usd,
                estimate=estimate,
                model=info.model,
            )
        return BudgetTicket(key, estimate)

    def settle_ops(self, ticket: BudgetTicket, report: AttemptReport) -> StoreOps[None]:
        if report.cost_usd is not None:
            change = report.cost_usd - ticket.reserved
        elif report.outcome == "ok":
            return  # no settled cost: the reservation stands
        else:
            change = -ticket.reserved  # nothing was answered, so nothing is billed
        if change:
            yield StoreOp(self.store, "incr", ticket.key, change, _PERIODS[self.per][1])

    def reserve(self, info: AttemptInfo) -> BudgetTicket:
        return run_ops(self.reserve_ops(info))

    async def areserve(self, info: AttemptInfo) -> BudgetTicket:
        return await arun_ops(self.reserve_ops(info))

    def settle(self, ticket: BudgetTicket, report: AttemptReport) -> None:
        run_ops(self.settle_ops(ticket, report))

    async def asettle(self, ticket: BudgetTicket, report: AttemptReport) -> None:
        await arun_ops(self.settle_ops(ticket, report))

    # --- what callers can ask ---------------------------------------------------------------

    def spent(self) -> float:
        """USD spent (and reserved by calls in flight) in the current period."""
        value: Any = self.store.get_many([self._key(self.store.now())])[0]
        return float(value or 0.0)

    def remaining(self) -> float:
        return max(0.0, self.usd - self.spent())

    def fits(self, estimate_usd: float) -> bool:
        """Whether a call costing ``estimate_usd`` would fit now (no reservation is made)."""
        return self.spent() + estimate_usd <= self.usd

    @property
    def headers(self) -> dict[str, str]:
        """What each request carries for the gateway's own per-call cap."""
        if self.max_price_usd is None:
            return {}
        return {"X-AISA-Max-Price-USD": f"{self.max_price_usd:.6f}"}
