"""What a call asks the world to do, as data; and the driver that steps a call.

A call (``operation.run``, ``streaming.run_stream``) is a generator: it yields an effect, and
gets back what performing it gave (a ``Reply``, some bytes, nothing) or has the failure thrown
in. Every decision (what to send, whether to retry or fall back, what the answer means, what a
handler hears) is made in the generator, once; the sync and async clients only perform effects,
each in its own way (``time.sleep`` or ``asyncio.sleep``, a blocking or an awaited send).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from aisa_core.errors import AISAError, scrub
from aisa_core.types import ChatCompletionChunk

from .wire import Request

if TYPE_CHECKING:
    from aisa_core.admission import Ticket
    from aisa_core.attempts import AttemptInfo, AttemptReport, CallReport

__all__ = [
    "Admit",
    "Close",
    "Done",
    "Driver",
    "Effect",
    "Emit",
    "Leave",
    "Notify",
    "Open",
    "Read",
    "Send",
    "Sleep",
]

T = TypeVar("T")


class Effect:
    """Plain classes rather than dataclasses: one is made per read of a stream, and importing
    the package should not pay for generating their methods. ``verb`` names the method a
    client performs it with (``_send``, ``_read``, ...)."""

    __slots__ = ()
    verb: ClassVar[str] = ""

    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({fields})"


class Sleep(Effect):
    """Wait ``seconds`` before the next attempt."""

    verb = "_sleep"
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Send(Effect):
    """Send ``request`` (holding a rate-limit slot) and read the whole answer: gives a
    ``Reply``, whatever its status."""

    verb = "_send"
    __slots__ = ("model", "request")

    def __init__(self, request: Request, model: str) -> None:
        self.request = request
        self.model = model


class Open(Effect):
    """Send a stream request (taking a rate-limit slot, held until ``Close``): gives a
    ``Reply``, with its body read whole when ``wire.reads_whole`` says so, else left open."""

    verb = "_open"
    __slots__ = ("model", "request")

    def __init__(self, request: Request, model: str) -> None:
        self.request = request
        self.model = model


class Read(Effect):
    """The next bytes of the open body (``b""`` at its end). ``fresh``: an event just
    completed, so the next has a whole read timeout; ``streaming``: tokens reached the caller,
    so a broken connection is a ``StreamInterruptedError``."""

    verb = "_read"
    __slots__ = ("fresh", "model", "streaming")

    def __init__(self, model: str, *, fresh: bool = False, streaming: bool = False) -> None:
        self.model = model
        self.fresh = fresh
        self.streaming = streaming


class Close(Effect):
    """Close the open body and give back its slot; ``drain`` reads what is left first, so the
    connection can be reused."""

    verb = "_close"
    __slots__ = ("drain",)

    def __init__(self, *, drain: bool = False) -> None:
        self.drain = drain


class Notify(Effect):
    """Tell the stream's handlers: ``events`` are ``(name, args)``, calling ``on_<name>(*args)``
    (awaited when a handler's method is ``async def``)."""

    verb = "_notify"
    __slots__ = ("events",)

    def __init__(self, events: list[tuple[str, tuple[Any, ...]]]) -> None:
        self.events = events


class Admit(Effect):
    """Consult the checks made before an attempt (model health, budget): gives a
    ``aisa_core.admission.Ticket`` (which may say the model is skipped), or raises
    ``BudgetExceededError``."""

    verb = "_admit"
    __slots__ = ("info",)

    def __init__(self, info: AttemptInfo) -> None:
        self.info = info


class Leave(Effect):
    """An attempt ended: tell the checks (``ticket``) and the observers (``report``)."""

    verb = "_leave"
    __slots__ = ("report", "ticket")

    def __init__(self, ticket: Ticket, report: AttemptReport) -> None:
        self.ticket = ticket
        self.report = report


class Done(Effect):
    """A call ended: tell the observers."""

    verb = "_done"
    __slots__ = ("report",)

    def __init__(self, report: CallReport) -> None:
        self.report = report


class Emit(Effect):
    """Hand a chunk to whoever iterates the stream."""

    verb = "_emit"
    __slots__ = ("chunk",)

    def __init__(self, chunk: ChatCompletionChunk) -> None:
        self.chunk = chunk


class Driver(Generic[T]):
    """Steps a call: ``next()`` gives its next effect (``None`` once it has returned, with the
    value in ``result``); ``give`` or ``fail`` says how performing the last one went.

    Every error a call raises leaves through ``next`` (and every error the call shows its
    handlers, in a ``Notify``), so that is where ``secret`` (the client's key) is scrubbed
    from it, whatever its shape: a server that echoes the key, a transport error quoting it, a
    fallback chain's summary of them."""

    __slots__ = ("_error", "_gen", "_secret", "_value", "result")

    def __init__(self, gen: Generator[Effect, Any, T], secret: str | None = None) -> None:
        self._gen = gen
        self._secret = secret
        self._value: Any = None
        self._error: BaseException | None = None
        self.result: T | None = None

    def next(self) -> Effect | None:
        try:
            if self._error is not None:
                error, self._error = self._error, None
                effect = self._gen.throw(error)
            else:
                value, self._value = self._value, None
                effect = self._gen.send(value)
            if type(effect) is Notify and self._secret:
                _scrub_events(effect.events, self._secret)
            return effect
        except StopIteration as stop:
            self.result = stop.value
            return None
        except AISAError as error:
            if self._secret:
                scrub(error, self._secret)
            raise

    def give(self, value: Any) -> None:
        self._value = value

    def fail(self, error: BaseException) -> None:
        self._error = error

    def close(self) -> None:
        self._gen.close()


def _scrub_events(events: list[tuple[str, tuple[Any, ...]]], secret: str) -> None:
    for _, args in events:
        for arg in args:
            if isinstance(arg, BaseException):
                scrub(arg, secret)
