"""The stand-in's ``/v1/embeddings`` and ``/v1/rerank`` answers: requests checked as the
gateway would (``RequestError`` for a 400), answers built from the lexical features of
``_lexical``. Pure functions of the request body.

Embeddings have each model's real size (1536 for ``text-embedding-3-small``, 3072 for
``-large``, 1024 for the Jina models; 1536 for ids it does not know), ``dimensions`` shortens
them where the model can, ``encoding_format: base64`` gives little-endian float32. Reranking
follows Jina's format (AIsa's standard): ``results[].{index, relevance_score, document}``,
best first.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
from collections.abc import Callable
from typing import Any

from ._answers import RequestError
from ._catalog import tokens
from ._lexical import embed, features, similarity

__all__ = ["Plan", "plan_embeddings", "plan_rerank"]

Answer = Callable[[int], dict[str, Any]]
Plan = Callable[[dict[str, Any]], tuple[int, Answer]]
"""A checked request's billed tokens, and its answer given its cost in micro-USD."""

# model: (native size, shortens, longest input in tokens)
_EMBEDDERS: dict[str, tuple[int, bool, int]] = {
    "text-embedding-3-small": (1536, True, 8191),
    "text-embedding-3-large": (3072, True, 8191),
    "text-embedding-ada-002": (1536, False, 8191),
    "jina-embeddings-v3": (1024, True, 8192),
    "jina-embeddings-v5-text-small": (1024, True, 32_768),
}
_UNKNOWN_EMBEDDER = (1536, True, 8191)
MAX_INPUTS = 2048


def _bad(message: str) -> RequestError:
    return RequestError(400, "invalid_request", message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_embeddings(body: dict[str, Any]) -> tuple[list[str], int, int | None, bool]:
    """``(texts, native size, shortened size or None, base64)``, or a ``RequestError``."""
    given = body["input"]
    if isinstance(given, str) or (isinstance(given, list) and given and all(map(_is_int, given))):
        given = [given]  # one text, or one pre-tokenised input
    if not isinstance(given, list) or not given:
        raise _bad("model must be a string and input a string or a non-empty array")
    if len(given) > MAX_INPUTS:
        raise _bad(f"input may hold at most {MAX_INPUTS} items, got {len(given)}")
    texts = [t if isinstance(t, str) else json.dumps(t) for t in given]
    size, shortens, longest = _EMBEDDERS.get(body["model"], _UNKNOWN_EMBEDDER)
    for i, text in enumerate(texts):
        if not text:
            raise _bad(f"input[{i}] cannot be an empty string")
        if tokens(text) > longest:
            raise _bad(f"input[{i}] is longer than this model's {longest}-token limit")
    encoding = body.get("encoding_format") or "float"
    dimensions = body.get("dimensions")
    if encoding not in ("float", "base64") or not (
        dimensions is None or (_is_int(dimensions) and 1 <= dimensions <= size)
    ):
        raise _bad(f"dimensions must be 1-{size} and encoding_format float or base64")
    if dimensions is not None and not shortens and dimensions != size:
        raise _bad(f"{body['model']} does not support dimensions")
    return texts, size, dimensions, encoding == "base64"


def embeddings_body(
    model: str, texts: list[str], size: int, keep: int | None, packed: bool, cost: int
) -> dict[str, Any]:
    data = []
    for index, text in enumerate(texts):
        vector = embed(text, size, keep)
        value: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append(
            {"object": "embedding", "index": index, "embedding": value if packed else vector}
        )
    prompt = embedding_tokens(texts)
    usage = {"prompt_tokens": prompt, "total_tokens": prompt, "cost": cost / 1_000_000}
    return {"object": "list", "data": data, "model": model, "usage": usage}


def embedding_tokens(texts: list[str]) -> int:
    return sum(max(1, tokens(t)) for t in texts)


def check_rerank(body: dict[str, Any]) -> tuple[str, list[str], int | None, bool]:
    """``(query, documents, top_n, return_documents)``, or a ``RequestError``."""
    query, given = body["query"], body["documents"]
    if not isinstance(query, str) or not isinstance(given, list) or not given:
        raise _bad("query must be a string and documents a non-empty array")
    documents = []
    for i, doc in enumerate(given):
        text = doc.get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            raise _bad(f"documents[{i}] must be a string or an object with text")
        documents.append(text)
    top_n = body.get("top_n")
    if top_n is not None and not (_is_int(top_n) and top_n >= 1):
        raise _bad("top_n must be a positive integer")
    returned = body.get("return_documents", True)
    if not isinstance(returned, bool):
        raise _bad("return_documents must be a boolean")
    return query, documents, top_n, returned


def rerank_tokens(query: str, documents: list[str]) -> int:
    """Each document is read together with the query."""
    return sum(tokens(query) + tokens(d) for d in documents) or 1


def rerank_body(
    model: str, query: str, documents: list[str], top_n: int | None, returned: bool, cost: int
) -> dict[str, Any]:
    asked = features(query)
    scores = [similarity(asked, features(d)) for d in documents]
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[:top_n]
    results: list[dict[str, Any]] = []
    for i in order:
        result: dict[str, Any] = {"index": i, "relevance_score": round(scores[i], 6)}
        if returned:
            result["document"] = {"text": documents[i]}
        results.append(result)
    prompt = rerank_tokens(query, documents)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": 0,
        "total_tokens": prompt,
        "cost": cost / 1_000_000,
    }
    return {"model": model, "results": results, "usage": usage}


def plan_embeddings(body: dict[str, Any]) -> tuple[int, Answer]:
    texts, size, keep, packed = check_embeddings(body)
    answer = functools.partial(embeddings_body, body["model"], texts, size, keep, packed)
    return embedding_tokens(texts), answer


def plan_rerank(body: dict[str, Any]) -> tuple[int, Answer]:
    query, documents, top_n, returned = check_rerank(body)
    answer = functools.partial(rerank_body, body["model"], query, documents, top_n, returned)
    return rerank_tokens(query, documents), answer
