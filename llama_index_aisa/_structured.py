"""Structured output through ``response_format`` (JSON schema): the request and the parsing.

Used when the capability table says the model follows a JSON schema; other models go through
LlamaIndex's function-calling program instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable
from typing import Any, TypeVar

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.program.streaming_utils import process_streaming_content_incremental
from pydantic import BaseModel, ValidationError

from aisa_core import to_response_format

__all__ = [
    "aparse_stream",
    "parse_stream",
    "parse_structured",
    "plain_llm_kwargs",
]

Model = TypeVar("Model", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_TOOL_ONLY = ("tool_choice", "tool_required", "allow_parallel_tool_calls", "tools")


def plain_llm_kwargs(
    llm_kwargs: dict[str, Any] | None, output_cls: type[BaseModel]
) -> dict[str, Any]:
    """The caller's ``llm_kwargs`` for a JSON-schema request: tool options dropped (there are
    no tools here, and a ``tool_choice`` without tools is refused)."""
    kwargs = {k: v for k, v in (llm_kwargs or {}).items() if k not in _TOOL_ONLY}
    # The core leaves `strict` out: strict mode needs a schema rewritten to the provider's
    # subset (every field required, no extra properties), which a plain pydantic schema is not.
    kwargs["response_format"] = to_response_format(output_cls)
    return kwargs


def parse_structured(text: str | None, output_cls: type[Model]) -> Model:
    """The answer as ``output_cls``; tolerates a Markdown code fence around the JSON."""
    raw = text or ""
    fenced = _FENCE.match(raw)
    if fenced:
        raw = fenced.group(1)
    try:
        return output_cls.model_validate_json(raw)
    except ValidationError as exc:
        raise ValueError(
            f"the model's answer is not a valid {output_cls.__name__}: {exc.errors()[0]['msg']} "
            f"(answer: {raw[:200]!r})"
        ) from exc


def parse_stream(
    responses: Iterable[ChatResponse], output_cls: type[Model]
) -> Generator[Any, None, None]:
    """Partial objects as the JSON streams in (LlamaIndex's own incremental parser)."""
    current: Any = None
    for response in responses:
        current = process_streaming_content_incremental(response, output_cls, current)
        yield current


async def aparse_stream(
    responses: AsyncIterable[ChatResponse], output_cls: type[Model]
) -> AsyncGenerator[Any, None]:
    current: Any = None
    async for response in responses:
        current = process_streaming_content_incremental(response, output_cls, current)
        yield current
