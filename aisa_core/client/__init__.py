"""The two clients, ``AISAClient`` (``sync``) and ``AsyncAISAClient`` (``aio``), and the settings
they share (``settings``). Each runs the protocol's pure operations through one loop and
performs their effects on the transport; the async half loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import ClientSettings
from .sync import AISAClient, ChatStream

if TYPE_CHECKING:
    from .aio import AsyncAISAClient, AsyncChatStream

__all__ = ["AISAClient", "AsyncAISAClient", "AsyncChatStream", "ChatStream", "ClientSettings"]


def __getattr__(name: str) -> Any:
    if name in ("AsyncAISAClient", "AsyncChatStream"):
        from . import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
