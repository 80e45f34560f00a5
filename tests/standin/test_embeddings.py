"""The stand-in's retrieval routes and grounded chat answers: embeddings of each model's real
size that follow shared words, ``dimensions`` as Matryoshka truncation, ``/v1/rerank`` in Jina's
shape, and chat answers to the frameworks' retrieval prompts read from their context."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import httpx
import pytest

from aisa_core.standin import Fault, StandIn
from tests.retrieval_corpus import DOCS as CORPUS

DOCS = CORPUS[:5]


def embed(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", "text-embedding-3-small")
    return client.post("/embeddings", json=body)


def vectors(client: httpx.Client, texts: list[str], **body: Any) -> list[list[float]]:
    response = embed(client, input=texts, **body)
    assert response.status_code == 200, response.text
    return [d["embedding"] for d in response.json()["data"]]


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# -- embeddings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("text-embedding-ada-002", 1536),
        ("jina-embeddings-v3", 1024),
        ("jina-embeddings-v5-text-small", 1024),
        ("some-new-embedder", 1536),
    ],
)
def test_each_model_has_its_real_size(client: httpx.Client, model: str, size: int) -> None:
    (vector,) = vectors(client, ["hello"], model=model)
    assert len(vector) == size
    assert math.isclose(dot(vector, vector), 1.0, rel_tol=1e-9)


def test_similarity_follows_shared_words(client: httpx.Client) -> None:
    docs = vectors(client, DOCS)
    for question, expected in [
        ("What is the capital of Peru?", 1),
        ("Which rivers flow through Brazil?", 0),
        ("Where is the Inca citadel?", 2),
        ("A dish of raw fish", 3),
        ("ancient geoglyphs", 4),
    ]:
        (asked,) = vectors(client, [question])
        scores = [dot(asked, d) for d in docs]
        assert max(range(len(docs)), key=scores.__getitem__) == expected, question


def test_deterministic_across_requests_and_batches(client: httpx.Client) -> None:
    together = vectors(client, DOCS[:3])
    apart = [vectors(client, [d])[0] for d in DOCS[:3]]
    assert together == apart


def test_dimensions_truncate_and_renormalise(client: httpx.Client) -> None:
    (full,) = vectors(client, [DOCS[1]], model="jina-embeddings-v3")
    for size in (32, 100, 512):
        (short,) = vectors(client, [DOCS[1]], model="jina-embeddings-v3", dimensions=size)
        norm = math.sqrt(sum(x * x for x in full[:size]))
        assert len(short) == size
        assert short == pytest.approx([x / norm for x in full[:size]], abs=1e-12)


def test_base64_is_little_endian_float32(client: httpx.Client) -> None:
    (plain,) = vectors(client, ["hello"], dimensions=16)
    response = embed(client, input="hello", dimensions=16, encoding_format="base64")
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    assert struct.unpack("<16f", raw) == pytest.approx(plain, rel=1e-6)


def test_usage_and_cost_as_for_chat(client: httpx.Client, standin: StandIn) -> None:
    response = embed(client, input=DOCS, model="text-embedding-3-large")
    usage = response.json()["usage"]
    tokens = sum(-(-len(d) // 4) for d in DOCS)
    cost = -(-tokens * 130 // 1000)  # $0.13 per M tokens, micro-USD rounded up
    assert usage == {"prompt_tokens": tokens, "total_tokens": tokens, "cost": cost / 1e6}
    assert response.headers["x-aisa-customer-cost-micros-usd"] == str(cost)
    assert standin.spent_micros_usd == cost


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": ["ok", ""]}, "empty"),
        ({"input": ["x"] * 2049}, "at most 2048"),
        ({"input": "word " * 8000}, "token limit"),
        ({"input": "x", "dimensions": 1537}, "dimensions"),
        ({"input": "x", "model": "jina-embeddings-v3", "dimensions": 2048}, "dimensions"),
        ({"input": "x", "model": "text-embedding-ada-002", "dimensions": 256}, "dimensions"),
    ],
)
def test_what_the_gateway_refuses(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = embed(client, **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert message in response.json()["error"]["message"]


# -- rerank ---------------------------------------------------------------------------------


def rerank(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", "jina-reranker-v3")
    return client.post("/rerank", json=body)


def test_rerank_in_jinas_shape(client: httpx.Client, standin: StandIn) -> None:
    response = rerank(client, query="What is the capital of Peru?", documents=DOCS, top_n=3)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "jina-reranker-v3"
    results = body["results"]
    assert results[0]["index"] == 1 and len(results) == 3
    assert results[0]["document"] == {"text": DOCS[1]}
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    tokens = sum(-(-len("What is the capital of Peru?") // 4) + -(-len(d) // 4) for d in DOCS)
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] == tokens
    cost = int(response.headers["x-aisa-customer-cost-micros-usd"])
    assert body["usage"]["cost"] == cost / 1e6 and standin.spent_micros_usd == cost


def test_rerank_without_documents_or_top_n(client: httpx.Client) -> None:
    docs = [{"text": d} for d in DOCS]  # Jina also takes {"text"} objects
    results = rerank(client, query="raw fish", documents=docs, return_documents=False).json()
    assert len(results["results"]) == len(DOCS)
    assert results["results"][0] == {"index": 3, "relevance_score": pytest.approx(0.5, abs=0.5)}


@pytest.mark.parametrize(
    "body",
    [
        {"query": "q", "documents": []},
        {"query": "q", "documents": "one"},
        {"query": "q", "documents": ["a", 1]},
        {"query": "q", "documents": ["a"], "top_n": 0},
        {"query": "q", "documents": ["a"], "return_documents": "yes"},
    ],
)
def test_rerank_refuses_bad_requests(client: httpx.Client, body: dict[str, Any]) -> None:
    response = rerank(client, **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_rerank_takes_faults_and_unknown_models(client: httpx.Client, standin: StandIn) -> None:
    assert rerank(client, query="q", documents=["a"], model=None).status_code == 400
    standin.enqueue_fault(Fault(status=429), model="jina-reranker-v3")
    assert rerank(client, query="q", documents=["a"]).status_code == 429
    assert rerank(client, query="q", documents=["a"], model="unknown-ranker").status_code == 503


# -- chat answers to retrieval prompts --------------------------------------------------------

CONTEXT = "file_path: /tmp/notes/peru.txt\n\n" + "\n\n".join(DOCS)


def answer(client: httpx.Client, messages: list[dict[str, Any]]) -> str:
    response = client.post("/chat/completions", json={"model": "gpt-4.1", "messages": messages})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def test_llama_index_question_answering_prompt(client: httpx.Client) -> None:
    prompts = pytest.importorskip("llama_index.core.prompts.chat_prompts")
    messages = prompts.CHAT_TEXT_QA_PROMPT.format_messages(
        context_str=CONTEXT, query_str="What is the capital of Peru?"
    )
    wire = [{"role": m.role.value, "content": m.content} for m in messages]
    assert answer(client, wire) == DOCS[1]


def test_llama_index_refine_prompt(client: httpx.Client) -> None:
    defaults = pytest.importorskip("llama_index.core.prompts.default_prompts")
    text = defaults.DEFAULT_REFINE_PROMPT_TMPL.format(
        query_str="Which river flows through Brazil?",
        existing_answer="Unknown.",
        context_msg=CONTEXT,
    )
    assert answer(client, [{"role": "user", "content": text}]) == DOCS[0]


def test_llama_index_context_chat_engine(client: httpx.Client) -> None:
    engine = pytest.importorskip("llama_index.core.chat_engine.condense_plus_context")
    system = engine.DEFAULT_CONTEXT_PROMPT_TEMPLATE.format(context_str=CONTEXT)
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Tell me about the Inca citadel."},
    ]
    assert answer(client, messages) == DOCS[2]
    condense = engine.DEFAULT_CONDENSE_PROMPT_TEMPLATE.format(
        chat_history="user: hi", question="And the dish of raw fish?"
    )
    assert answer(client, [{"role": "user", "content": condense}]) == "And the dish of raw fish?"


def test_langchain_rag_prompts(client: httpx.Client) -> None:
    """The hub's ``rlm/rag-prompt`` (one human message) and the tutorial's system prompt."""
    rag_prompt = (
        "You are an assistant for question-answering tasks. Use the following pieces of "
        "retrieved context to answer the question. If you don't know the answer, just say "
        "that you don't know. Use three sentences maximum and keep the answer concise.\n"
        f"Question: Where are the Nazca lines? \nContext: {CONTEXT} \nAnswer:"
    )
    assert answer(client, [{"role": "user", "content": rag_prompt}]) == DOCS[4]
    system = (
        "Use the given context to answer the question. If you don't know the answer, say you "
        f"don't know. Use three sentence maximum and keep the answer concise. Context: {CONTEXT}"
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "raw fish?"}]
    assert answer(client, messages) == DOCS[3]
    tagged = [
        {"role": "system", "content": f"Answer from <context>{CONTEXT}</context> only."},
        {"role": "user", "content": "What is the capital of Peru?"},
    ]
    assert answer(client, tagged) == DOCS[1]


def test_context_without_the_answer_says_so(client: httpx.Client) -> None:
    text = f"Question: quantum chromodynamics? \nContext: {CONTEXT} \nAnswer:"
    assert answer(client, [{"role": "user", "content": text}]) == "The context does not say."


def test_plain_chat_still_echoes(client: httpx.Client) -> None:
    said = answer(client, [{"role": "user", "content": "What is the context of this?"}])
    assert said.startswith("Hello from the AIsa stand-in (gpt-4.1). You said:")
