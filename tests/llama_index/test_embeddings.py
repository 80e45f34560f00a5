"""``AISAEmbedding`` and ``AISARerank``: a dozen documents indexed and queried on the stand-in
gateway with only the AIsa key set, with and without the reranker; batches, the async path,
settings on the wire, usage per model, and the key kept out of serialised forms."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from aisa_core import ConfigurationError
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn
from llama_index_aisa import AISA, AISAEmbedding, AISARerank, UsageTracker
from tests.llama_index.helpers import KEY
from tests.retrieval_corpus import DOCS, QUESTIONS


@pytest.fixture
def only_the_aisa_key(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """``AISA_API_KEY`` (and the stand-in's URL) in the environment, no OpenAI variables, and
    LlamaIndex's global ``Settings`` restored afterwards."""
    monkeypatch.setenv("AISA_API_KEY", standin.api_key)
    monkeypatch.setenv("AISA_BASE_URL", standin.base_url)
    saved = (Settings._llm, Settings._embed_model)
    yield standin
    Settings._llm, Settings._embed_model = saved


def documents() -> list[Document]:
    return [Document(text=t, id_=f"doc-{i}", metadata={"i": i}) for i, t in enumerate(DOCS)]


def test_vector_index_on_the_aisa_key_alone(only_the_aisa_key: StandIn) -> None:
    Settings.llm = AISA("gpt-4.1-mini")
    Settings.embed_model = AISAEmbedding()
    index = VectorStoreIndex.from_documents(documents())
    retriever = index.as_retriever(similarity_top_k=1)
    for question, expected in QUESTIONS.items():
        (best,) = retriever.retrieve(question)
        assert best.node.metadata["i"] == expected, question
    engine = index.as_query_engine(similarity_top_k=2)
    response = engine.query("How many hearts does an octopus have?")
    assert str(response) == DOCS[11]  # the stand-in answers from the retrieved context
    assert response.source_nodes[0].node.metadata["i"] == 11
    paths = {r.path for r in only_the_aisa_key.requests}
    assert paths == {"/v1/embeddings", "/v1/chat/completions"}


def test_reranker_as_a_node_postprocessor(only_the_aisa_key: StandIn) -> None:
    Settings.llm = AISA("gpt-4.1-mini")
    index = VectorStoreIndex.from_documents(documents(), embed_model=AISAEmbedding(dimensions=256))
    engine = index.as_query_engine(similarity_top_k=6, node_postprocessors=[AISARerank(top_n=1)])
    for question, expected in QUESTIONS.items():
        response = engine.query(question)
        (kept,) = response.source_nodes
        assert kept.node.metadata["i"] == expected, question
        assert str(response) == DOCS[expected]
        assert kept.score is not None and 0 < kept.score <= 1
    reranks = [r for r in only_the_aisa_key.requests if r.path == "/v1/rerank"]
    assert len(reranks) == 5 and all(len(r.json["documents"]) == 6 for r in reranks)


async def test_async_index_and_query(only_the_aisa_key: StandIn) -> None:
    embed_model = AISAEmbedding(embed_batch_size=6, batch_size=5)
    llm = AISA("gpt-4.1-mini")
    index = VectorStoreIndex([], embed_model=embed_model)  # nodes are embedded below, async
    nodes = [TextNode(text=t, id_=f"n{i}", metadata={"i": i}) for i, t in enumerate(DOCS)]
    vectors = await embed_model.aget_text_embedding_batch([n.text for n in nodes])
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector
    index.insert_nodes(nodes)
    batches = [r.json["input"] for r in only_the_aisa_key.requests if r.path == "/v1/embeddings"]
    assert sorted(len(b) for b in batches) == [1, 1, 5, 5]  # two chunks of 6, by 5
    engine = index.as_query_engine(
        llm=llm, similarity_top_k=4, node_postprocessors=[AISARerank(top_n=2)]
    )
    for question, expected in QUESTIONS.items():
        response = await engine.aquery(question)
        assert response.source_nodes[0].node.metadata["i"] == expected, question
    await embed_model.aclose()
    await llm.aclose()


async def test_async_batches_run_concurrently() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        size = len(json.loads(request.content)["input"])
        data = [{"index": i, "embedding": [1.0, 0.0]} for i in range(size)]
        return httpx.Response(200, json={"data": data, "model": "text-embedding-3-small"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    model = AISAEmbedding(api_key=KEY, batch_size=3, async_http_client=http)
    vectors = await model.aget_text_embedding_batch([f"text {i}" for i in range(12)])
    assert len(vectors) == 12 and peak == 4  # four batches, all in flight at once
    await http.aclose()


# --- settings, usage and errors --------------------------------------------------------------


def test_settings_reach_the_request() -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        data = [{"index": i, "embedding": [0.5] * 64} for i in range(len(body["input"]))]
        return httpx.Response(200, json={"data": data, "model": body["model"]})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    model = AISAEmbedding(
        "jina-embeddings-v3",
        api_key=KEY,
        dimensions=64,
        additional_kwargs={"task": "retrieval.query"},
        http_client=http,
    )
    assert model.get_query_embedding("q") == [0.5] * 64
    assert sent == [
        {
            "model": "jina-embeddings-v3",
            "input": ["q"],
            "encoding_format": "base64",
            "task": "retrieval.query",
            "dimensions": 64,
        }
    ]
    http.close()


def test_usage_per_model(only_the_aisa_key: StandIn) -> None:
    with UsageTracker() as usage:
        index = VectorStoreIndex.from_documents(documents(), embed_model=AISAEmbedding())
        engine = index.as_query_engine(
            llm=AISA("gpt-4.1-mini"), node_postprocessors=[AISARerank(top_n=1)]
        )
        engine.query("What is the capital of Peru?")
    assert set(usage.by_model) == {"text-embedding-3-small", "jina-reranker-v3", "gpt-4.1-mini"}
    embedded = usage.by_model["text-embedding-3-small"]
    assert embedded.calls == 2 and embedded.completion_tokens == 0  # documents, then the query
    spent = only_the_aisa_key.spent_micros_usd / 1e6
    assert usage.cost_usd == pytest.approx(spent) and usage.unpriced_calls == 0
    table = usage.table()
    assert "jina-reranker-v3" in table and table.splitlines()[-1].startswith("total")


def test_no_fallback_unless_named(only_the_aisa_key: StandIn) -> None:
    only_the_aisa_key.fail_model("text-embedding-3-small", Fault(status=500))
    with pytest.raises(E.ServerError, match="not comparable"):
        AISAEmbedding(max_retries=0).get_text_embedding("x")
    named = AISAEmbedding(max_retries=0, fallback_models=["text-embedding-3-large"])
    assert len(named.get_text_embedding("x")) == 3072


def test_reranker_needs_the_query_and_handles_nothing(only_the_aisa_key: StandIn) -> None:
    reranker = AISARerank(top_n=None)
    nodes = [NodeWithScore(node=TextNode(text=t), score=0.0) for t in DOCS[:3]]
    with pytest.raises(ValueError, match="query"):
        reranker.postprocess_nodes(nodes)
    assert reranker.postprocess_nodes([], query_str="q") == []
    kept = reranker.postprocess_nodes(nodes, query_bundle=QueryBundle("Inca citadel"))
    assert len(kept) == 3 and kept[0].node.get_content() == DOCS[2]
    assert nodes[0].score == 0.0  # the input nodes keep their scores


def test_key_never_serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    model = AISAEmbedding(api_key=KEY, dimensions=256, http_client=httpx.Client())
    reranker = AISARerank(api_key=KEY)
    for thing in (model, reranker):
        for text in (json.dumps(thing.to_dict()), thing.to_json(), repr(thing), str(thing)):
            assert KEY not in text
        assert KEY.encode() not in pickle.dumps(thing)
    assert KEY not in json.dumps(model.to_payload())
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-from-the-env-123")
    again = pickle.loads(pickle.dumps(model))
    assert (again.model_name, again.dimensions, again.http_client) == (
        "text-embedding-3-small",
        256,
        None,
    )
    assert again.client.settings.api_key.get_secret_value() == "sk-aisa-from-the-env-123"
    assert AISAEmbedding.from_dict(model.to_dict()).dimensions == 256


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AISA_API_KEY"):
        AISAEmbedding()
    # Pickles never hold the key: one loaded without AISA_API_KEY fails at its first call
    # (before anything is sent), not at load, so it can still be given a key.
    restored = pickle.loads(pickle.dumps(AISARerank(api_key=KEY)))
    with pytest.raises(ConfigurationError, match="AISA_API_KEY"):
        restored.client.rerank("question", ["a document"])
    restored.api_key = KEY  # type: ignore[assignment]
    assert restored.client.settings.api_key.get_secret_value() == KEY


def test_changing_a_connection_field_rebuilds_the_client() -> None:
    model = AISAEmbedding(api_key=KEY)
    before = model.client
    model.base_url = "https://other.example/v1"
    assert model.client is not before
    assert model.client.settings.base_url == "https://other.example/v1"
