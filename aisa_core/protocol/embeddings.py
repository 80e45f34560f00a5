"""``POST /v1/embeddings``: inputs checked and split into batches, one ``Embed`` operation per
batch, answers decoded and put back in input order, batches merged. Pure.

A call is an ``EmbedJob``: it checks every input before anything is sent, plans the batches
(by count and by an estimated token budget per request), makes one ``Embed`` operation per
batch for the client to run (each with the core's retries and rate limits), and merges the
answers. The clients only decide how batches run: one after another or a few at a time.

Embeddings never fall back to another model on their own: vectors of two models are not
comparable, so a fallback would silently break every similarity computed with them. With
explicit ``fallback_models``, the first batch settles the model and the others must use it.
"""

from __future__ import annotations

import binascii
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aisa_core.config import Timeouts
from aisa_core.embedding_models import RetrievalModel, retrieval_model
from aisa_core.errors import (
    AISAError,
    InvalidInputError,
    MalformedResponseError,
    error_from_body,
)
from aisa_core.retrieval import Embeddings
from aisa_core.types import ResponseMeta, Usage

from .chat import Target
from .operation import Answering, check_served
from .wire import Reply, Request, dumps, meta_from, parse_json

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONCURRENCY",
    "Embed",
    "EmbedJob",
    "EmbeddingBatch",
    "check_texts",
    "decode_vector",
    "estimate_tokens",
    "plan_batches",
    "read_batch",
]

DEFAULT_BATCH_SIZE = 256
"""Inputs per request: small enough that a call has several batches to run at once and each
answer stays a few MiB, large enough that request overhead is noise."""
DEFAULT_CONCURRENCY = 4
"""Batches in flight per call: under AIsa's free tier's 5 concurrent requests."""
_NOT_COMPARABLE = "vectors of two embedding models are not comparable"
_SWAP_BYTES = sys.byteorder == "big"  # the wire format is little-endian float32
# Refuse stray characters (3.11+; older versions skip them, and a wrong length still fails).
_STRICT: dict[str, bool] = {"strict_mode": True} if sys.version_info >= (3, 11) else {}


def check_texts(given: str | Sequence[str]) -> list[str]:
    """One text or many, as a list; an empty string or a non-string is an ``InvalidInputError``
    (the gateway refuses empty inputs; token-id inputs are not supported)."""
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, Sequence) or isinstance(texts, (bytes, bytearray)):
        raise InvalidInputError(f"input must be a string or a list of strings, got {given!r:.80}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInputError(f"input[{i}] must be a string, got {type(text).__name__}")
        if not text:
            raise InvalidInputError(f"input[{i}] is an empty string, which cannot be embedded")
    return list(texts)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ~4 characters per token for ASCII, one token per character
    beyond it (CJK and the like run near one token per character, so chars/4 alone would
    pack batches the gateway refuses)."""
    if text.isascii():
        return -(-len(text) // 4)
    wide = -(-(len(text.encode()) - len(text)) // 2)  # 2-byte chars count half, 3-byte one
    return -(-(len(text) - wide) // 4) + wide


def plan_batches(costs: Sequence[int], max_count: int, max_tokens: int) -> list[range]:
    """Consecutive batches of at most ``max_count`` inputs and ``max_tokens`` estimated tokens
    (an input above the budget goes alone)."""
    batches: list[range] = []
    start = used = 0
    for i, cost in enumerate(costs):
        if i > start and (i - start >= max_count or used + cost > max_tokens):
            batches.append(range(start, i))
            start, used = i, 0
        used += cost
    if start < len(costs):
        batches.append(range(start, len(costs)))
    return batches


def decode_vector(value: Any) -> list[float]:
    """One ``embedding``: base64 little-endian float32 (as asked), or a list of numbers (a
    server that ignored ``encoding_format``). Decoded with ``array``; numpy is not needed."""
    if isinstance(value, str):
        vector = array("f")
        try:  # a length that is not whole float32s fails here
            vector.frombytes(binascii.a2b_base64(value, **_STRICT))
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponseError("an embedding is not base64 float32 data") from exc
        if not vector:
            raise MalformedResponseError("an embedding is empty")
        if _SWAP_BYTES:
            vector.byteswap()
        return vector.tolist()
    if isinstance(value, list):
        try:
            numbers = array("d", value).tolist()  # ints become floats; anything else fails
        except TypeError as exc:
            raise MalformedResponseError("an embedding holds something other than numbers") from exc
        if not numbers:
            raise MalformedResponseError("an embedding is empty")
        return numbers
    raise MalformedResponseError(f"an embedding is neither a list nor base64: {value!r:.60}")


@dataclass
class EmbeddingBatch:
    """The answer to one batch: vectors in input order and what served them."""

    vectors: list[list[float]]
    model: str
    usage: Usage
    meta: ResponseMeta

    @property
    def cost_usd(self) -> float | None:
        if self.meta.cost_micros_usd is not None:
            return self.meta.cost_micros_usd / 1_000_000
        return self.usage.cost


def read_batch(data: Any, reply: Reply, model: str, count: int, dims: int | None) -> EmbeddingBatch:
    """An embeddings answer for ``count`` inputs, vectors put in input order by ``index``."""
    items = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        if isinstance(data, Mapping) and "error" in data:
            raise error_from_body(data, model=model)
        raise MalformedResponseError("the answer has no embeddings (`data`)", model=model)
    if len(items) != count:
        raise MalformedResponseError(f"{len(items)} embeddings for {count} inputs", model=model)
    vectors = [decode_vector(_field(item, "embedding")) for item in items]
    vectors = _in_input_order(items, vectors)
    sizes = {len(v) for v in vectors}
    if len(sizes) > 1 or (dims is not None and sizes != {dims}):
        wanted = f"; asked for {dims}" if dims is not None else ""
        raise MalformedResponseError(f"vectors of sizes {sorted(sizes)}{wanted}", model=model)
    usage = data.get("usage")
    served = data.get("model")
    return EmbeddingBatch(
        vectors=vectors,
        model=served if isinstance(served, str) and served else model,
        usage=Usage.model_validate(usage) if isinstance(usage, Mapping) else Usage(),
        meta=meta_from(reply, model),
    )


def _field(item: Any, name: str) -> Any:
    if not isinstance(item, Mapping) or name not in item:
        raise MalformedResponseError(f"an entry of `data` has no `{name}`: {item!r:.60}")
    return item[name]


def _in_input_order(items: list[Any], vectors: list[list[float]]) -> list[list[float]]:
    indices = [item.get("index") for item in items]
    if all(i is None for i in indices):
        return vectors  # no indices at all: the order they came in
    if sorted(i for i in indices if isinstance(i, int)) != list(range(len(items))):
        raise MalformedResponseError(f"embedding indices {indices[:8]} are not 0..{len(items) - 1}")
    ordered: list[list[float]] = [[]] * len(items)
    for index, vector in zip(indices, vectors, strict=True):
        ordered[index] = vector
    return ordered


class Embed(Answering[EmbeddingBatch]):
    """One batch: ``texts`` to ``POST /v1/embeddings`` over ``models`` (one, unless the caller
    named fallbacks). Each batch is a call of its own on the attempt seam, named
    ``embeddings`` as in the OpenTelemetry GenAI conventions."""

    name = "embeddings"

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        models: Sequence[str],
        texts: list[str],
        params: Mapping[str, Any],
        timeouts: Timeouts | None = None,
    ) -> None:
        super().__init__(models)
        self.url, self.headers, self.texts, self.params = url, headers, texts, params
        self.timeouts = timeouts
        dims = params.get("dimensions")
        self.dimensions = dims if isinstance(dims, int) else None

    def request(self, model: str, route: int) -> Request:
        body = {"model": model, "input": self.texts, **self.params}
        return Request("POST", self.url, self.headers, dumps(body), self.timeouts)

    def read(self, reply: Reply, model: str) -> EmbeddingBatch:
        data = parse_json(reply, "POST /embeddings")
        return read_batch(data, reply, model, len(self.texts), self.dimensions)

    def facts(self, result: EmbeddingBatch) -> dict[str, Any]:
        return {"usage": result.usage, "cost_usd": result.cost_usd, "served_model": result.model}

    def describe(self) -> dict[str, Any]:
        """The parameters, never the texts (observers that export content must ask first)."""
        return dict(self.params)


class EmbedJob:
    """One ``embed`` call: checked inputs, planned batches, the model they all use, the merge.

    Options: ``extra_headers``, ``timeout``, ``extra_body`` (merged last), ``max_concurrency``
    (batches in flight), and request parameters such as ``encoding_format`` (``"base64"``
    unless given), ``user`` or Jina's ``task`` (unknown ones pass through).
    """

    def __init__(
        self,
        target: Target,
        given: str | Sequence[str],
        *,
        model: str,
        fallback_models: Sequence[str] | None = None,
        dimensions: int | None = None,
        batch_size: int | None = None,
        **options: Any,
    ) -> None:
        self.texts = check_texts(given)
        self.chain = target.chain(model, fallback_models or ())
        check_served(self.chain, "embeddings")
        rows = [retrieval_model(m) for m in self.chain]
        _check_dimensions(dimensions, rows)
        self.concurrency = _positive(
            options.pop("max_concurrency", DEFAULT_CONCURRENCY), "max_concurrency"
        )
        self.url = target.url("/embeddings")
        self.headers = target.request_headers(options.pop("extra_headers", None), False)
        timeout = options.pop("timeout", None)
        self.timeouts = None if timeout is None else Timeouts.of(timeout)
        extra_body = options.pop("extra_body", None) or {}
        self.params = {"encoding_format": "base64", **options, **extra_body}
        if dimensions is not None:
            self.params["dimensions"] = dimensions
        self.batches = self._plan(rows, batch_size)
        self._pinned: str | None = None
        self.failure: AISAError | None = None

    def _plan(self, rows: list[RetrievalModel], batch_size: int | None) -> list[range]:
        largest = min(r.max_batch for r in rows)
        size = _positive(DEFAULT_BATCH_SIZE if batch_size is None else batch_size, "batch_size")
        if size > largest:
            raise InvalidInputError(f"batch_size must be at most {largest} for {self.chain[0]}")
        costs = [estimate_tokens(t) for t in self.texts]
        for row in rows:
            _check_lengths(costs, row)
        return plan_batches(costs, min(size, largest), min(r.max_request_tokens for r in rows))

    @property
    def settles_model_first(self) -> bool:
        """With fallbacks and several batches, the first batch runs alone and fixes the model."""
        return len(self.chain) > 1 and len(self.batches) > 1

    def operation(self, i: int) -> Embed:
        """Batch ``i``'s operation; once a batch has failed, the call has: raise its error."""
        if self.failure is not None:
            raise self.failure
        models = [self._pinned] if self._pinned else self.chain
        texts = self.texts[self.batches[i].start : self.batches[i].stop]
        return Embed(self.url, self.headers, models, texts, self.params, self.timeouts)

    def done(self, batch: EmbeddingBatch) -> EmbeddingBatch:
        if self._pinned is None and batch.meta.requested_model:
            self._pinned = batch.meta.requested_model
        return batch

    def failed(self, i: int, error: AISAError) -> None:
        """Tell ``error`` (in its ``hint``) which batch failed and why no other model was tried;
        the first failure is the call's."""
        if self.failure is not None:
            return
        self.failure = error
        span = self.batches[i]
        where = (
            f"Embedding batch {i + 1} of {len(self.batches)} (inputs {span.start}-{span.stop - 1})"
        )
        if self._pinned and len(self.chain) > 1:
            why = (
                f"{where} failed on {self._pinned}, which embedded the batches before it; "
                f"it was not sent to another model because {_NOT_COMPARABLE}. Retry the call"
            )
        elif len(self.chain) > 1:
            why = f"{where} failed on every model named"
        else:
            why = (
                f"{where} failed; no other embedding model was tried because {_NOT_COMPARABLE} "
                "(name fallback_models= to allow one for a whole call)"
            )
        error.hint = f"{why}. {error.hint}" if error.hint else why

    def merge(self, batches: Sequence[EmbeddingBatch]) -> Embeddings:
        if not batches:
            return Embeddings.model_construct(
                model=self.chain[0], cost_usd=0.0
            )  # nothing sent, nothing billed
        costs = [b.cost_usd for b in batches]
        meta = batches[-1].meta.model_copy()
        meta.attempts = tuple(a for b in batches for a in b.meta.attempts)
        prompt = sum(b.usage.prompt_tokens for b in batches)
        total = sum(b.usage.total_tokens for b in batches)
        # Built without validation: the vectors are ours, and checking millions of floats
        # again would cost as much as decoding them.
        return Embeddings.model_construct(
            vectors=[v for b in batches for v in b.vectors],
            model=batches[0].model,
            usage=Usage(prompt_tokens=prompt, total_tokens=total),
            cost_usd=None if None in costs else sum(c for c in costs if c is not None),
            batches=len(batches),
            meta=meta,
        )


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_dimensions(dimensions: int | None, rows: list[RetrievalModel]) -> None:
    if dimensions is None:
        return
    _positive(dimensions, "dimensions")
    for row in rows:
        if row.dimensions is None:
            continue
        if not row.shortens and dimensions != row.dimensions:
            raise InvalidInputError(
                f"{row.id} cannot shorten its vectors (dimensions= must be {row.dimensions})"
            )
        if not row.min_dimensions <= dimensions <= row.dimensions:
            raise InvalidInputError(
                f"dimensions={dimensions} is outside {row.min_dimensions}..{row.dimensions} "
                f"for {row.id}"
            )


def _check_lengths(costs: list[int], row: RetrievalModel) -> None:
    limit = row.max_input_tokens
    if limit is None:
        return
    for i, cost in enumerate(costs):
        if cost > limit:
            raise InvalidInputError(
                f"input[{i}] is about {cost} tokens (estimated, ~4 characters per token), more "
                f"than {row.id} takes in one text ({limit}); split it first"
            )
