"""The results of ``embed`` and ``rerank`` (beside the chat types in ``types.py``).

Both keep the gateway's extra fields, as the chat types do. Costs follow the chat rule: the
settled figure when the gateway gives one, ``None`` when it does not (no cost is not zero cost).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .types import ResponseMeta, Usage

__all__ = ["Embeddings", "RankedDocument", "Ranking"]


class Embeddings(BaseModel):
    """Vectors in the order of the inputs, from one model.

    ``model`` is what the gateway says served them (``meta.requested_model`` the id asked
    for); ``usage`` and ``cost_usd`` add up every request of the call (``cost_usd`` is ``None``
    when any request went unpriced); ``batches`` is how many requests it took; ``meta`` is the
    last request's headers, with the failed attempts of every request before it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    vectors: list[list[float]] = Field(default_factory=list)
    model: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    batches: int = 0
    meta: ResponseMeta = Field(default_factory=ResponseMeta, exclude=True)

    @property
    def dimensions(self) -> int | None:
        return len(self.vectors[0]) if self.vectors else None


class RankedDocument(BaseModel):
    """One reranked document: its ``index`` in the input list, its ``relevance_score`` and
    its text; any other field the gateway sent is kept (``model_extra``)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    index: int
    relevance_score: float
    document: str


class Ranking(BaseModel):
    """A rerank answer: ``results`` best first (at most ``top_n``); ``model`` served it."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True, defer_build=True)

    results: list[RankedDocument] = Field(default_factory=list)
    model: str
    usage: Usage | None = None
    meta: ResponseMeta = Field(default_factory=ResponseMeta, exclude=True)

    @property
    def cost_usd(self) -> float | None:
        """The header's exact micro-USD when present, else ``usage.cost``; never invented."""
        if self.meta.cost_micros_usd is not None:
            return self.meta.cost_micros_usd / 1_000_000
        return self.usage.cost if self.usage else None

    @property
    def indices(self) -> list[int]:
        return [r.index for r in self.results]
