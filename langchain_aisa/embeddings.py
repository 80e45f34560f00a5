"""``AISAEmbeddings``: AIsa's embedding models as LangChain ``Embeddings``, on ``aisa_core``.

The core client does the work: batches by count and by an estimated token budget, a few
batches at once (threads on the sync path, tasks on the async one), retries per batch, base64
vectors decoded without numpy, and no tokenizer download.
"""

from __future__ import annotations

import builtins
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.load.serializable import Serializable
from pydantic import Field

from aisa_core.embedding_models import DEFAULT_EMBEDDING_MODEL

from ._errors import mapped_errors
from ._owner import OWNER_CONFIG, CoreClientOwner
from ._serialization import allow_load_all

__all__ = ["AISAEmbeddings"]


class AISAEmbeddings(CoreClientOwner, Serializable, Embeddings):
    """Embeddings through the AIsa gateway (``text-embedding-3-small`` by default; also
    ``text-embedding-3-large``, ``jina-embeddings-v3``, ``jina-embeddings-v5-text-small``).

    >>> from langchain_aisa import AISAEmbeddings
    >>> embeddings = AISAEmbeddings(model="text-embedding-3-small", dimensions=512)
    >>> embeddings.embed_query("Hello")  # doctest: +SKIP

    Settings are ``ChatAISA``'s (``api_key``/``AISA_API_KEY``, ``base_url``/``AISA_BASE_URL``,
    ``timeout``, ``max_retries``, ``default_headers``, ``aisa_rate_limiter``, ``aisa_health``,
    ``aisa_budget``, ``http_client``).
    Nothing is downloaded (no tokenizer): batches are sized by an estimate of ~4 characters
    per token. ``fallback_models`` is empty unless you name one, because vectors of two models
    are not comparable; with one named, every batch of a call comes from the same model.
    Tokens and cost reach ``get_aisa_callback()``. Serialised (``dumpd``) and pickled without
    the key.
    """

    model_config = OWNER_CONFIG

    model: str = DEFAULT_EMBEDDING_MODEL
    """Embedding model id (``aisa/`` prefix allowed)."""
    dimensions: int | None = None
    """Shorter vectors, on models that can give them (``text-embedding-3-*``, Jina)."""
    batch_size: int | None = None
    """Texts per request (default 256; at most 2048)."""
    max_concurrency: int = 4
    """Requests in flight per call."""
    fallback_models: list[str] = Field(default_factory=list)
    """Embedding models to try when ``model`` fails; empty unless you name them."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Request parameters this class does not declare (e.g. Jina's ``task``)."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_aisa", "embeddings"]

    def _options(self) -> builtins.dict[str, Any]:
        return {
            **self.model_kwargs,
            "model": self.model,
            "dimensions": self.dimensions,
            "batch_size": self.batch_size,
            "max_concurrency": self.max_concurrency,
            "fallback_models": self.fallback_models,
        }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        with mapped_errors():
            return self._core().embed(texts, **self._options()).vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        with mapped_errors():
            return (await self._acore().embed(texts, **self._options())).vectors

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


allow_load_all(AISAEmbeddings)
