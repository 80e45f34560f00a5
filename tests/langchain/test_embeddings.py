"""``AISAEmbeddings`` and ``AISARerank``: settings on the wire, typed errors, serialisation
without the key, no tokenizer, and retrieval over a dozen documents on the stand-in gateway,
with and without the reranker."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.exceptions import ModelAPIError, ModelRateLimitError
from langchain_core.load import dumpd, dumps, load
from langchain_core.vectorstores import InMemoryVectorStore

from aisa_core import InvalidInputError
from aisa_core.standin import Fault, StandIn
from langchain_aisa import AISAEmbeddings, AISARerank
from tests.retrieval_corpus import DOCS, QUESTIONS

SECRET = "sk-aisa-very-secret-0123456789"


Make = Callable[..., Any]


@pytest.fixture
async def make(aisa_standin: StandIn) -> AsyncIterator[Make]:
    """``AISAEmbeddings`` / ``AISARerank`` on the stand-in; pools closed in the test's loop."""
    made: list[Any] = []

    def build(cls: type[Any], **kwargs: Any) -> Any:
        settings = {"api_key": aisa_standin.api_key, "base_url": aisa_standin.base_url}
        made.append(cls(**{**settings, "max_retries": 0, **kwargs}))
        return made[-1]

    yield build
    for thing in made:
        thing.close()
        await thing.aclose()


def store_of(embeddings: AISAEmbeddings) -> InMemoryVectorStore:
    store = InMemoryVectorStore(embeddings)
    store.add_documents([Document(page_content=t, metadata={"i": i}) for i, t in enumerate(DOCS)])
    return store


def test_retrieval_finds_the_right_document(make: Make, aisa_standin: StandIn) -> None:
    store = store_of(make(AISAEmbeddings))
    for question, expected in QUESTIONS.items():
        (best,) = store.similarity_search(question, k=1)
        assert best.metadata["i"] == expected, question
    batch = next(r for r in aisa_standin.requests if r.path == "/v1/embeddings")
    assert batch.json["input"] == DOCS and batch.json["encoding_format"] == "base64"


def test_retrieval_with_the_reranker(make: Make) -> None:
    """Retrieve six with the vectors, keep the best two by the reranker."""
    retriever = ContextualCompressionRetriever(
        base_compressor=make(AISARerank, top_n=2),
        base_retriever=store_of(make(AISAEmbeddings, dimensions=256)).as_retriever(
            search_kwargs={"k": 6}
        ),
    )
    for question, expected in QUESTIONS.items():
        kept = retriever.invoke(question)
        assert len(kept) == 2 and kept[0].metadata["i"] == expected, question
        scores = [d.metadata["relevance_score"] for d in kept]
        assert scores == sorted(scores, reverse=True)


async def test_async_retrieval_with_and_without_the_reranker(make: Make) -> None:
    store = InMemoryVectorStore(make(AISAEmbeddings, batch_size=5))
    await store.aadd_documents(
        [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(DOCS)]
    )
    retriever = ContextualCompressionRetriever(
        base_compressor=make(AISARerank, top_n=1),
        base_retriever=store.as_retriever(search_kwargs={"k": 5}),
    )
    for question, expected in QUESTIONS.items():
        (plain,) = await store.asimilarity_search(question, k=1)
        (reranked,) = await retriever.ainvoke(question)
        assert plain.metadata["i"] == reranked.metadata["i"] == expected, question


# --- settings on the wire --------------------------------------------------------------------


def recording(sent: list[dict[str, Any]]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        vector = [0.5, 0.25] * (body.get("dimensions", 2) // 2)
        data = [{"index": i, "embedding": vector} for i in range(len(body["input"]))]
        return httpx.Response(200, json={"data": data, "model": body["model"]})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_settings_reach_the_request() -> None:
    sent: list[dict[str, Any]] = []
    embeddings = AISAEmbeddings(
        model="aisa/jina-embeddings-v3",
        dimensions=2 * 16,
        batch_size=2,
        max_concurrency=1,
        model_kwargs={"task": "retrieval.passage"},
        api_key=SECRET,
        http_client=recording(sent),
    )
    assert embeddings.embed_documents(["a", "b", "c"]) == [[0.5, 0.25] * 16] * 3
    assert sent == [
        {
            "model": "jina-embeddings-v3",
            "input": batch,
            "encoding_format": "base64",
            "task": "retrieval.passage",
            "dimensions": 32,
        }
        for batch in (["a", "b"], ["c"])
    ]
    assert embeddings.embed_query("q") == [0.5, 0.25] * 16
    assert embeddings.embed_documents([]) == [] and len(sent) == 3


def test_bad_input_is_a_local_value_error() -> None:
    embeddings = AISAEmbeddings(api_key=SECRET, model="text-embedding-ada-002", dimensions=64)
    with pytest.raises(InvalidInputError):
        embeddings.embed_query("x")
    with pytest.raises(ValueError, match="empty string"):
        AISAEmbeddings(api_key=SECRET).embed_documents(["ok", ""])


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        AISAEmbeddings(api_key=SECRET, chunk_size=10)  # type: ignore[call-arg]


def test_errors_are_langchains_standard_ones(make: Make, aisa_standin: StandIn) -> None:
    embeddings = make(AISAEmbeddings)
    aisa_standin.enqueue_fault(Fault(status=429, retry_after=0))
    with pytest.raises(ModelRateLimitError) as caught:
        embeddings.embed_query("x")
    assert "not comparable" in str(caught.value)
    aisa_standin.enqueue_fault(Fault(status=500))
    with pytest.raises(ModelAPIError):
        make(AISARerank).compress_documents([Document(page_content="a")], "q")


# --- the reranker ----------------------------------------------------------------------------


def test_reranker_keeps_metadata_and_leaves_originals_alone(make: Make) -> None:
    docs = [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(DOCS)]
    kept = make(AISARerank, top_n=3).compress_documents(docs, "Which mountain is highest?")
    assert kept[0].metadata["i"] == 10 and len(kept) == 3
    assert set(kept[0].metadata) == {"i", "relevance_score"}
    assert all("relevance_score" not in d.metadata for d in docs)
    everything = make(AISARerank, top_n=None).compress_documents(docs, "coral reef")
    assert len(everything) == len(DOCS) and everything[0].metadata["i"] == 8
    assert make(AISARerank).compress_documents([], "q") == []


# --- secrets and serialisation ---------------------------------------------------------------


def test_key_never_serialised() -> None:
    embeddings = AISAEmbeddings(api_key=SECRET, dimensions=256)
    reranker = AISARerank(api_key=SECRET)
    for text in (repr(embeddings), str(embeddings), dumps(embeddings), repr(reranker)):
        assert SECRET not in text
    assert dumpd(embeddings)["kwargs"]["api_key"] == {
        "lc": 1,
        "type": "secret",
        "id": ["AISA_API_KEY"],
    }
    assert SECRET.encode() not in pickle.dumps(embeddings)
    assert SECRET.encode() not in pickle.dumps(reranker)


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_load_reads_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    embeddings = AISAEmbeddings(api_key=SECRET, model="jina-embeddings-v3", dimensions=256)
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-other")
    revived = load(
        dumpd(embeddings),
        secrets_from_env=True,
        valid_namespaces=["langchain_aisa"],
        allowed_objects="all",
    )
    assert isinstance(revived, AISAEmbeddings)
    assert (revived.model, revived.dimensions) == ("jina-embeddings-v3", 256)
    assert revived.api_key is not None and revived.api_key.get_secret_value() == "sk-aisa-other"


def test_pickled_embeddings_still_work(
    make: Make, aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = make(AISAEmbeddings, dimensions=64)
    before = embeddings.embed_query("hello")
    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)
    clone = pickle.loads(pickle.dumps(embeddings))
    assert clone._client is None and clone.embed_query("hello") == before
    clone.close()


def test_no_tokenizer_is_loaded(aisa_standin: StandIn) -> None:
    """Embedding a long text loads neither tiktoken nor transformers, and downloads nothing."""
    code = (
        "import sys\n"
        "from langchain_aisa import AISAEmbeddings\n"
        f"e = AISAEmbeddings(api_key={aisa_standin.api_key!r}, "
        f"base_url={aisa_standin.base_url!r})\n"
        "assert len(e.embed_documents(['word ' * 4000, 'short'])) == 2\n"
        "print(sorted(m for m in ('tiktoken', 'transformers', 'tokenizers', 'openai') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_usage_and_cost_reach_the_callback(make: Make, aisa_standin: StandIn) -> None:
    from langchain_aisa import ChatAISA, get_aisa_callback

    with get_aisa_callback() as cb:
        store = store_of(make(AISAEmbeddings))
        docs = store.similarity_search("What is the capital of Peru?", k=4)
        kept = make(AISARerank, top_n=1).compress_documents(docs, "What is the capital of Peru?")
        chat = make(ChatAISA, model="gpt-4.1-mini")
        chat.invoke(f"Question: What is the capital of Peru? \nContext: {kept[0].page_content}")
    assert set(cb.per_model) == {"text-embedding-3-small", "jina-reranker-v3", "gpt-4.1-mini"}
    embedded = cb.per_model["text-embedding-3-small"]
    assert embedded.calls == 2 and embedded.input_tokens > 0 and embedded.output_tokens == 0
    assert cb.per_model["jina-reranker-v3"].calls == 1 and cb.calls_without_cost == 0
    assert cb.total_cost == pytest.approx(aisa_standin.spent_micros_usd / 1e6)


def test_chat_settings_reach_the_core_client() -> None:
    from aisa_core import RateLimiter

    limiter = RateLimiter(60, 2)
    for cls in (AISAEmbeddings, AISARerank):
        thing = cls(
            api_key=SECRET,
            base_url="https://gw.example",
            timeout=7,
            max_retries=4,
            default_headers={"X-Team": "rag"},
            aisa_rate_limiter=limiter,
        )
        settings = thing._core().settings
        assert settings.base_url == "https://gw.example/v1" and settings.timeouts.read == 7
        assert settings.retry.max_retries == 4 and settings.rate_limiter is limiter
        assert settings.headers["X-Team"] == "rag" and settings.headers["x-aisa-source"]
        thing.close()
