"""The stand-in's mutable state: scripts, model faults, recorded requests, spend.

Tests script the server from their own thread while the server's event loop reads
the same state, so every access goes through one lock. Critical sections are a few
list operations; the common case (nothing scripted) does not even take the lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from ._answers import ScriptedAnswer
from ._faults import Fault
from ._limits import Limits
from ._profiles import Timeline


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    json: Any  # the parsed body, or None when it is empty or not JSON
    body: bytes
    query: str = ""


@dataclass
class _Window:
    """Requests and tokens counted in one rate-limit minute."""

    start: float
    requests: int = 0
    tokens: int = 0

    def current(self, now: float) -> _Window:
        """This window, moved on (and emptied) if its minute has passed."""
        if now >= self.start + 60:
            self.start += 60 * ((now - self.start) // 60)
            self.requests = self.tokens = 0
        return self


@dataclass(frozen=True)
class _Entry:
    model: str | None
    item: Fault | ScriptedAnswer


class ScriptState:
    def __init__(self, record_limit: int | None) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Entry] = []
        self._model_faults: dict[str, tuple[Fault, int | None]] = {}
        self._reasoning: dict[str | None, str] = {}
        self._records: deque[RecordedRequest] = deque(maxlen=record_limit)
        self._spent_micros = 0
        self._counters: dict[str, int] = {}
        self._window = _Window(time.time())
        self.timeline = Timeline()  # latency profiles and scheduled outages
        self.limits: Limits | None = None  # per-key limits, when asked to enforce them

    # -- scripting (called from user threads) --------------------------------------------

    def enqueue(self, model: str | None, item: Fault | ScriptedAnswer) -> None:
        with self._lock:
            self._queue.append(_Entry(model, item))

    def fail_model(self, model: str, fault: Fault, times: int | None) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be a positive int or None (forever)")
        with self._lock:
            self._model_faults[model] = (fault, times)

    def heal_model(self, model: str) -> None:
        with self._lock:
            self._model_faults.pop(model, None)

    def set_reasoning(self, model: str | None, text: str) -> None:
        with self._lock:
            self._reasoning[model] = text

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._model_faults.clear()
            self._reasoning.clear()
            self._records.clear()
            self._spent_micros = 0
            self._counters.clear()
            self._window = _Window(time.time())
            self.limits = None
        self.timeline.reset()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def last_request(self) -> RecordedRequest | None:
        with self._lock:
            return self._records[-1] if self._records else None

    @property
    def spent_micros(self) -> int:
        with self._lock:
            return self._spent_micros

    # -- serving (called from the server's event loop) -----------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._records.append(request)
            self._window.current(time.time()).requests += 1

    def bill(self, micros: int, tokens: int = 0) -> None:
        with self._lock:
            self._spent_micros += micros
            self._window.current(time.time()).tokens += tokens

    def rate_window(self) -> tuple[int, int, int]:
        """``(requests, tokens, reset)`` of the current one-minute window (it starts at the
        last reset, so a test's counts do not depend on the wall clock's minute); ``reset``
        is the UNIX time the window ends."""
        with self._lock:
            window = self._window.current(time.time())
            return window.requests, window.tokens, int(window.start + 60)

    def next_number(self, kind: str) -> int:
        """1, 2, 3... per kind; restarts on reset so ids are reproducible per test."""
        with self._lock:
            value = self._counters.get(kind, 0) + 1
            self._counters[kind] = value
            return value

    def take_fault(self, model: str) -> tuple[Fault | None, bool]:
        """The fault for this request and whether it came from the queue.

        A scheduled outage going on now wins, then a model fault (``fail_model``), then the
        queue; a queued fault is taken only when it is the first queued entry for this model,
        so queue order is kept.
        """
        outage = self.timeline.fault(model)
        if outage is not None:
            return outage, False
        if not self._queue and not self._model_faults:
            return None, False
        with self._lock:
            standing = self._model_faults.get(model)
            if standing is not None:
                fault, times = standing
                if times is not None:
                    if times <= 1:
                        del self._model_faults[model]
                    else:
                        self._model_faults[model] = (fault, times - 1)
                return fault, False
            index = self._first(model)
            if index is not None:
                item = self._queue[index].item
                if isinstance(item, Fault):
                    del self._queue[index]
                    return item, True
            return None, False

    def take_answer(self, model: str) -> ScriptedAnswer | None:
        if not self._queue:
            return None
        with self._lock:
            index = self._first(model)
            if index is not None:
                item = self._queue[index].item
                if isinstance(item, ScriptedAnswer):
                    del self._queue[index]
                    return item
            return None

    def reasoning_for(self, model: str) -> tuple[bool, str | None]:
        """``(forced on, text)``: ``set_reasoning(model, ...)`` turns reasoning on for a model."""
        if not self._reasoning:
            return False, None
        with self._lock:
            if model in self._reasoning:
                return True, self._reasoning[model]
            return False, self._reasoning.get(None)

    def _first(self, model: str) -> int | None:
        for index, entry in enumerate(self._queue):
            if entry.model is None or entry.model == model:
                return index
        return None
