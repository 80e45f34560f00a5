"""Bytes to chunks for one streamed answer, and the other small pure pieces both clients share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._sse import ServerSentEvent, SSEDecoder
from ._stream import parse_event
from .capabilities import capabilities
from .errors import AISAError, MalformedResponseError
from .types import ChatCompletion, ChatCompletionChunk, CompareResult, ModelInfo

__all__ = ["ChunkReader", "compare_result", "gemini_body", "model_infos"]


class ChunkReader:
    """Feed network reads, get chunks; ``done`` turns true at ``[DONE]``.

    A body that ends without ``[DONE]`` is accepted if it carried chunks (some providers omit
    it), but a body that carried nothing at all is an error, never an empty success.
    """

    __slots__ = ("_decoder", "_model", "_pending", "done", "seen")

    def __init__(self, model: str) -> None:
        self._decoder = SSEDecoder()
        self._model = model
        self._pending: AISAError | None = None
        self.done = False
        self.seen = 0

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        self._raise_pending()
        return self._parse(self._decoder.feed(data))

    def _raise_pending(self) -> None:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def finish(self) -> list[ChatCompletionChunk]:
        """End of body: the last partial event, and ``done`` from now on."""
        self._raise_pending()
        chunks = self._parse(self._decoder.close())
        self.done = True
        if not self.seen and not chunks:
            raise MalformedResponseError(
                "the stream ended before any data arrived", model=self._model
            )
        return chunks

    def _parse(self, events: Iterable[ServerSentEvent]) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        for event in events:
            if self.done:
                break
            try:
                chunk = parse_event(event, model=self._model)
            except AISAError as error:
                if not out:
                    raise
                self._pending = error  # deliver the chunks before it first: nothing is lost
                break
            if chunk is None:
                self.done = True
                break
            self.seen += 1
            out.append(chunk)
        return out


def model_infos(data: Any) -> list[ModelInfo]:
    """``/v1/models`` entries merged with the capability table (the listing has no limits)."""
    rows = data.get("data", []) if isinstance(data, Mapping) else []
    out = []
    for row in rows:
        if isinstance(row, Mapping) and isinstance(row.get("id"), str):
            out.append(merge_model_info(row))
    return out


def model_info(data: Any, model_id: str) -> ModelInfo:
    """``/v1/models/{id}``: one entry (bare, or wrapped in ``data``) merged with the table."""
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    row = data if isinstance(data, Mapping) and isinstance(data.get("id"), str) else {}
    return merge_model_info({"id": model_id, **row})


def merge_model_info(row: Mapping[str, Any]) -> ModelInfo:
    base = capabilities(row["id"]).model_dump()
    base.update({k: v for k, v in row.items() if v is not None})
    return ModelInfo.model_validate(base)


def compare_result(
    model: str, outcome: ChatCompletion | Exception, latency: float
) -> CompareResult:
    if isinstance(outcome, ChatCompletion):
        usage = outcome.usage
        return CompareResult(
            model=model,
            ok=True,
            text=outcome.text,
            latency_s=latency,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cost_usd=outcome.cost_usd,
            served_model=outcome.model or None,
        )
    return CompareResult(
        model=model,
        ok=False,
        status="error",
        latency_s=latency,
        error=str(outcome),
        error_type=type(outcome).__name__,
    )


def gemini_body(
    prompt: str | Sequence[Mapping[str, Any]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``generateContent`` body from a prompt string or ready ``contents``."""
    if isinstance(prompt, str):
        contents: list[Any] = [{"role": "user", "parts": [{"text": prompt}]}]
    else:
        contents = [dict(c) for c in prompt]
    return {"contents": contents, **extra}


def completion_chunk(completion: ChatCompletion) -> ChatCompletionChunk:
    """A non-streamed answer (some backends ignore ``stream``) as one equivalent chunk."""
    message = completion.message
    delta: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning_content:
        delta["reasoning_content"] = message.reasoning_content
    if message.tool_calls:
        delta["tool_calls"] = [
            {"index": i, **tc.model_dump()} for i, tc in enumerate(message.tool_calls)
        ]
    return ChatCompletionChunk.model_validate(
        {
            "id": completion.id,
            "created": completion.created,
            "model": completion.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": completion.finish_reason}],
            "usage": completion.usage.model_dump() if completion.usage else None,
        }
    )
