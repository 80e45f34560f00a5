"""Constructor arguments of ``AISA``: LlamaIndex's spellings accepted, unknown names refused."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from aisa_core import ConfigurationError

__all__ = ["known_arguments"]


def known_arguments(cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``api_base`` (LlamaIndex's name for the base URL) as ``base_url``; any other unknown
    argument is an error: dropped silently, ``api_base`` sent traffic to the real gateway."""
    data = dict(data)
    if "api_base" in data:
        alias = data.pop("api_base")
        if data.get("base_url") not in (None, alias):
            message = "AISA got both base_url= and api_base= (its alias), with different values"
            raise ConfigurationError(message)
        data["base_url"] = alias
    unknown = sorted(k for k in data if k not in cls.model_fields)
    if unknown:
        close = [m for k in unknown for m in difflib.get_close_matches(k, cls.model_fields, 1)]
        raise ConfigurationError(
            f"AISA got unknown argument(s) {', '.join(unknown)}",
            hint=(f"Did you mean {', '.join(close)}? " if close else "")
            + "Request parameters it does not declare go in additional_kwargs={...}",
        )
    return data
