"""The one place where a transport failure becomes one of our errors.

httpx's and aiohttp's exceptions, socket errors and timeouts all arrive here and leave as
``APIConnectionError`` and its subclasses, raised from the cause.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import httpx

from aisa_core.errors import AISAError, APIConnectionError, APITimeoutError, StreamInterruptedError

__all__ = ["map_transport_errors"]


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return True
    asyncio = sys.modules.get("asyncio")  # its TimeoutError is a separate class before 3.11
    return asyncio is not None and isinstance(exc, asyncio.TimeoutError)


def _is_transport(exc: BaseException) -> bool:
    if isinstance(exc, (httpx.TransportError, httpx.StreamError, OSError)):
        return True
    aiohttp = sys.modules.get("aiohttp")  # only if something already loaded it
    return aiohttp is not None and isinstance(exc, aiohttp.ClientError)


@contextlib.contextmanager
def map_transport_errors(*, model: str | None, streaming: bool = False) -> Iterator[None]:
    """Transport failures to ``APIConnectionError`` and subclasses, raised from the cause.

    ``streaming=True`` means tokens may already have reached the caller, so a broken or stalled
    connection is a ``StreamInterruptedError`` (not retryable, never a silent short answer).
    """
    try:
        yield
    except AISAError:
        raise
    except Exception as exc:
        timeout = _is_timeout(exc)
        if not timeout and not _is_transport(exc):
            raise
        text = str(exc) or type(exc).__name__
        if streaming:
            what = "stalled: no event within the read timeout" if timeout else "broke off"
            raise StreamInterruptedError(f"stream {what} ({text})", model=model) from exc
        if timeout:
            raise APITimeoutError(f"request timed out ({text})", model=model) from exc
        raise APIConnectionError(f"connection failed: {text}", model=model) from exc
