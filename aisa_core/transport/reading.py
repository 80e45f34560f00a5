"""Reading an answer within bounds: bytes, pieces and time. No HTTP library here.

``Decoder`` undoes ``Content-Encoding`` a piece at a time (at most ``PIECE`` bytes out per
step), so a small compressed body that inflates to gigabytes is met one piece at a time and
never held whole. ``Budget`` caps a whole answer's size and the time it may take.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

from aisa_core.errors import APITimeoutError, MalformedResponseError

__all__ = ["MAX_BODY_BYTES", "PIECE", "Budget", "Decoder", "deadline_after"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest non-streamed answer we read; a broken or hostile server gets an error, not our
memory."""

PIECE = 64 * 1024
"""The most bytes one decoding step hands on."""

ACCEPT_ENCODING = "gzip, deflate"
"""What we can undo ourselves, piece by piece (never a codec we cannot bound)."""


def deadline_after(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


class Decoder:
    """Undo ``identity``, ``gzip`` or ``deflate`` in bounded pieces; anything else is refused."""

    __slots__ = ("_raw_deflate", "_z")

    def __init__(self, encoding: str | None, *, model: str | None = None) -> None:
        name = (encoding or "identity").strip().lower()
        self._raw_deflate = False
        if name in ("", "identity"):
            self._z = None
        elif name in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._z = zlib.decompressobj()
            self._raw_deflate = True  # servers send zlib-wrapped or raw deflate; try both
        else:
            raise MalformedResponseError(
                f"the answer uses Content-Encoding {name!r}, which we did not ask for",
                model=model,
            )

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """Decoded bytes of ``data``, at most ``PIECE`` at a time."""
        z = self._z
        if z is None:
            for start in range(0, len(data), PIECE):
                yield data[start : start + PIECE]
            return
        try:
            while data:
                out = z.decompress(data, PIECE)
                if out:
                    self._raw_deflate = False  # it decoded: no second guess later
                    yield out
                data = z.unconsumed_tail
        except zlib.error:
            if not self._raw_deflate:
                raise MalformedResponseError("the compressed answer is corrupt") from None
            self._z, self._raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
            yield from self.pieces(data)

    def flush(self) -> Iterator[bytes]:
        """What the decompressor still holds at the end of the body."""
        if self._z is None:
            return
        try:
            out = self._z.flush()
        except zlib.error:
            raise MalformedResponseError("the compressed answer is corrupt") from None
        for start in range(0, len(out), PIECE):
            yield out[start : start + PIECE]


class Budget:
    """What a whole answer may cost: ``MAX_BODY_BYTES`` decoded and a deadline (monotonic)."""

    __slots__ = ("deadline", "limit", "model", "parts", "size")

    def __init__(self, model: str, deadline: float | None, length: str | None = None) -> None:
        self.limit = MAX_BODY_BYTES
        self.deadline = deadline
        self.model = model
        self.parts: list[bytes] = []
        self.size = 0
        if length is not None and length.isdigit() and int(length) > self.limit:
            self._too_big()

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self._too_big()
        self.check_time()
        self.parts.append(data)

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise APITimeoutError(
                "the answer took longer than the total timeout to arrive", model=self.model
            )

    def body(self) -> bytes:
        return b"".join(self.parts)

    def _too_big(self) -> None:
        raise MalformedResponseError(
            f"the answer is larger than {self.limit} bytes; refusing to read it", model=self.model
        )
