"""``AISARerank``: AIsa's rerankers as a LlamaIndex node postprocessor.

>>> from llama_index_aisa import AISARerank
>>> engine = index.as_query_engine(  # doctest: +SKIP
...     similarity_top_k=10, node_postprocessors=[AISARerank(top_n=3)]
... )
"""

from __future__ import annotations

from typing import Any

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from pydantic import Field

from aisa_core import Ranking
from aisa_core.embedding_models import DEFAULT_RERANK_MODEL

from ._clients import CoreClients

__all__ = ["AISARerank"]


class AISARerank(CoreClients, BaseNodePostprocessor):
    """Reorders retrieved nodes by relevance to the query (``jina-reranker-v3`` by default)
    and keeps the best ``top_n``; each node's score becomes its relevance score."""

    model: str = Field(default=DEFAULT_RERANK_MODEL, description="AIsa rerank model.")
    top_n: int | None = Field(default=3, gt=0, description="Nodes to keep (None: all).")
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters."
    )

    @classmethod
    def class_name(cls) -> str:
        return "AISARerank"

    def _request(self, nodes: list[NodeWithScore], query: QueryBundle | None) -> dict[str, Any]:
        if query is None:
            raise ValueError("AISARerank needs the query (a QueryBundle or query_str)")
        texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        return {
            **self.additional_kwargs,
            "query": query.query_str,
            "documents": texts,
            "model": self.model,
            "top_n": self.top_n,
        }

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes:
            return []
        return _reranked(nodes, self._client.rerank(**self._request(nodes, query_bundle)))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes:
            return []
        ranking = await self._aclient.rerank(**self._request(nodes, query_bundle))
        return _reranked(nodes, ranking)


def _reranked(nodes: list[NodeWithScore], ranking: Ranking) -> list[NodeWithScore]:
    return [
        NodeWithScore(node=nodes[r.index].node, score=r.relevance_score) for r in ranking.results
    ]
