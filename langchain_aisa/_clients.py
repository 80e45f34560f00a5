"""The core clients behind a ``ChatAISA``: made on first use, cached, rebuilt if a setting changed.

Made under a lock, so two threads' first calls (e.g. ``batch``) share one client and its pool.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from pydantic import BaseModel

from aisa_core import AISAClient, AsyncAISAClient

__all__ = ["CLIENT_ATTRS", "cached_client"]

# The private attributes holding each client and the settings it was built from.
CLIENT_ATTRS = ("_client", "_async_client", "_client_settings", "_async_client_settings")
_LOCK = threading.Lock()
Client = TypeVar("Client", AISAClient, AsyncAISAClient)


def cached_client(
    owner: BaseModel, attr: str, make: type[Client], settings: dict[str, Any]
) -> Client:
    """The client in ``owner``'s ``attr``, built with ``settings`` first if it is missing or was
    built from other settings (compared on every call: about a microsecond)."""
    client: Client | None = getattr(owner, attr)
    if client is None or getattr(owner, f"{attr}_settings") != settings:
        with _LOCK:
            client = getattr(owner, attr)
            if client is None or getattr(owner, f"{attr}_settings") != settings:
                client = make(**settings)
                setattr(owner, attr, client)
                setattr(owner, f"{attr}_settings", settings)
    return client
