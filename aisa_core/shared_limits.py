"""The rate limiter shared through a store: ``RateLimiter(..., store=RedisStore(...))`` keeps
its limits for every process that uses the same store and ``namespace``.

- **Requests per minute**: the in-process limiter's GCRA (no burst unless asked), its timestamp
  in the store and its clock the store's (``Store.rate_admit``, one atomic step on the server).
- **Requests in flight**: leases. A slot is a lease named by a random token, in the same atomic
  step as the rate (a request takes its slot and is charged at the same moment, when it may be
  sent: "charged when sent, after its slot", as in-process). A lease expires ``lease`` seconds
  after it was taken or last renewed, and each process renews the leases it holds every
  ``lease / 3`` seconds from one background thread. A process that dies holding slots (SIGKILL,
  out of memory, a machine gone) stops renewing, so its slots come free within ``lease``.
- **Waiting** is by asking again (processes cannot wake each other): the store says how long
  until the request's turn, so a rate wait is one sleep; a request waiting for a slot asks again
  after a short backoff (2 ms doubling to 25 ms, jittered, never past the first lease's
  expiry). Within a process one request at a time asks (the limiter's turn), in arrival order.

Why a thread renews, rather than each read of a stream: a slot must stay held for as long as
its request is open, whatever the request does. A non-streamed call blocks in one read for its
whole length (there is no read to renew on), and a stream whose reader pauses still holds its
connection at the gateway. What the lease has to say is "this process is alive and still holds
it", which is what a per-process heartbeat says; it costs one round trip per ``lease / 3``
for all of the process's slots together, rather than one per chunk.

Giving a slot back never raises: a lease that cannot be released (the store is away) expires.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import uuid

from .errors import AISAError, ConfigurationError
from .stores import Pause, Store, StoreOp, StoreOps, arun_ops, run_ops

__all__ = ["SharedLimits"]

logger = logging.getLogger("aisa_core.ratelimit")

_FIRST_BACKOFF = 0.002
_LAST_BACKOFF = 0.025


class SharedLimits:
    """The shared half of a ``RateLimiter`` (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        namespace: str,
        requests_per_minute: float | None,
        max_concurrent: int | None,
        burst: int,
        lease: float,
    ) -> None:
        if isinstance(lease, bool) or not isinstance(lease, (int, float)) or not lease > 0:
            raise ConfigurationError(f"lease must be a positive number of seconds, got {lease!r}")
        self.store = store
        self.key = f"ratelimit:{namespace}"
        self.max_concurrent = max_concurrent or 0
        # Microseconds (the store's clock), one more than 60/N, as in-process.
        self.interval_us = math.ceil(60e6 / requests_per_minute) + 1 if requests_per_minute else 0
        self.burst = burst
        self.lease = float(lease)
        self._renewer = _Renewer(self)

    def admit_ops(self, token: str) -> StoreOps[None]:
        """Ask until the request may go: its slot taken (as lease ``token``) and its turn come."""
        backoff = _FIRST_BACKOFF
        while True:
            wait = yield StoreOp(
                self.store,
                "rate_admit",
                self.key,
                token,
                self.max_concurrent,
                self.lease,
                self.interval_us,
                self.burst,
            )
            if wait == 0:
                return
            if wait > 0:  # a free slot, not yet its turn: the store says exactly when
                yield Pause(wait)
            else:  # every slot held: ask again soon
                yield Pause(min(backoff, -wait) * random.uniform(0.5, 1.0))
                backoff = min(2 * backoff, _LAST_BACKOFF)

    def take(self) -> float:
        """Charge one request now if the rate allows (``0.0``), else the seconds until it would."""
        wait = self.store.rate_admit(self.key, "", 0, self.lease, self.interval_us, self.burst)
        return max(0.0, wait)

    def acquire(self) -> str | None:
        token = uuid.uuid4().hex
        try:
            run_ops(self.admit_ops(token))
        except BaseException as error:  # interrupted, maybe after the store said yes
            if not isinstance(error, AISAError):
                self.release(token)
            raise
        return self._held(token)

    async def aacquire(self) -> str | None:
        token = uuid.uuid4().hex
        try:
            await arun_ops(self.admit_ops(token))
        except BaseException as error:  # cancelled, maybe after the store said yes
            if not isinstance(error, AISAError):
                await self.arelease(token)
            raise
        return self._held(token)

    def _held(self, token: str) -> str | None:
        if not self.max_concurrent:
            return None
        self._renewer.hold(token)
        return token

    def _release_ops(self, token: str | None) -> StoreOps[None]:
        token = self._renewer.drop(token)
        if token is not None and self.max_concurrent:
            yield StoreOp(self.store, "rate_release", self.key, token)

    def release(self, token: str | None = None) -> None:
        """Give back the slot ``token`` (``None``: one this process holds)."""
        try:
            run_ops(self._release_ops(token))
        except AISAError as error:
            _released_by_expiry(error)

    async def arelease(self, token: str | None = None) -> None:
        try:
            await arun_ops(self._release_ops(token))
        except AISAError as error:
            _released_by_expiry(error)

    @property
    def in_flight(self) -> int:
        """Slots held now, by every process (a store read)."""
        if not self.max_concurrent:
            return 0
        return self.store.rate_in_flight(self.key)


def _released_by_expiry(error: AISAError) -> None:
    logger.warning("could not give a rate-limit slot back (%s); its lease will expire", error)


class _Renewer:
    """Renews the leases this process holds, every ``lease / 3`` seconds, from one daemon
    thread that runs only while any is held. A child made by ``fork`` holds none."""

    def __init__(self, limits: SharedLimits) -> None:
        self._limits = limits
        self._forget()

    def _forget(self) -> None:
        self._pid = os.getpid()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _here(self) -> None:
        if self._pid != os.getpid():
            self._forget()  # the parent's leases are the parent's to renew and release

    def hold(self, token: str) -> None:
        self._here()
        with self._lock:
            self._held.add(token)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="aisa-lease-renewer", daemon=True
                )
                self._thread.start()

    def drop(self, token: str | None) -> str | None:
        """Stop renewing ``token`` (``None``: any one held); the token to release."""
        self._here()
        with self._lock:
            if token is None:
                return self._held.pop() if self._held else None
            self._held.discard(token)
            return token

    def _run(self) -> None:
        limits = self._limits
        while True:
            time.sleep(limits.lease / 3)
            with self._lock:
                tokens = list(self._held)
                if not tokens:
                    self._thread = None
                    return
            try:
                limits.store.rate_renew(limits.key, tokens, limits.lease)
            except Exception as error:  # the store is away: the next beat tries again
                logger.debug("renewing %d rate-limit leases failed: %s", len(tokens), error)
