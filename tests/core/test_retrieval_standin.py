"""``embed`` and ``rerank`` on both clients against the stand-in gateway over a real loopback
socket: real sizes, base64 on the wire, usage and cost, retrieval that finds the right text."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator

import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn
from tests.retrieval_corpus import DOCS as CORPUS

DOCS = CORPUS[:4]


@pytest.fixture
def client(aisa_standin: StandIn) -> Iterator[AISAClient]:
    c = AISAClient(api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, timeout=10)
    c._sleep = lambda s: None
    yield c
    c.close()


@pytest.fixture
async def aclient(aisa_standin: StandIn) -> AsyncIterator[AsyncAISAClient]:
    c = AsyncAISAClient(api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, timeout=10)
    yield c
    await c.aclose()


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def nearest(query: list[float], vectors: list[list[float]]) -> int:
    return max(range(len(vectors)), key=lambda i: cosine(query, vectors[i]))


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("jina-embeddings-v3", 1024),
        ("jina-embeddings-v5-text-small", 1024),
    ],
)
def test_real_sizes_base64_usage_and_cost(
    client: AISAClient, aisa_standin: StandIn, model: str, size: int
) -> None:
    result = client.embed(DOCS, model=model)
    assert aisa_standin.last_request.json["encoding_format"] == "base64"
    assert result.dimensions == size and len(result.vectors) == len(DOCS)
    assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-5) for v in result.vectors)
    assert result.model == model and result.usage.prompt_tokens > 0
    assert result.cost_usd is not None and result.cost_usd == result.meta.cost_micros_usd / 1e6


def test_retrieval_finds_the_right_document(client: AISAClient) -> None:
    vectors = client.embed(DOCS).vectors
    questions = {
        "What is the capital of Peru?": 1,
        "Which river flows through Brazil?": 0,
        "Where is the Inca citadel?": 2,
        "What dish is made of raw fish?": 3,
    }
    for question, expected in questions.items():
        (asked,) = client.embed(question).vectors
        assert nearest(asked, vectors) == expected, question


def test_dimensions_shorten_like_matryoshka(client: AISAClient) -> None:
    """A shortened vector is the full one cut and renormalised, and it still retrieves."""
    (full,) = client.embed(DOCS[1]).vectors
    (short,) = client.embed(DOCS[1], dimensions=256).vectors
    norm = math.sqrt(sum(x * x for x in full[:256]))
    assert len(short) == 256
    assert short == pytest.approx([x / norm for x in full[:256]], abs=1e-6)
    vectors = client.embed(DOCS, dimensions=256).vectors
    (asked,) = client.embed("capital city of Peru", dimensions=256).vectors
    assert nearest(asked, vectors) == 1


def test_many_texts_in_batches(client: AISAClient, aisa_standin: StandIn) -> None:
    texts = [f"note {i} about topic {i % 7}" for i in range(50)]
    result = client.embed(texts, batch_size=8)
    assert result.batches == 7 and len(result.vectors) == 50
    embedded = client.embed(texts[17]).vectors[0]
    assert result.vectors[17] == embedded  # input order kept across batches
    posts = [r for r in aisa_standin.requests if r.path == "/v1/embeddings"]
    assert sorted(len(r.json["input"]) for r in posts[:7]) == [2, 8, 8, 8, 8, 8, 8]


def test_batch_retried_after_a_429(client: AISAClient, aisa_standin: StandIn) -> None:
    aisa_standin.enqueue_fault(Fault(status=429, retry_after=0), model="text-embedding-3-small")
    assert len(client.embed(["a", "b"]).vectors) == 2
    assert len(aisa_standin.requests) == 2


def test_unknown_model_is_not_replaced(client: AISAClient, aisa_standin: StandIn) -> None:
    with pytest.raises(E.UnknownModelError, match="not comparable"):
        client.embed("x", model="unknown-embedder")
    assert {r.json["model"] for r in aisa_standin.requests} == {"unknown-embedder"}


def test_rerank_best_first(client: AISAClient) -> None:
    ranking = client.rerank("What is the capital of Peru?", DOCS, top_n=2)
    assert ranking.indices[0] == 1 and len(ranking.results) == 2
    assert ranking.results[0].document == DOCS[1]
    scores = [r.relevance_score for r in ranking.results]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert ranking.model == "jina-reranker-v3"
    assert ranking.usage is not None and ranking.cost_usd is not None


async def test_async_embed_and_rerank(aclient: AsyncAISAClient, aisa_standin: StandIn) -> None:
    texts = [f"note {i} about topic {i % 7}" for i in range(30)]
    result = await aclient.embed(texts, batch_size=4, max_concurrency=3)
    assert result.batches == 8 and result.dimensions == 1536
    assert result.vectors[29] == (await aclient.embed(texts[29])).vectors[0]
    ranking = await aclient.rerank("Which river flows through Brazil?", DOCS)
    assert ranking.indices[0] == 0 and len(ranking.results) == len(DOCS)
