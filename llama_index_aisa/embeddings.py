"""``AISAEmbedding``: AIsa's embedding models as a LlamaIndex ``BaseEmbedding``.

>>> from llama_index.core import Settings
>>> from llama_index_aisa import AISA, AISAEmbedding
>>> Settings.llm = AISA("gpt-4.1-mini")
>>> Settings.embed_model = AISAEmbedding()  # only AISA_API_KEY is needed

LlamaIndex hands texts over in chunks of ``embed_batch_size`` (2048 by default: its own limit),
on the async path several chunks at once; each chunk is one ``embed`` call of the core client,
which sends it in requests of ``batch_size`` texts (256), ``max_concurrency`` (4) at a time on
both paths, each with the core's retries and rate limiter; vectors come as base64 and are
decoded without numpy, and no tokenizer is downloaded.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import ConfigDict, Field

from aisa_core.embedding_models import DEFAULT_EMBEDDING_MODEL

from ._clients import CoreClients

__all__ = ["AISAEmbedding"]


class AISAEmbedding(CoreClients, BaseEmbedding):
    """Embeddings through the AIsa gateway (``text-embedding-3-small`` by default; also
    ``text-embedding-3-large``, ``jina-embeddings-v3``, ``jina-embeddings-v5-text-small``).

    ``fallback_models`` is empty unless you name one: vectors of two models are not
    comparable, so an index must never mix them. Each request's tokens and cost reach
    ``UsageTracker``.
    """

    model_config = ConfigDict(protected_namespaces=(), arbitrary_types_allowed=True)

    model_name: str = Field(default=DEFAULT_EMBEDDING_MODEL, description="AIsa embedding model.")
    embed_batch_size: int = Field(
        default=2048, gt=0, le=2048, description="Texts LlamaIndex hands over per call."
    )
    batch_size: int | None = Field(
        default=None, gt=0, le=2048, description="Texts per request (default 256)."
    )
    max_concurrency: int = Field(default=4, gt=0, description="Requests in flight per call.")
    dimensions: int | None = Field(
        default=None, gt=0, description="Shorter vectors, on models that can give them."
    )
    fallback_models: list[str] = Field(
        default_factory=list,
        description="Embedding models to try when the first fails; empty unless named.",
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters (e.g. Jina's task)."
    )

    def __init__(self, model_name: str = DEFAULT_EMBEDDING_MODEL, **data: Any) -> None:
        data["model_name"] = model_name
        super().__init__(**data)

    @classmethod
    def class_name(cls) -> str:
        return "AISAEmbedding"

    def _options(self) -> dict[str, Any]:
        return {
            **self.additional_kwargs,
            "model": self.model_name,
            "dimensions": self.dimensions,
            "batch_size": self.batch_size,
            "max_concurrency": self.max_concurrency,
            "fallback_models": self.fallback_models,
        }

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed(texts, **self._options()).vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return (await self._aclient.embed(texts, **self._options())).vectors

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._aget_text_embeddings([query]))[0]
