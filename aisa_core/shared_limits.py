"""The rate limiter shared through a store: ``RateLimiter(..., store=RedisStore(...))`` keeps
its limits for every process that uses the same store and ``namespace``.

- **Requests per minute**: the in-process limiter's GCRA (no burst unless asked), its timestamp
  in the store and its clock the store's (``Store.rate_admit``, one atomic step on the server).
- **Requests in flight**: leases. A slot is a lease named by a random token, taken in the same
  atomic step as the rate (a request takes its slot and is charged at the same moment, when it
  may be sent: "charged when sent, after its slot", as in-process). A lease expires ``lease``
  seconds after it was taken or last renewed, and each process renews the leases it holds every
  ``lease / 3`` seconds from one background thread. A process that dies holding slots (SIGKILL,
  out of memory, a machine gone) stops renewing, so its slots come free within ``lease``.
- **Waiting** is by asking again (processes cannot wake each other): the store says how long
  until the request's turn, so a rate wait is one sleep; a request waiting for a slot asks again
  after a short backoff (2 ms doubling to 25 ms, jittered, never past the first lease's
  expiry). Within a process one request at a time asks (the limiter's turn), in arrival order.
- **One round trip a request**: a slot given back is handed to the store by the process's next
  request, in the same step that takes that request's slot (released first, so a process
  running at its limit never finds its own finished requests in the way), or by the background
  thread within ``RELEASE_DELAY`` (20 ms) when no request comes first, or at exit.

Why a thread renews, rather than each read of a stream: a slot must stay held for as long as
its request is open, whatever the request does. A non-streamed call blocks in one read for its
whole length (there is no read to renew on), and a stream whose reader pauses still holds its
connection at the gateway. What the lease has to say is "this process is alive and still holds
it", which is what a per-process heartbeat says; it costs one round trip per ``lease / 3``
for all of the process's slots together, rather than one per chunk.

Giving a slot back never raises: a lease that cannot be released (the store is away) expires.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import Sequence

from .errors import AISAError, ConfigurationError
from .stores import Pause, RateRule, Store, StoreOp, StoreOps, arun_ops, run_ops

__all__ = ["RELEASE_DELAY", "SharedLimits"]

logger = logging.getLogger("aisa_core.ratelimit")

RELEASE_DELAY = 0.02
_FIRST_BACKOFF = 0.002
_LAST_BACKOFF = 0.025
_EVERY: weakref.WeakSet[SharedLimits] = weakref.WeakSet()  # to flush at exit


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
        self.lease = float(lease)
        # Microseconds (the store's clock), one more than 60/N, as in-process.
        interval = math.ceil(60e6 / requests_per_minute) + 1 if requests_per_minute else 0
        self.rule = RateRule(self.max_concurrent, self.lease, interval, burst)
        self._rate_only = RateRule(0, self.lease, interval, burst)
        self._keeper = _Keeper(self)
        _EVERY.add(self)

    def admit_ops(self, token: str, released: Sequence[str] = ()) -> StoreOps[None]:
        """Ask until the request may go: its slot taken (as lease ``token``) and its turn come;
        the first ask also gives back the slots ``released``."""
        backoff = _FIRST_BACKOFF
        while True:
            wait = yield StoreOp(self.store, "rate_admit", self.key, token, self.rule, released)
            released = ()
            if wait == 0:
                return
            if wait > 0:  # a free slot, not yet its turn: the store says exactly when
                yield Pause(wait)
            else:  # every slot held: ask again soon
                yield Pause(min(backoff, -wait) * random.uniform(0.5, 1.0))
                backoff = min(2 * backoff, _LAST_BACKOFF)

    def take(self) -> float:
        """Charge one request now if the rate allows (``0.0``), else the seconds until it would."""
        wait = self.store.rate_admit(self.key, "", self._rate_only)
        return max(0.0, wait)

    def acquire(self) -> str | None:
        token, released = uuid.uuid4().hex, self._keeper.take_released()
        try:
            run_ops(self.admit_ops(token, released))
        except BaseException as error:
            self._failed(token, released, error)
            raise
        return self._held(token)

    async def aacquire(self) -> str | None:
        token, released = uuid.uuid4().hex, self._keeper.take_released()
        try:
            await arun_ops(self.admit_ops(token, released))
        except BaseException as error:
            self._failed(token, released, error)
            raise
        return self._held(token)

    def _failed(self, token: str, released: Sequence[str], error: BaseException) -> None:
        """The ask failed or was interrupted: the slots it carried are given back later, and
        its own, if the store said yes just before the interruption, too."""
        again = [*released] if isinstance(error, AISAError) else [*released, token]
        for lease in again:
            self._keeper.release(lease)

    def _held(self, token: str) -> str | None:
        if not self.max_concurrent:
            return None
        self._keeper.hold(token)
        return token

    def release(self, token: str | None = None) -> None:
        """Give back the slot ``token`` (``None``: one this process holds), without waiting:
        the next request, or the background thread, hands it to the store."""
        if self.max_concurrent:
            self._keeper.release(token)

    def flush(self) -> None:
        """Hand every slot given back to the store now (never raises). One flush at a time:
        when it returns, no slot given back before it is still on its way (``in_flight``
        counts none that the background thread has taken and not yet handed over)."""
        with self._keeper.handing_over():
            released = self._keeper.take_released()
            if released:
                try:
                    self.store.rate_release(self.key, released)
                except Exception as error:  # e.g. StoreUnavailableError: the leases expire
                    logger.warning("could not give rate-limit slots back (%s); they expire", error)

    @property
    def in_flight(self) -> int:
        """Slots held now, by every process (a store read; slots given back are flushed)."""
        if not self.max_concurrent:
            return 0
        self.flush()
        return self.store.rate_in_flight(self.key)


class _Keeper:
    """This process's side of the leases: the ones it holds (renewed every ``lease / 3``
    seconds) and the ones given back but not yet handed to the store (flushed within
    ``RELEASE_DELAY``), kept by one daemon thread that beats every ``RELEASE_DELAY`` while
    there are any and ends when there are none (a request never waits for it, nor wakes it).
    A child made by ``fork`` holds none: the parent's leases are the parent's."""

    def __init__(self, limits: SharedLimits) -> None:
        self._limits = limits
        self._forget()

    def _forget(self) -> None:
        self._pid = os.getpid()
        self._held: set[str] = set()
        self._released: list[str] = []
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self._handing_over = threading.Lock()
        self._thread: threading.Thread | None = None

    def handing_over(self) -> threading.Lock:
        """Held by a flush from taking the slots given back until the store has them."""
        self._here()
        return self._handing_over

    def _here(self) -> None:
        if self._pid != os.getpid():
            self._forget()

    def _run_thread(self) -> None:
        """Start the thread if it is not running (call holding ``_lock``)."""
        if self._thread is None:
            self._renew_at = time.monotonic() + self._limits.lease / 3
            self._thread = threading.Thread(target=self._run, name="aisa-leases", daemon=True)
            self._thread.start()

    def hold(self, token: str) -> None:
        self._here()
        with self._lock:
            self._held.add(token)
            self._run_thread()

    def release(self, token: str | None) -> None:
        self._here()
        with self._lock:
            if token is None:
                if not self._held:
                    return
                token = self._held.pop()
            self._held.discard(token)
            self._released.append(token)
            self._run_thread()

    def take_released(self) -> list[str]:
        self._here()
        with self._lock:
            released, self._released = self._released, []
            return released

    def _run(self) -> None:
        limits = self._limits
        while True:
            time.sleep(RELEASE_DELAY)
            with self._lock:
                if not self._held and not self._released:
                    self._thread = None
                    return
                now = time.monotonic()
                held = list(self._held) if now >= self._renew_at else []
                if held:
                    self._renew_at = now + limits.lease / 3
            limits.flush()
            if held:
                try:
                    limits.store.rate_renew(limits.key, held, limits.lease)
                except Exception as error:  # the store is away: the next beat tries again
                    logger.debug("renewing %d rate-limit leases failed: %s", len(held), error)


@atexit.register
def _flush_all() -> None:
    """Slots given back just before the process ends reach the store (else they expire)."""
    for limits in list(_EVERY):
        with contextlib.suppress(Exception):
            limits.flush()
