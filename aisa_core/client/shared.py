"""What the sync and async clients share, and what their streams share; each pair differs only
in how it performs effects."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aisa_core.callbacks import StreamHandler
from aisa_core.protocol.accumulate import StreamAccumulator
from aisa_core.protocol.chat import Chat
from aisa_core.protocol.effects import Driver, Effect
from aisa_core.protocol.streaming import StreamState, run_stream
from aisa_core.transport.graveyard import bury, collecting, later
from aisa_core.types import ChatCompletion, ResponseMeta

from .settings import ClientSettings

if TYPE_CHECKING:
    from aisa_core.protocol.embeddings import EmbedJob
    from aisa_core.protocol.rerank import Rerank
    from aisa_core.ratelimit import RateLimiter

__all__ = ["ClientBase", "StreamBase", "give_back"]

C = TypeVar("C", bound="ClientBase")


def give_back(limiter: RateLimiter, lease: str | None) -> None:
    """Release a rate-limit slot (``lease``: what ``acquire`` gave, for a shared limiter) now
    or, from a finaliser the garbage collector runs (which must not take the limiter's lock),
    at the next call."""
    if collecting():
        bury(later(functools.partial(limiter.release, lease)))
    else:
        limiter.release(lease)


class ClientBase:
    """Settings, repr and pickling (a pickle carries neither the key nor a pool)."""

    _default_sleep: ClassVar[Any]  # time.sleep or asyncio.sleep

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._sleep = type(self)._default_sleep

    @property
    def settings(self) -> ClientSettings:
        return self._settings

    # Embeddings and reranking load on first use, not with the client (most processes only chat).

    def _embed_job(
        self,
        input: str | Sequence[str],
        model: str,
        dimensions: int | None,
        batch_size: int | None,
        fallback_models: Sequence[str] | None,
        options: dict[str, Any],
    ) -> EmbedJob:
        from aisa_core.protocol.embeddings import EmbedJob

        return EmbedJob(
            self._settings,
            input,
            model=model,
            dimensions=dimensions,
            batch_size=batch_size,
            fallback_models=fallback_models,
            **options,
        )

    def _rerank_op(
        self,
        query: str,
        documents: Sequence[str],
        model: str,
        top_n: int | None,
        fallback_models: Sequence[str] | None,
        options: dict[str, Any],
    ) -> Rerank:
        from aisa_core.protocol.rerank import Rerank

        return Rerank(
            self._settings,
            query,
            documents,
            model=model,
            top_n=top_n,
            fallback_models=fallback_models,
            **options,
        )

    def __repr__(self) -> str:
        s = self._settings
        return f"{type(self).__name__}(base_url={s.base_url!r}, model={s.model!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_sleep": None}

    def __copy__(self: C) -> C:
        """A copy (``copy.copy`` or ``copy.deepcopy``) keeps the key and settings and gets its
        own pool (closing or dropping one never closes the other's); a client or transport
        the caller brought is shared, as it cannot be copied."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._settings = copy.copy(self._settings)
        # the HTTP layer (each client's own type) through its __getstate__: without the pool
        clone.__dict__["_http"] = copy.copy(self.__dict__["_http"])
        return clone

    def __deepcopy__(self: C, memo: dict[int, Any]) -> C:
        return self.__copy__()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sleep = type(self)._default_sleep


class StreamBase:
    """``model`` is the model that serves the stream (after any fallback), ``meta`` the
    headers' facts and the failed attempts before it, ``accumulator`` what has arrived so far
    (its ``completion()`` is a snapshot later chunks never change)."""

    def __init__(
        self, settings: ClientSettings, op: Chat, handlers: Sequence[StreamHandler]
    ) -> None:
        self._state = StreamState(bool(handlers))
        call = run_stream(op, settings.plan(op.models), self._state, settings.watch)
        self._driver: Driver[None] = Driver(call, settings.secret)

    @property
    def model(self) -> str | None:
        return self._state.model

    @property
    def meta(self) -> ResponseMeta:
        return self._state.meta

    @property
    def accumulator(self) -> StreamAccumulator:
        return self._state.accumulator

    def _final(self) -> ChatCompletion:
        return self._state.final()

    def _pending(self) -> list[Effect]:
        """Reports a stream closed early left behind (taken once)."""
        pending, self._state.pending = self._state.pending, []
        return pending
