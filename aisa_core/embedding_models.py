"""What each embedding and rerank model behind AIsa can do. Never raises.

Kept apart from the chat-model table (``capabilities.py``), which is regenerated from AIsa's
catalog: AIsa lists these ids (``text-embedding-3-small``, ``text-embedding-3-large``,
``jina-embeddings-v3``, ``jina-embeddings-v5-text-small``, ``jina-reranker-v3``) but publishes
no figures for them, so the figures below are the providers' own (OpenAI's embeddings guide,
Jina's model pages). Prices are USD per million input tokens, indicative (the providers' list
prices; ``None`` where no per-token price is published). ``X-AISA-Customer-Cost-Micros-USD``
or ``usage.cost`` in an answer is always the settled figure.

``dimensions`` is the vector size a model returns by default; a model that ``shortens`` takes
a smaller ``dimensions`` (down to ``min_dimensions``: Matryoshka training, or OpenAI's
``text-embedding-3`` family). ``max_input_tokens`` is the limit of one input text (for a
reranker, of the query and documents together); ``max_batch`` and ``max_request_tokens`` bound
one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import normalize_model

__all__ = ["DEFAULT_EMBEDDING_MODEL", "DEFAULT_RERANK_MODEL", "RetrievalModel", "retrieval_model"]

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
DEFAULT_RERANK_MODEL = "jina-reranker-v3"


@dataclass(frozen=True)
class RetrievalModel:
    """One embedding or rerank model; ``known=False`` for an id not in the table."""

    id: str
    kind: Literal["embedding", "rerank"]
    max_input_tokens: int | None
    dimensions: int | None = None
    shortens: bool = False
    min_dimensions: int = 1
    price: float | None = None
    max_batch: int = 2048
    max_request_tokens: int = 300_000
    known: bool = True


_TABLE: dict[str, RetrievalModel] = {
    m.id: m
    for m in (
        # OpenAI: 8191 tokens per input, 2048 inputs and 300k tokens per request.
        RetrievalModel("text-embedding-3-small", "embedding", 8191, 1536, True, 1, 0.02),
        RetrievalModel("text-embedding-3-large", "embedding", 8191, 3072, True, 1, 0.13),
        RetrievalModel("text-embedding-ada-002", "embedding", 8191, 1536, False, 1536, 0.10),
        # Jina: Matryoshka dimensions 32..1024.
        RetrievalModel("jina-embeddings-v3", "embedding", 8192, 1024, True, 32),
        RetrievalModel("jina-embeddings-v5-text-small", "embedding", 32_768, 1024, True, 32),
        RetrievalModel("jina-embeddings-v5-text-nano", "embedding", 8192, 768, True, 32),
        RetrievalModel("jina-reranker-v3", "rerank", 131_072),
        RetrievalModel("jina-reranker-v2-base-multilingual", "rerank", 8192),
        RetrievalModel("jina-reranker-m0", "rerank", 10_240),
    )
}


def retrieval_model(model: str) -> RetrievalModel:
    """The table's row for ``model`` (``aisa/`` prefix allowed), or a permissive default with
    ``known=False``: no per-text limit, no dimension check, OpenAI's request limits."""
    try:
        mid = normalize_model(model)
    except ValueError:
        mid = model
    found = _TABLE.get(mid)
    if found is not None:
        return found
    kind: Literal["embedding", "rerank"] = "rerank" if "rerank" in mid else "embedding"
    return RetrievalModel(mid, kind, None, None, True, 1, None, known=False)
