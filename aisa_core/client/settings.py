"""What the sync and async clients share: their settings (key, base URL, headers, retry and
fallback rules, handlers, rate limiter). Pure: nothing here sends or sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from aisa_core.callbacks import StreamHandler
from aisa_core.config import (
    API_KEY_ENV,
    Secret,
    Timeouts,
    normalize_model,
    resolve_api_key,
    resolve_base_url,
)
from aisa_core.errors import ConfigurationError
from aisa_core.protocol.retry import AttemptPlan, FallbackOn, RetryPolicy, default_fallback_on
from aisa_core.ratelimit import RateLimiter
from aisa_core.transport.reading import ACCEPT_ENCODING

__all__ = ["USER_AGENT", "ClientSettings", "__version__"]

__version__ = "0.1.0"
USER_AGENT = f"aisa-llm-python/{__version__}"


class ClientSettings:
    """Settings shared by ``AISAClient`` and ``AsyncAISAClient``. The key never shows in a repr."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        model: str | None = None,
        fallback_models: Sequence[str] = (),
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
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url, allow_insecure=allow_insecure)
        self.model = normalize_model(model) if model else None
        self.fallback_models = tuple(normalize_model(m) for m in fallback_models)
        self.timeouts = Timeouts.of(timeout)
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
        self.retry = retry_policy or RetryPolicy(max_retries=max_retries)
        self.fallback_on = fallback_on
        self.retry_before_fallback = retry_before_fallback
        self.include_usage = include_usage
        self.handlers = tuple(handlers)
        self.rate_limiter = rate_limiter
        self._rng = random.Random(seed)
        self.headers = self._build_headers(default_headers, source)

    def _build_headers(self, extra: Mapping[str, str] | None, source: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": USER_AGENT,
        }
        if source:
            headers["x-aisa-source"] = source
        for name, value in (extra or {}).items():
            if name.lower() == "authorization":
                raise ConfigurationError("set the key with api_key=, not an Authorization header")
            headers[name] = value
        return headers

    @property
    def api_key(self) -> Secret:
        return self._api_key

    # A pickle is a serialised object, so it never holds the key: the process that loads it
    # reads AISA_API_KEY again (worker processes inherit it). Copies in-process keep the key.

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_api_key"] = None
        state["headers"] = {k: v for k, v in self.headers.items() if k != "Authorization"}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        try:
            self._api_key = resolve_api_key(None)
        except ConfigurationError as exc:
            raise ConfigurationError(
                "an unpickled AIsa client needs a key, and pickles never carry it",
                hint=f"Set {API_KEY_ENV} in the process that loads it",
            ) from exc
        self.headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            **self.headers,
        }

    def __copy__(self) -> ClientSettings:
        # Not through __getstate__ (which drops the key for pickles): a copy keeps its own key.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.headers = dict(self.headers)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientSettings:
        return self.__copy__()  # handlers and the rate limiter stay shared, as they should

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
        rest = self.fallback_models if fallback_models is None else fallback_models
        chain = [primary]
        for m in rest:
            m = normalize_model(m)
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
        if not extra and not stream:
            return self.headers
        headers = dict(self.headers)
        if stream:
            headers["Accept"] = "text/event-stream"
            headers["Accept-Encoding"] = "identity"  # events as they come, not buffered
        headers.update(extra or {})
        return headers

    def handlers_for(self, extra: Sequence[StreamHandler] | None) -> tuple[StreamHandler, ...]:
        return self.handlers + tuple(extra or ())
