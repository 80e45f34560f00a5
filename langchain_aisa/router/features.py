"""What an input looks like to the router: its text, size, images and needs, read in one pass.

Pure: nothing here calls a model or does I/O. A :class:`RouteRequest` is one input being routed
(the value, the call's config, and its :class:`InputFeatures`, computed once on first use);
strategies read it to decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import RunnableConfig

__all__ = ["InputFeatures", "RouteRequest", "estimate_tokens", "features_of"]

_IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
_USER_ROLES = frozenset({"human", "user"})


def estimate_tokens(text: str) -> int:
    """About four UTF-8 bytes per token: exact enough to rank and size, and needs no tokenizer.

    Counting bytes rather than characters keeps CJK text (three bytes a character, roughly one
    token) from being underestimated fourfold.
    """
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return (size + 3) // 4


class InputFeatures:
    """The facts rules and the cost strategy look at, computed in one pass over the input.

    ``text`` is every message's text; ``last_text`` the last user message's (the request itself).
    Token counts are estimates (:func:`estimate_tokens`) of the text alone.
    """

    __slots__ = (
        "_lower",
        "_lower_last",
        "_tokens",
        "images",
        "last_text",
        "messages",
        "needs_structured_output",
        "needs_tools",
        "text",
    )

    def __init__(
        self,
        text: str,
        last_text: str,
        *,
        images: int = 0,
        messages: int = 1,
        needs_tools: bool = False,
        needs_structured_output: bool = False,
    ) -> None:
        self.text = text
        self.last_text = last_text
        self.images = images
        self.messages = messages
        self.needs_tools = needs_tools
        self.needs_structured_output = needs_structured_output
        self._tokens: int | None = None
        self._lower: str | None = None
        self._lower_last: str | None = None

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def tokens(self) -> int:
        if self._tokens is None:
            self._tokens = estimate_tokens(self.text)
        return self._tokens

    def lower(self, *, last: bool) -> str:
        """The text (or the last user text) lower-cased, computed once however many rules ask."""
        if last:
            if self._lower_last is None:
                self._lower_last = self.last_text.lower()
            return self._lower_last
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    def __repr__(self) -> str:
        return (
            f"InputFeatures(chars={self.chars}, tokens~{self.tokens}, images={self.images}, "
            f"messages={self.messages}, needs_tools={self.needs_tools}, "
            f"needs_structured_output={self.needs_structured_output})"
        )


def features_of(
    value: Any, *, needs_tools: bool = False, needs_structured_output: bool = False
) -> InputFeatures:
    """Features of anything a chat model accepts (a string, messages, a prompt value, tuples or
    role/content dicts) or of a dict input to a chain (its string values, or its ``messages``)."""
    texts: list[str] = []
    last_text = ""
    images = count = 0
    for role, content in _messages_of(value):
        count += 1
        text, found = _content_text(content)
        images += found
        if text:
            texts.append(text)
        if role in _USER_ROLES:
            last_text = text
    text = texts[0] if len(texts) == 1 else "\n".join(texts)
    return InputFeatures(
        text,
        last_text,
        images=images,
        messages=count,
        needs_tools=needs_tools,
        needs_structured_output=needs_structured_output,
    )


def _messages_of(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, str):
        return [("human", value)]
    if isinstance(value, BaseMessage):
        return [(value.type, value.content)]
    if isinstance(value, PromptValue):
        return ((m.type, m.content) for m in value.to_messages())
    if isinstance(value, Mapping):
        if "messages" in value:
            return _messages_of(value["messages"])
        if "role" in value and "content" in value:
            return [_message_like(value)]
        strings = [v for v in value.values() if isinstance(v, str)]
        return [("human", "\n".join(strings))]
    if isinstance(value, Sequence):
        return (_message_like(m) for m in value)
    return [("human", str(value))]


def _message_like(item: Any) -> tuple[str, Any]:
    if isinstance(item, BaseMessage):
        return item.type, item.content
    if isinstance(item, str):
        return "human", item
    if isinstance(item, Mapping):
        return str(item.get("role", item.get("type", "human"))), item.get("content", "")
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return str(item[0]), item[1]
    return "human", str(item)


def _content_text(content: Any) -> tuple[str, int]:
    """(text, number of images) of a message's content: a string or a list of parts."""
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, Sequence):
        return "", 0
    texts: list[str] = []
    images = 0
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in _IMAGE_PART_TYPES or (kind is None and "image_url" in part):
                images += 1
    return "\n".join(texts), images


class RouteRequest:
    """One input being routed: the value, the call's config and its features (on first use)."""

    __slots__ = ("_features", "config", "input", "needs_structured_output", "needs_tools")

    def __init__(
        self,
        value: Any,
        config: RunnableConfig | None = None,
        *,
        needs_tools: bool = False,
        needs_structured_output: bool = False,
    ) -> None:
        self.input = value
        self.config: RunnableConfig = config if config is not None else {}
        self.needs_tools = needs_tools
        self.needs_structured_output = needs_structured_output
        self._features: InputFeatures | None = None

    @property
    def features(self) -> InputFeatures:
        if self._features is None:
            self._features = features_of(
                self.input,
                needs_tools=self.needs_tools,
                needs_structured_output=self.needs_structured_output,
            )
        return self._features
