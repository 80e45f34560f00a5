"""``rerank`` on both clients through ``httpx.MockTransport``: the exact request, Jina's answer
shape and the shape in AIsa's OpenAPI file, best first, unknown fields kept, bad answers and bad
inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, Ranking
from aisa_core import errors as E
from tests.core.helpers import KEY, Recorder

MakeClient = Callable[..., AISAClient]
DOCS = ["Paris is in France.", "Lima is the capital of Peru.", "Cats purr."]


def jina(results: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    usage = {"prompt_tokens": 40, "completion_tokens": 0, "total_tokens": 40}
    return httpx.Response(
        200,
        json={"model": "jina-reranker-v3", "results": results, "usage": usage, **extra},
        headers={"x-aisa-customer-cost-micros-usd": "7"},
    )


def test_request_is_exactly_jinas(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(jina([{"index": 1, "relevance_score": 0.9}]))
    make_client().rerank("capital of Peru", DOCS)
    (request,) = recorder.requests
    assert str(request.url) == "https://api.aisa.one/v1/rerank"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "jina-reranker-v3",
        "query": "capital of Peru",
        "documents": DOCS,
        "top_n": 3,
        "return_documents": True,
    }


def test_jina_answer_best_first_with_documents_and_unknown_fields(
    make_client: MakeClient, recorder: Recorder
) -> None:
    results = [
        {"index": 2, "relevance_score": 0.1, "document": {"text": DOCS[2]}},
        {"index": 1, "relevance_score": 0.9, "document": {"text": DOCS[1]}, "rationale": "x"},
        {"index": 0, "relevance_score": 0.4},
    ]
    recorder.script.append(jina(results, id="rr-1"))
    ranking = make_client().rerank("capital of Peru", DOCS, top_n=2, model="aisa/jina-reranker-m0")
    assert json.loads(recorder.requests[0].content)["model"] == "jina-reranker-m0"
    assert json.loads(recorder.requests[0].content)["top_n"] == 2
    assert isinstance(ranking, Ranking)
    assert ranking.indices == [1, 0]  # sorted, and cut to top_n
    assert [r.document for r in ranking.results] == [DOCS[1], DOCS[0]]
    assert ranking.results[0].relevance_score == 0.9
    assert ranking.results[0].model_extra == {"rationale": "x"}
    assert ranking.model_extra == {"id": "rr-1"}
    assert ranking.model == "jina-reranker-v3"
    assert ranking.usage is not None and ranking.usage.total_tokens == 40
    assert ranking.cost_usd == 7e-6


def test_openapi_shape_is_matched_back_to_the_inputs(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """AIsa's OpenAPI file: ``{document, score, rank}``, no index; equal texts map in turn."""
    docs = ["same", "other", "same"]
    results = [
        {"document": "same", "score": 0.8, "rank": 1},
        {"document": "same", "score": 0.7, "rank": 2},
        {"document": "other", "score": 0.1, "rank": 3},
    ]
    recorder.script.append(httpx.Response(200, json={"results": results}))
    ranking = make_client().rerank("q", docs)
    assert ranking.indices == [0, 2, 1]
    assert [r.model_extra for r in ranking.results] == [{"rank": 1}, {"rank": 2}, {"rank": 3}]
    assert ranking.usage is None and ranking.cost_usd is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"results": [{"idx": 0, "value": 1}]}, E.MalformedResponseError),
        ({"results": [{"index": 0}]}, E.MalformedResponseError),
        ({"results": [{"index": 9, "relevance_score": 0.5}]}, E.MalformedResponseError),
        ({"results": [{"index": 0, "relevance_score": 0.5}] * 2}, E.MalformedResponseError),
        ({"results": [{"document": "not an input", "score": 0.5}]}, E.MalformedResponseError),
        ({"data": []}, E.MalformedResponseError),
        ({"error": {"message": "no such model", "code": "model_not_found"}}, E.UnknownModelError),
    ],
)
def test_answers_in_neither_shape(
    make_client: MakeClient, recorder: Recorder, body: dict[str, Any], error: type[Exception]
) -> None:
    recorder.script.append(httpx.Response(200, json=body))
    with pytest.raises(error):
        make_client(max_retries=0).rerank("q", DOCS)


@pytest.mark.parametrize(
    ("query", "documents", "top_n"),
    [
        ("", DOCS, None),
        ("   ", DOCS, None),
        ("q", "one string", None),
        ("q", ["ok", 3], None),
        ("q", DOCS, 0),
        ("q", DOCS, True),
    ],
)
def test_bad_input_fails_before_any_request(
    make_client: MakeClient, recorder: Recorder, query: Any, documents: Any, top_n: Any
) -> None:
    with pytest.raises(E.InvalidInputError):
        make_client().rerank(query, documents, top_n=top_n)
    assert recorder.requests == []


def test_no_documents_no_request(make_client: MakeClient, recorder: Recorder) -> None:
    assert make_client().rerank("q", []).results == []
    assert recorder.requests == []


def test_no_fallback_to_the_clients_chat_models(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [httpx.Response(503, json={"error": {"code": "provider_unavailable"}})] * 3
    with pytest.raises(E.ServerError):
        make_client(fallback_models=["gpt-4.1-mini"]).rerank("q", DOCS)
    assert {json.loads(r.content)["model"] for r in recorder.requests} == {"jina-reranker-v3"}


async def test_async_rerank(recorder: Recorder) -> None:
    recorder.script.append(jina([{"index": 0, "relevance_score": 0.2}]))
    client = AsyncAISAClient(api_key=KEY, transport=httpx.MockTransport(recorder))
    ranking = await client.rerank("q", DOCS, top_n=1)
    assert ranking.indices == [0] and ranking.results[0].document == DOCS[0]
    assert json.loads(recorder.requests[0].content)["top_n"] == 1
    assert (await client.rerank("q", [])).results == []
    await client.aclose()
