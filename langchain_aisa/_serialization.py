"""Opt this package's classes into langchain-core's ``load(..., allowed_objects="all")``."""

from __future__ import annotations

import importlib

from langchain_core.load.serializable import Serializable

__all__ = ["allow_load_all"]


def allow_load_all(cls: type[Serializable]) -> None:
    """Let ``load(..., allowed_objects="all")`` revive ``cls``, as it does the partner chat
    models listed in langchain-core's own mapping (its "trusted partner integrations").

    Only ``cls`` is added; ``allowed_objects="core"`` (the default) still refuses it. The
    package's namespace joins langchain-core's default namespaces, as the partners' do, so no
    ``valid_namespaces=`` is needed (without it, langchain-core refuses with an "Invalid
    namespace" error that prints the object's arguments, secrets from the environment
    included).
    """
    loader = importlib.import_module("langchain_core.load.load")

    path = (*cls.get_lc_namespace(), cls.__name__)
    loader.ALL_SERIALIZABLE_MAPPINGS.setdefault(path, path)
    cached = loader._default_class_paths_cache.get("all")
    if cached is not None:
        cached.add(path)
    if path[0] not in loader.DEFAULT_NAMESPACES:
        loader.DEFAULT_NAMESPACES.append(path[0])
