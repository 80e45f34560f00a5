"""What the sync and async clients share: their settings (key, base URL, headers, retry and
fallback rules, handlers, rate limiter). Pure: nothing here sends or sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aisa_core.admission import Gates
from aisa_core.attempts import EVERYWHERE, AttemptObserver
from aisa_core.callbacks import StreamHandler
from aisa_core.config import (
    Secret,
    Timeouts,
    check_headers,
    model_ids,
    normalize_model,
    resolve_api_key,
    resolve_base_url,
)
from aisa_core.errors import ConfigurationError, InvalidInputError
from aisa_core.protocol.report import Watch
from aisa_core.protocol.retry import AttemptPlan, FallbackOn, RetryPolicy, default_fallback_on
from aisa_core.ratelimit import RateLimiter
from aisa_core.transport.reading import ACCEPT_ENCODING

if TYPE_CHECKING:
    from aisa_core.budget import Budget
    from aisa_core.health import ModelHealth

__all__ = ["USER_AGENT", "ClientSettings", "__version__"]


def _watch(gates: Gates, watched: bool | None = None) -> Watch:
    budget = gates.budget
    watched = gates.watched if watched is None else watched
    return Watch(gates.checks, watched, quotes=budget is not None and budget.quote)


__version__ = "0.1.0"
USER_AGENT = f"aisa-llm-python/{__version__}"


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


class ClientSettings:
    """Settings shared by ``AISAClient`` and ``AsyncAISAClient``. The key never shows in a repr."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        model: str | None = None,
        fallback_models: Sequence[str] | None = (),
        timeout: float | Timeouts | None = None,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        fallback_on: FallbackOn = default_fallback_on,
        retry_before_fallback: bool = True,
        default_headers: Mapping[str, str] | None = None,
        source: str | None = "aisa-llm-python",
        include_usage: bool = True,
        handlers: Sequence[StreamHandler] = (),
        allow_insecure: bool = False,
        seed: int | None = None,
        rate_limiter: RateLimiter | None = None,
        health: ModelHealth | None = None,
        budget: Budget | None = None,
        observers: Sequence[AttemptObserver] = (),
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self._resolved: tuple[str, dict[str, str]] | None = None
        self.base_url = resolve_base_url(base_url, allow_insecure=allow_insecure)
        self.model = normalize_model(model) if model else None
        self.fallback_models = model_ids(fallback_models, "fallback_models")
        self.timeouts = Timeouts.of(timeout)
        self.retry = retry_policy or RetryPolicy(max_retries=_count(max_retries, "max_retries"))
        self.fallback_on = fallback_on
        self.retry_before_fallback = retry_before_fallback
        self.include_usage = include_usage
        if not isinstance(handlers, (list, tuple)):
            raise ConfigurationError(f"handlers must be a list, not {type(handlers).__name__}")
        self.handlers = tuple(handlers)
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise ConfigurationError(f"rate_limiter must be a RateLimiter, not {rate_limiter!r}")
        self.rate_limiter = rate_limiter
        self._rng = random.Random(None if seed is None else _count(seed, "seed"))
        self._plain_headers = self._build_headers(default_headers, source)
        if budget is not None:
            self._plain_headers.update(budget.headers)
        self._own = tuple(observers)
        self.gates = Gates(health, budget, observers)
        self._regate()

    @property
    def health(self) -> ModelHealth | None:
        return self.gates.health

    @property
    def budget(self) -> Budget | None:
        return self.gates.budget

    @property
    def observers(self) -> tuple[AttemptObserver, ...]:
        """Everyone told of this client's calls: its own observers, then the process's
        (``aisa_core.attempts.EVERYWHERE``, e.g. ``aisa_core.telemetry.instrument()``)."""
        if self._seen != EVERYWHERE.version:
            self._regate()
        return self.gates.observers

    @property
    def watch(self) -> Watch:
        """Who listens, for the call about to start (rechecks the process's observers, and
        asks observers that may be idle whether they listen now)."""
        if self._seen != EVERYWHERE.version:
            self._regate()
        idle = self._idle
        if idle is None or any(listening() for listening in idle):
            return self._watch
        return self._quiet

    def observe(self, observer: AttemptObserver) -> None:
        """Register an observer of every attempt and call (see ``aisa_core.attempts``)."""
        if observer not in self._own:
            self._own = (*self._own, observer)
            self._regate()

    def unobserve(self, observer: AttemptObserver) -> None:
        self._own = tuple(o for o in self._own if o is not observer)
        self._regate()

    def _regate(self) -> None:
        seen = EVERYWHERE.version
        extra = tuple(o for o in EVERYWHERE.observers if o not in self._own)
        gates = Gates(self.gates.health, self.gates.budget, self._own + extra)
        # Only when every listener may be idle is it asked before each call; else always watch.
        askable = [getattr(o, "listening", None) for o in gates.observers]
        idle = None if gates.checks or None in askable else tuple(a for a in askable if a)
        # One assignment, so a call in flight on another thread sees old or new, whole.
        self.gates, self._watch, self._quiet, self._idle, self._seen = (
            gates,
            _watch(gates),
            _watch(gates, watched=False),
            idle,
            seen,
        )

    @staticmethod
    def _build_headers(extra: Mapping[str, str] | None, source: str | None) -> dict[str, str]:
        """Every header but ``Authorization``, each checked now (no bad header reaches the
        HTTP library)."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": USER_AGENT,
        }
        if source:
            headers.update(check_headers({"x-aisa-source": source}))
        extra = check_headers(extra or {})
        if any(name.lower() == "authorization" for name in extra):
            raise ConfigurationError("set the key with api_key=, not an Authorization header")
        return {**headers, **extra}

    # The key: given, or read from AISA_API_KEY. A pickle never holds it (``Secret`` pickles
    # empty): the process that loads one reads AISA_API_KEY when the key is first needed, so an
    # unpickled client fails at its first call, not at load, and can be given a key before that.
    # Copies in one process keep the key.

    @property
    def api_key(self) -> Secret:
        return self._api_key

    @api_key.setter
    def api_key(self, value: str | Secret | None) -> None:
        """Give the client a key (e.g. after unpickling); ``None`` reads ``AISA_API_KEY``."""
        self._api_key = resolve_api_key(value)
        self._resolved = None

    def _resolve(self) -> tuple[str, dict[str, str]]:
        resolved = self._resolved
        if resolved is None:
            key = self._api_key.get_secret_value()
            headers = {"Authorization": f"Bearer {key}", **self._plain_headers}
            resolved = self._resolved = (key, headers)
        return resolved

    @property
    def secret(self) -> str:
        """The key the requests carry: errors are scrubbed of it."""
        return self._resolve()[0]

    @property
    def headers(self) -> dict[str, str]:
        """Every request's headers, ``Authorization`` included (made on first use)."""
        return self._resolve()[1]

    def __getstate__(self) -> dict[str, Any]:
        # The process's observers (tracing) stay in this process; the loader's apply there.
        gates = Gates(self.gates.health, self.gates.budget, self._own)
        return {**self.__dict__, "_resolved": None, "gates": gates, "_seen": -1}

    def __copy__(self) -> ClientSettings:
        # Not through __getstate__ (which is for pickles): a copy keeps its own key.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientSettings:
        return self.__copy__()  # handlers, the limiter, health and budget stay shared

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/v1")]

    def chain(self, model: str | None, fallback_models: Sequence[str] | None) -> list[str]:
        """The models to try, in order, without repeats."""
        primary = normalize_model(model) if model else self.model
        if not primary:
            raise ConfigurationError("no model given", hint="Pass model='gpt-4.1' (or any AIsa id)")
        rest = self.fallback_models if fallback_models is None else model_ids(fallback_models)
        chain = [primary]
        for m in rest:
            if m not in chain:
                chain.append(m)
        return chain

    def plan(self, chain: Sequence[str], routes: int = 1) -> AttemptPlan:
        return AttemptPlan(
            models=chain,
            retry=self.retry,
            fallback_on=self.fallback_on,
            retry_before_fallback=self.retry_before_fallback,
            rng=self._rng,
            routes=routes,
        )

    def request_headers(self, extra: Mapping[str, str] | None, stream: bool) -> dict[str, str]:
        """A call's headers; ``extra`` (per call) is checked first (``InvalidInputError``)."""
        if not extra and not stream:
            return self.headers
        headers = dict(self.headers)
        if stream:
            headers["Accept"] = "text/event-stream"
            headers["Accept-Encoding"] = "identity"  # events as they come, not buffered
        if extra:
            headers.update(check_headers(extra, InvalidInputError))
        return headers

    def handlers_for(self, extra: Sequence[StreamHandler] | None) -> tuple[StreamHandler, ...]:
        return self.handlers + tuple(extra or ())
