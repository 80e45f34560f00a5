"""Keeping the API key out of what users see: ``redact`` for a text, ``scrub`` for an error.

``redact`` replaces anything shaped like an ``sk-`` key, and the client's own key whatever its
shape, also when a length limit cut it short. ``scrub`` applies it to every text an error holds,
to the failures of a fallback chain, and along the chain of causes. The client's driver calls it
on every error a call raises (``aisa_core.protocol.effects.Driver``); ``aisa_core.errors``
re-exports both.
"""

from __future__ import annotations

import re

__all__ = ["redact", "scrub"]

_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")
_KEY_HEAD = 8
"""A run of text matching the key's first characters for at least this many is masked too: a
message cut at a length limit may end inside the key."""


def redact(text: str, secret: str | None = None) -> str:
    """Remove anything that looks like an API key, and ``secret`` itself (whatever its shape,
    also cut short), from ``text``."""
    if secret:
        text = _mask(text.replace(secret, "***"), secret)
    return _KEY_PATTERN.sub("sk-***", text)


def _mask(text: str, secret: str) -> str:
    head = secret[:_KEY_HEAD]
    start = text.find(head)
    while start != -1:
        end = start + len(head)
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = f"{text[:start]}***{text[end:]}"
        start = text.find(head, start + 3)
    return text


def scrub(error: BaseException, secret: str) -> None:
    """Remove ``secret`` (the client's own key) from ``error`` in place: every text our errors
    hold, the failures of a fallback chain, and the errors chained to it. A foreign cause whose
    text holds the key is cut from the chain (its traceback would print it)."""
    from .errors import AISAError  # that module imports this one

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AISAError):
            _scrub_texts(current, secret)
            for attempt in getattr(current, "attempts", ()):  # AllModelsFailedError
                scrub(attempt.error, secret)
        for link in ("__cause__", "__context__"):
            linked = getattr(current, link)
            if linked is not None and not isinstance(linked, AISAError) and secret in str(linked):
                setattr(current, link, None)
                current.__suppress_context__ = True
        current = current.__cause__ or current.__context__


def _scrub_texts(error: BaseException, secret: str) -> None:
    for name, value in list(vars(error).items()):
        if isinstance(value, str):
            setattr(error, name, redact(value, secret))
    error.args = tuple(redact(a, secret) if isinstance(a, str) else a for a in error.args)
