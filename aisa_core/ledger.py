"""``CostLedger``: what was spent, per model, per key label and per day, readable by any process.

An observer of the attempt seam (``aisa_core.attempts``): register it with ``observers=[ledger]``
on a client (or ``EVERYWHERE.observe(ledger)``), and each attempt's settled cost
(``AttemptReport.cost_usd``, the gateway's own figure) is added to the day it started (UTC),
under the ledger's ``label`` (which key or team spent it) and the model asked for. The totals
live in a store: with a ``RedisStore`` (or ``AISA_REDIS_URL`` set) every worker adds to the same
ledger and any process reads it::

    ledger = CostLedger(RedisStore.from_url(os.environ["AISA_REDIS_URL"]), label="team-a")
    client = AISAClient(observers=[ledger])
    ...
    ledger.totals()      # {"gpt-4.1": 0.0123, ...}: this label, today
    ledger.by_label()    # {"team-a": {...}, "team-b": {...}}: every label, today

Each add is one atomic step on the store (a counter in one map per day), so concurrent workers
never lose an update. A day's map expires ``keep_days`` after it was made. In an async client
the store is awaited (``aon_attempt``).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from .attempts import AttemptReport
from .errors import ConfigurationError
from .stores import Store, default_store

__all__ = ["CostLedger"]

_SEPARATOR = "|"


class CostLedger:
    """See the module docstring. ``namespace`` keeps separate ledgers apart in one store."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        label: str = "default",
        namespace: str = "default",
        keep_days: int = 400,
    ) -> None:
        if not isinstance(label, str) or not label or _SEPARATOR in label:
            raise ConfigurationError(
                f"a ledger label is a non-empty string without '|', got {label!r}"
            )
        if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 1:
            raise ConfigurationError(f"keep_days must be a whole number >= 1, got {keep_days!r}")
        self.store: Store = store if store is not None else default_store()
        self.label = label
        self.namespace = namespace
        self.keep_days = keep_days

    def __repr__(self) -> str:
        return f"CostLedger(label={self.label!r}, store={self.store!r})"

    def _key(self, day: datetime.date | str) -> str:
        return f"ledger:{self.namespace}:{_day(day)}"

    def _entry(self, report: AttemptReport) -> tuple[str, str, float] | None:
        """``(key, field, usd)`` for an attempt that cost something, else ``None``."""
        cost = report.cost_usd
        if cost is None or not cost > 0:
            return None
        day = datetime.datetime.fromtimestamp(report.started, datetime.timezone.utc).date()
        return self._key(day), f"{self.label}{_SEPARATOR}{report.model}", cost

    # --- the observer --------------------------------------------------------------------------

    def on_attempt(self, report: AttemptReport) -> None:
        entry = self._entry(report)
        if entry is not None:
            self.store.incr_field(*entry, ttl=self.keep_days * 86_400.0)

    async def aon_attempt(self, report: AttemptReport) -> None:
        entry = self._entry(report)
        if entry is None:
            return
        method: Any = getattr(self.store, "aincr_field", None)
        if method is None:
            self.store.incr_field(*entry, ttl=self.keep_days * 86_400.0)
        else:
            await method(*entry, ttl=self.keep_days * 86_400.0)

    def record(self, model: str, usd: float, *, day: datetime.date | str | None = None) -> None:
        """Add ``usd`` spent on ``model`` by hand (e.g. a cost known from elsewhere)."""
        key = self._key(day if day is not None else self.today())
        self.store.incr_field(
            key, f"{self.label}{_SEPARATOR}{model}", usd, self.keep_days * 86_400.0
        )

    # --- reading it ------------------------------------------------------------------------------

    def today(self) -> datetime.date:
        """Today (UTC) by the store's clock."""
        return datetime.datetime.fromtimestamp(self.store.now(), datetime.timezone.utc).date()

    def by_label(self, day: datetime.date | str | None = None) -> dict[str, dict[str, float]]:
        """``{label: {model: usd}}`` for ``day`` (default: today), every label."""
        fields = self.store.get_fields(self._key(day if day is not None else self.today()))
        out: dict[str, dict[str, float]] = {}
        for name, usd in sorted(fields.items()):
            label, _, model = name.partition(_SEPARATOR)
            out.setdefault(label, {})[model] = float(usd)
        return out

    def totals(self, day: datetime.date | str | None = None) -> dict[str, float]:
        """``{model: usd}`` for this ledger's label on ``day`` (default: today)."""
        return self.by_label(day).get(self.label, {})

    def total(self, day: datetime.date | str | None = None) -> float:
        """This label's spend on ``day`` (default: today), every model."""
        return sum(self.totals(day).values())


def _day(day: datetime.date | str) -> str:
    if isinstance(day, datetime.date):
        return day.strftime("%Y-%m-%d")
    try:
        return time.strftime("%Y-%m-%d", time.strptime(day, "%Y-%m-%d"))
    except (TypeError, ValueError):
        raise ConfigurationError(f"a day is a date or 'YYYY-MM-DD', got {day!r}") from None
