"""``POST /v1/rerank``: documents ordered by relevance to a query. Pure.

AIsa adopts Jina's rerank format (its docs say every vendor's answer is reshaped into it):
the request ``{model, query, documents, top_n, return_documents}``, the answer
``results[].{index, relevance_score, document?}`` with ``document`` a string or ``{"text"}``.
AIsa's OpenAPI file describes another answer, ``results[].{document, score, rank}`` without an
index, so that one is read too (each document found back in the input list). Anything else is
a ``MalformedResponseError``. Results come back best first, at most ``top_n``, each with the
caller's own document text; fields we do not know are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aisa_core.config import Timeouts
from aisa_core.errors import InvalidInputError, MalformedResponseError, error_from_body
from aisa_core.retrieval import RankedDocument, Ranking
from aisa_core.types import Usage

from .chat import Target
from .operation import Answering, check_served
from .wire import Reply, Request, dumps, meta_from, parse_json

__all__ = ["Rerank", "read_ranking"]

_KNOWN = frozenset(("index", "relevance_score", "score", "document"))


class Rerank(Answering[Ranking]):
    """One rerank call. Options: ``extra_headers``, ``timeout``, ``extra_body`` (merged last)
    and request parameters (unknown ones pass through)."""

    name = "rerank"

    def __init__(
        self,
        target: Target,
        query: str,
        documents: Sequence[str],
        *,
        model: str,
        top_n: int | None = None,
        fallback_models: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(target.chain(model, fallback_models or ()))
        check_served(self.models, "rerank")
        self.documents = _check(query, documents, top_n)
        self.top_n = len(self.documents) if top_n is None else top_n
        self.url = target.url("/rerank")
        self.headers = target.request_headers(options.pop("extra_headers", None), False)
        timeout = options.pop("timeout", None)
        self.timeouts = None if timeout is None else Timeouts.of(timeout)
        extra_body = options.pop("extra_body", None) or {}
        self.body = {
            "query": query,
            "documents": self.documents,
            # AIsa's OpenAPI file marks top_n required; documents come back so an answer in
            # that file's shape (no index) can be matched to the input list.
            "top_n": min(self.top_n, len(self.documents)),
            "return_documents": True,
            **options,
            **extra_body,
        }

    def request(self, model: str, route: int) -> Request:
        return Request(
            "POST", self.url, self.headers, dumps({"model": model, **self.body}), self.timeouts
        )

    def read(self, reply: Reply, model: str) -> Ranking:
        data = parse_json(reply, "POST /rerank")
        ranking = read_ranking(data, self.documents, self.top_n, model)
        ranking.meta = meta_from(reply, model)
        return ranking

    def facts(self, result: Ranking) -> dict[str, Any]:
        return {"usage": result.usage, "cost_usd": result.cost_usd, "served_model": result.model}

    def describe(self) -> dict[str, Any]:
        """The parameters, never the query or the documents (they are content)."""
        return {k: v for k, v in self.body.items() if k not in ("query", "documents")}

    def empty(self) -> Ranking:
        """The answer for no documents, given without a request."""
        return Ranking(model=self.models[0])


def _check(query: str, documents: Sequence[str], top_n: int | None) -> list[str]:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError(f"query must be a non-empty string, got {query!r:.60}")
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise InvalidInputError("documents must be a list of strings")
    for i, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise InvalidInputError(f"documents[{i}] must be a string, got {type(doc).__name__}")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise InvalidInputError(f"top_n must be a positive integer, got {top_n!r}")
    return list(documents)


def read_ranking(data: Any, documents: Sequence[str], top_n: int, model: str) -> Ranking:
    """A rerank answer in Jina's shape or the OpenAPI file's, best first, cut to ``top_n``."""
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, list):
        if isinstance(data, Mapping) and "error" in data:
            raise error_from_body(data, model=model)
        raise MalformedResponseError(f"not a rerank answer: {str(data)[:120]!r}", model=model)
    taken: set[int] = set()
    ranked = [_one(item, documents, taken, model) for item in results]
    ranked.sort(key=lambda r: -r.relevance_score)  # stable: ties keep the server's order
    usage = data.get("usage")
    served = data.get("model")
    extra = {k: v for k, v in data.items() if k not in ("results", "usage", "model", "meta")}
    return Ranking(
        results=ranked[:top_n],
        model=served if isinstance(served, str) and served else model,
        usage=Usage.model_validate(usage) if isinstance(usage, Mapping) else None,
        **extra,
    )


def _one(item: Any, documents: Sequence[str], taken: set[int], model: str) -> RankedDocument:
    if not isinstance(item, Mapping):
        raise MalformedResponseError(f"a rerank result is not an object: {item!r:.60}", model=model)
    index: Any = item.get("index")
    score: Any = item.get("relevance_score")
    if not _number(score):  # AIsa's OpenAPI shape: {document, score, rank}
        index, score = _find(item.get("document"), documents, taken), item.get("score")
    if not isinstance(index, int) or isinstance(index, bool) or not _number(score):
        raise MalformedResponseError(
            f"a rerank result has neither Jina's shape (index, relevance_score) nor "
            f"(document, score): {dict(item)!r:.120}",
            model=model,
        )
    if not 0 <= index < len(documents) or index in taken:
        raise MalformedResponseError(f"rerank result index {index} is out of range or repeated")
    taken.add(index)
    extra = {k: v for k, v in item.items() if k not in _KNOWN}
    return RankedDocument(
        index=index, relevance_score=float(score), document=documents[index], **extra
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _find(document: Any, documents: Sequence[str], taken: set[int]) -> int | None:
    """The input index of a returned document (a string or ``{"text"}``), first unused match."""
    text = document.get("text") if isinstance(document, Mapping) else document
    if not isinstance(text, str):
        return None
    return next((i for i, d in enumerate(documents) if d == text and i not in taken), None)
