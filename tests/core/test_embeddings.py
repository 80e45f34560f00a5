"""``embed`` on both clients through ``httpx.MockTransport``: the exact wire payloads, batching,
input order, base64 decoding, bad inputs, and no fallback to another model unless named."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, Embeddings
from aisa_core import errors as E
from aisa_core.protocol.embeddings import estimate_tokens, plan_batches
from tests.core.helpers import KEY, Recorder

MakeClient = Callable[..., AISAClient]
URL = "https://api.aisa.one/v1/embeddings"


def packed(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def vector_for(text: str) -> list[float]:
    """A float32-exact vector that names its text: [len, first letter code, -0.5]."""
    return [float(len(text)), float(ord(text[0])), -0.5]


def answer(
    request: httpx.Request,
    *,
    encode: Callable[[list[float]], Any] = packed,
    order: Callable[[list[int]], list[int]] = lambda ix: ix,
    model: str | None = None,
    headers: dict[str, str] | None = None,
    usage: dict[str, Any] | None = None,
) -> httpx.Response:
    body = json.loads(request.content)
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [
        {"object": "embedding", "index": i, "embedding": encode(vector_for(texts[i]))}
        for i in order(list(range(len(texts))))
    ]
    tokens = sum(len(t) for t in texts)
    payload = {
        "object": "list",
        "data": data,
        "model": model or body["model"],
        "usage": usage or {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return httpx.Response(200, json=payload, headers=headers)


def echo(request: httpx.Request) -> httpx.Response:
    return answer(request, headers={"x-aisa-customer-cost-micros-usd": "3"})


def failing(status: int, code: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": "nope", "code": code}})


def sent(recorder: Recorder) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in recorder.requests]


# --- the wire ------------------------------------------------------------------------------


def test_request_is_exactly_what_we_mean(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(echo)
    result = make_client().embed(["hello", "world!"])
    (request,) = recorder.requests
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "text-embedding-3-small",
        "input": ["hello", "world!"],
        "encoding_format": "base64",
    }
    assert isinstance(result, Embeddings)
    assert result.vectors == [vector_for("hello"), vector_for("world!")]
    assert all(type(x) is float for v in result.vectors for x in v)
    assert (result.model, result.batches, result.dimensions) == ("text-embedding-3-small", 1, 3)
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (11, 11)
    assert result.cost_usd == 3e-6 and result.meta.cost_micros_usd == 3


def test_one_text_dimensions_and_pass_through(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(lambda r: answer(r, encode=lambda v: v[:2]))
    result = make_client().embed(
        "x",
        model="aisa/text-embedding-3-large",
        dimensions=2,
        task="retrieval.passage",
        extra_body={"late_chunking": False},
        extra_headers={"X-Trace": "t1"},
    )
    request = recorder.requests[0]
    assert json.loads(request.content) == {
        "model": "text-embedding-3-large",
        "input": ["x"],
        "encoding_format": "base64",
        "task": "retrieval.passage",
        "late_chunking": False,
        "dimensions": 2,
    }
    assert request.headers["x-trace"] == "t1"
    assert result.vectors == [[1.0, 120.0]]


def test_float_lists_when_the_server_ignores_base64(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """A server that answers plain JSON numbers (ints too) is read the same."""
    as_json = lambda v: [int(x) if x > 0 else x for x in v]  # noqa: E731
    recorder.script.append(lambda r: answer(r, encode=as_json))
    result = make_client().embed(["ab"])
    assert result.vectors == [[2.0, 97.0, -0.5]]
    assert all(type(x) is float for x in result.vectors[0])


def test_base64_decodes_little_endian_float32(make_client: MakeClient, recorder: Recorder) -> None:
    raw = struct.pack("<4f", 1.5, -2.25, 0.0, 3.0e-8)
    body = {"data": [{"index": 0, "embedding": base64.b64encode(raw).decode()}], "model": "m"}
    recorder.script.append(httpx.Response(200, json=body))
    (vector,) = make_client().embed("x").vectors
    assert vector == list(struct.unpack("<4f", raw))


def test_vectors_come_back_in_input_order(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script.append(lambda r: answer(r, order=lambda ix: ix[::-1]))
    texts = ["a", "bb", "ccc", "dddd"]
    assert make_client().embed(texts).vectors == [vector_for(t) for t in texts]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"data": [{"index": 0, "embedding": "@@@"}]}, E.MalformedResponseError),
        ({"data": [{"index": 0, "embedding": packed([1.0])[:-4]}]}, E.MalformedResponseError),
        ({"data": [{"index": 0, "embedding": ""}]}, E.MalformedResponseError),
        ({"data": [{"index": 0, "embedding": []}]}, E.MalformedResponseError),
        ({"data": [{"index": 1, "embedding": [1.0]}]}, E.MalformedResponseError),
        ({"data": [{"index": 0, "embedding": ["x"]}]}, E.MalformedResponseError),
        ({"data": [{"index": 0}]}, E.MalformedResponseError),
        ({"data": []}, E.MalformedResponseError),
        ({"object": "list"}, E.MalformedResponseError),
        ({"error": {"message": "quota", "code": "quota_exceeded"}}, E.RateLimitError),
    ],
)
def test_malformed_answers(
    make_client: MakeClient, recorder: Recorder, body: dict[str, Any], error: type[Exception]
) -> None:
    recorder.script.append(httpx.Response(200, json=body))
    with pytest.raises(error):
        make_client(max_retries=0).embed("x")


def test_mixed_sizes_or_ignored_dimensions_are_malformed(
    make_client: MakeClient, recorder: Recorder
) -> None:
    mixed = {"data": [{"index": 0, "embedding": [1.0, 2.0]}, {"index": 1, "embedding": [1.0]}]}
    recorder.script.append(httpx.Response(200, json=mixed))
    with pytest.raises(E.MalformedResponseError, match="sizes"):
        make_client(max_retries=0).embed(["a", "b"])
    recorder.script.append(echo)  # 3-long vectors where 2 were asked for
    with pytest.raises(E.MalformedResponseError, match="asked for 2"):
        make_client(max_retries=0).embed("a", dimensions=2)


def test_cost_is_none_when_the_gateway_does_not_say(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script.append(answer)
    assert make_client().embed("x").cost_usd is None
    usage = {"prompt_tokens": 1, "total_tokens": 1, "cost": 0.25}
    recorder.script.append(lambda r: answer(r, usage=usage))
    assert make_client().embed("x").cost_usd == 0.25
    # two batches, one of them unpriced: the call's cost is unknown, not the sum of one
    recorder.script += [echo, answer]
    assert make_client().embed(["a", "b"], batch_size=1).cost_usd is None


def test_nothing_to_embed_sends_nothing(make_client: MakeClient, recorder: Recorder) -> None:
    result = make_client().embed([])
    assert (result.vectors, result.batches, result.cost_usd) == ([], 0, 0.0)
    assert recorder.requests == []


# --- batching --------------------------------------------------------------------------------


def test_batches_by_count_merge_in_order(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [echo] * 4
    texts = [chr(ord("a") + i) * (i + 1) for i in range(10)]
    result = make_client().embed(texts, batch_size=3)
    inputs = sorted((b["input"] for b in sent(recorder)), key=lambda batch: batch[0])
    assert inputs == [texts[0:3], texts[3:6], texts[6:9], texts[9:10]]
    assert result.vectors == [vector_for(t) for t in texts]
    assert result.batches == 4
    assert result.usage.prompt_tokens == sum(len(t) for t in texts)
    assert result.cost_usd == pytest.approx(12e-6)


def test_batches_by_estimated_tokens() -> None:
    """32,000 ASCII characters are ~8,000 tokens: 37 fit OpenAI's 300k per request."""
    long = "word " * 6400
    assert estimate_tokens(long) == 8000
    costs = [estimate_tokens(long)] * 40
    assert [len(b) for b in plan_batches(costs, 2048, 300_000)] == [37, 3]
    assert [len(b) for b in plan_batches([1] * 5, 2, 300_000)] == [2, 2, 1]
    assert [len(b) for b in plan_batches([5, 400, 5], 10, 100)] == [1, 1, 1]  # too big: alone


def test_token_budget_splits_requests(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [echo] * 2
    long = "word " * 6400
    make_client().embed([long] * 40, max_concurrency=1)
    assert [len(b["input"]) for b in sent(recorder)] == [37, 3]


def test_estimate_counts_wide_characters_as_tokens() -> None:
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("東京" * 10) == 20  # CJK: about one token per character
    assert estimate_tokens("é" * 8) == 5  # accented Latin: about half a token a character


def test_sync_batches_run_a_few_at_once(aisa_key_client: Callable[..., AISAClient]) -> None:
    """Four batches, four workers: all four requests are in flight together (a barrier that
    sequential batches could never pass)."""
    barrier = threading.Barrier(4, timeout=30)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(threading.get_ident())
        barrier.wait()
        return answer(request)

    client = aisa_key_client(httpx.MockTransport(handler))
    result = client.embed(list("abcdefgh"), batch_size=2, max_concurrency=4)
    assert result.vectors == [vector_for(t) for t in "abcdefgh"]
    assert len(set(seen)) == 4


@pytest.fixture
def aisa_key_client() -> Any:
    made: list[AISAClient] = []

    def make(transport: httpx.BaseTransport, **kwargs: Any) -> AISAClient:
        made.append(AISAClient(api_key=KEY, transport=transport, max_retries=0, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


# --- bad input: InvalidInputError before any request ---------------------------------------


@pytest.mark.parametrize(
    ("given", "options"),
    [
        ("", {}),
        (["ok", ""], {}),
        (["ok", 3], {}),
        ([b"bytes"], {}),
        (None, {}),
        ("x", {"model": "text-embedding-ada-002", "dimensions": 256}),
        ("x", {"dimensions": 4096}),
        ("x", {"model": "jina-embeddings-v3", "dimensions": 16}),
        ("x", {"dimensions": 0}),
        ("x", {"batch_size": 0}),
        ("x", {"batch_size": 4096}),
        ("x", {"max_concurrency": 0}),
        ("word " * 8000, {}),  # ~10,000 tokens: more than 8191 in one text
        ("東" * 9000, {}),
    ],
)
def test_bad_input_fails_before_any_request(
    make_client: MakeClient, recorder: Recorder, given: Any, options: dict[str, Any]
) -> None:
    with pytest.raises(E.InvalidInputError):
        make_client().embed(given, **options)
    assert recorder.requests == []


def test_long_text_error_says_what_to_do(make_client: MakeClient) -> None:
    with pytest.raises(E.InvalidInputError, match=r"input\[1\] is about 10000 tokens.*8191"):
        make_client().embed(["short", "word " * 8000])


# --- retries and (no) fallbacks --------------------------------------------------------------


def test_each_batch_is_retried_with_the_core_policy(
    make_client: MakeClient, recorder: Recorder
) -> None:
    recorder.script += [echo, failing(429), echo]
    result = make_client().embed(["a", "b"], batch_size=1, max_concurrency=1)
    assert result.vectors == [vector_for("a"), vector_for("b")]
    assert len(recorder.requests) == 3 and len(recorder.sleeps) == 1


def test_no_fallback_to_the_clients_chat_models(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """The client's fallback chain is for chat: an embedding call never leaves its model."""
    recorder.script += [failing(503, "provider_unavailable")] * 3
    client = make_client(fallback_models=["gpt-4.1-mini", "text-embedding-3-large"])
    with pytest.raises(E.ServerError) as caught:
        client.embed("x")
    assert {b["model"] for b in sent(recorder)} == {"text-embedding-3-small"}
    assert len(recorder.requests) == 3  # the first try and two retries, same model
    assert "not comparable" in str(caught.value)
    assert "batch 1 of 1" in str(caught.value)


def test_named_fallback_serves_every_batch(make_client: MakeClient, recorder: Recorder) -> None:
    recorder.script += [failing(503, "provider_unavailable"), echo, echo, echo]
    client = make_client(max_retries=0)
    result = client.embed(["a", "b", "c"], batch_size=1, fallback_models=["text-embedding-3-large"])
    models = [b["model"] for b in sent(recorder)]
    assert models == ["text-embedding-3-small"] + ["text-embedding-3-large"] * 3
    assert result.model == "text-embedding-3-large"
    assert result.meta.failed_models == ["text-embedding-3-small"]


def test_a_later_batch_never_switches_model(make_client: MakeClient, recorder: Recorder) -> None:
    """Batch 1 was embedded by the first model; when batch 2 fails there, the call fails
    rather than embed it with the fallback (its vectors would not be comparable)."""
    recorder.script += [echo, failing(503, "provider_unavailable")]
    client = make_client(max_retries=0)
    with pytest.raises(E.ServerError) as caught:
        client.embed(
            ["a", "b"], batch_size=1, max_concurrency=1, fallback_models=["text-embedding-3-large"]
        )
    assert [b["model"] for b in sent(recorder)] == ["text-embedding-3-small"] * 2
    message = str(caught.value)
    assert "batch 2 of 2" in message and "not sent to another model" in message


# --- the async client ------------------------------------------------------------------------


async def test_async_batches_concurrently_bounded_and_in_order() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # let every batch that may start, start
        in_flight -= 1
        return answer(request, order=lambda ix: ix[::-1])

    client = AsyncAISAClient(api_key=KEY, transport=httpx.MockTransport(handler), max_retries=0)
    texts = [f"t{i}" * (i + 1) for i in range(20)]
    result = await client.embed(texts, batch_size=2, max_concurrency=3)
    assert result.vectors == [vector_for(t) for t in texts]
    assert result.batches == 10 and peak == 3
    await client.aclose()


async def test_async_failure_names_the_batch_and_stops_the_rest() -> None:
    calls: list[list[str]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["input"]
        calls.append(batch)
        if batch == ["c"]:
            return failing(400, "invalid_request")
        await asyncio.sleep(0)
        return answer(request)

    client = AsyncAISAClient(api_key=KEY, transport=httpx.MockTransport(handler), max_retries=0)
    with pytest.raises(E.BadRequestError, match="batch 3 of 6"):
        await client.embed(list("abcdef"), batch_size=1, max_concurrency=1)
    assert calls == [["a"], ["b"], ["c"]]  # later batches never sent
    await client.aclose()


async def test_async_named_fallback_settles_the_model_first() -> None:
    models: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        models.append(model)
        if model == "text-embedding-3-small":
            return failing(503, "provider_unavailable")
        return answer(request)

    client = AsyncAISAClient(api_key=KEY, transport=httpx.MockTransport(handler), max_retries=0)
    result = await client.embed(
        list("abcd"), batch_size=1, fallback_models=["text-embedding-3-large"]
    )
    assert models == ["text-embedding-3-small"] + ["text-embedding-3-large"] * 4
    assert result.vectors == [vector_for(t) for t in "abcd"]
    await client.aclose()


def test_retrieval_model_table() -> None:
    from aisa_core.embedding_models import retrieval_model

    small, large = (
        retrieval_model("aisa/text-embedding-3-small"),
        retrieval_model("text-embedding-3-large"),
    )
    assert (small.dimensions, small.shortens, small.max_input_tokens) == (1536, True, 8191)
    assert (large.dimensions, large.price) == (3072, 0.13)
    jina = retrieval_model("jina-embeddings-v5-text-small")
    assert (jina.dimensions, jina.min_dimensions, jina.max_input_tokens) == (1024, 32, 32_768)
    assert retrieval_model("jina-reranker-v3").kind == "rerank"
    unknown = retrieval_model("new-embedder-9")
    assert (unknown.known, unknown.dimensions, unknown.max_input_tokens) == (False, None, None)
