"""``AISARerank``: AIsa's rerankers as a LangChain document compressor, e.g. in a
``ContextualCompressionRetriever`` (``langchain-classic``)::

    retriever = ContextualCompressionRetriever(
        base_compressor=AISARerank(top_n=3), base_retriever=store.as_retriever(k=20)
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import Field

from aisa_core import Ranking
from aisa_core.embedding_models import DEFAULT_RERANK_MODEL

from ._errors import mapped_errors
from ._owner import OWNER_CONFIG, CoreClientOwner

__all__ = ["AISARerank"]


class AISARerank(CoreClientOwner, BaseDocumentCompressor):
    """Reorders retrieved documents by relevance to the query (``jina-reranker-v3`` by
    default) and keeps the best ``top_n``; each keeps its metadata plus
    ``metadata["relevance_score"]``. Settings are ``ChatAISA``'s (key, base URL, timeouts,
    retries, rate limiter, model health, budget); tokens and cost reach
    ``get_aisa_callback()``."""

    model_config = OWNER_CONFIG

    model: str = DEFAULT_RERANK_MODEL
    top_n: int | None = 3
    """Documents to keep (``None``: all, reordered)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Request parameters this class does not declare."""

    def _options(self) -> dict[str, Any]:
        return {**self.model_kwargs, "model": self.model, "top_n": self.top_n}

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        texts = [d.page_content for d in documents]
        with mapped_errors():
            return _ranked(documents, self._core().rerank(query, texts, **self._options()))

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        texts = [d.page_content for d in documents]
        with mapped_errors():
            ranking = await self._acore().rerank(query, texts, **self._options())
        return _ranked(documents, ranking)


def _ranked(documents: Sequence[Document], ranking: Ranking) -> list[Document]:
    """Copies of the kept documents, best first, scored; the originals are left unchanged."""
    out = []
    for result in ranking.results:
        doc = documents[result.index]
        metadata = {**doc.metadata, "relevance_score": result.relevance_score}
        out.append(doc.model_copy(update={"metadata": metadata}))
    return out
