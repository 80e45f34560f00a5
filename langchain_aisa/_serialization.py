"""Opt ``ChatAISA`` into langchain-core's ``load(..., allowed_objects="all")``."""

from __future__ import annotations

import importlib

from langchain_core.load.serializable import Serializable

__all__ = ["allow_load_all"]


def allow_load_all(cls: type[Serializable]) -> None:
    """Let ``load(..., allowed_objects="all")`` revive ``cls``, as it does the partner chat
    models listed in langchain-core's own mapping (its "trusted partner integrations").

    Only ``cls`` is added; ``allowed_objects="core"`` (the default) still refuses it.
    """
    loader = importlib.import_module("langchain_core.load.load")

    path = (*cls.get_lc_namespace(), cls.__name__)
    loader.ALL_SERIALIZABLE_MAPPINGS.setdefault(path, path)
    cached = loader._default_class_paths_cache.get("all")
    if cached is not None:
        cached.add(path)
