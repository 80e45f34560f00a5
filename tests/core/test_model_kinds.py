"""A model known to be served by another endpoint is refused before anything is sent: an
embedding model asked to chat, a chat model asked to embed, a reranker asked either. Ids the
tables do not know, and image and video models (AIsa's docs show Wan image models answering
on the chat route), still go out as asked."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core import errors as E
from aisa_core.capabilities import endpoint_of
from tests.core.helpers import KEY, Recorder

# The module (``aisa_core.capabilities`` as an attribute is the function of that name).
caps = importlib.import_module("aisa_core.capabilities")

MakeClient = Callable[..., AISAClient]
Call = Callable[[AISAClient], Any]

MISMATCHES: list[tuple[str, Call, str]] = [
    ("chat, embedding model", lambda c: c.chat("hi", model="text-embedding-3-small"), "embed()"),
    ("chat, reranker", lambda c: c.chat("hi", model="jina-reranker-v3"), "rerank()"),
    (
        "chat, reranker as fallback",
        lambda c: c.chat("hi", model="gpt-4.1", fallback_models=["jina-reranker-v3"]),
        "rerank()",
    ),
    ("stream, embedding model", lambda c: c.stream("hi", model="text-embedding-3-large"), "embed"),
    ("quote, reranker", lambda c: c.quote("hi", model="jina-reranker-v3"), "rerank()"),
    ("embed, chat model", lambda c: c.embed("a", model="gpt-4.1-mini"), "chat()"),
    ("embed, reranker", lambda c: c.embed("a", model="jina-reranker-v3"), "rerank()"),
    (
        "embed, chat model as fallback",
        lambda c: c.embed("a", model="text-embedding-3-small", fallback_models=["gpt-4.1"]),
        "chat()",
    ),
    (
        "rerank, embedding model",
        lambda c: c.rerank("q", ["a"], model="jina-embeddings-v3"),
        "embed",
    ),
    ("rerank, chat model", lambda c: c.rerank("q", ["a"], model="claude-sonnet-4-6"), "chat()"),
]


@pytest.mark.parametrize(
    ("call", "where"), [m[1:] for m in MISMATCHES], ids=[m[0] for m in MISMATCHES]
)
def test_a_model_of_another_endpoint_is_refused_before_sending(
    make_client: MakeClient, recorder: Recorder, call: Call, where: str
) -> None:
    with pytest.raises(E.InvalidInputError, match=r"is (a|an) .* model, not") as caught:
        call(make_client())
    assert where in str(caught.value)  # says where the model belongs
    assert caught.value.model is not None
    assert recorder.requests == []


async def test_the_async_client_refuses_the_same() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))
    async with AsyncAISAClient(api_key=KEY, transport=transport, max_retries=0) as client:
        with pytest.raises(E.InvalidInputError, match="embedding model, not a chat model"):
            await client.chat("hi", model="text-embedding-3-small")
        with pytest.raises(E.InvalidInputError, match="chat model, not an embedding model"):
            await client.embed("a", model="gpt-4.1")
        with pytest.raises(E.InvalidInputError, match="chat model, not a rerank model"):
            await client.rerank("q", ["a"], model="gpt-4.1")
    assert sent == []


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        ("gpt-4.1-mini", "chat"),
        ("aisa/claude-sonnet-4-6", "chat"),
        ("text-embedding-3-small", "embeddings"),
        ("text-embedding-4-preview", "embeddings"),  # the family says so
        ("jina-reranker-v3", "rerank"),
        ("jina-reranker-v9", "rerank"),
        # Unknown, only a family rule, or an image or video model: nothing is claimed.
        ("gpt-image-2", None),
        ("wan2.7-image", None),
        ("wan2.5-t2i", None),
        ("gemini-embedding-001", None),
        ("qwen3-embedding-8b", None),
        ("my-own-model", None),
    ],
)
def test_which_endpoint_serves_a_model(model: str, endpoint: str | None) -> None:
    assert endpoint_of(model) == endpoint


def test_unknown_and_family_only_ids_go_out_as_asked(
    make_client: MakeClient, recorder: Recorder
) -> None:
    client = make_client()
    client.chat("hi", model="qwen3-embedding-8b")  # a family rule is no proof it cannot chat
    client.chat("draw a cat", model="wan2.7-image")  # image models may answer on chat
    with pytest.raises(E.AISAError):  # the scripted answer is a chat completion, not vectors
        client.embed("a", model="gemini-embedding-001")
    paths = [r.url.path for r in recorder.requests]
    assert paths[:2] == ["/v1/chat/completions"] * 2
    assert paths[2:] and set(paths[2:]) == {"/v1/embeddings"}  # sent (and retried) as asked


def test_register_corrects_a_row_and_the_check_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps, "_user", {})  # this test's registrations end with it
    try:
        assert endpoint_of("gpt-4.1-mini") == "chat"
        caps.register("gpt-4.1-mini", text_route=False)
        assert endpoint_of("gpt-4.1-mini") is None
    finally:
        caps._cache.clear()
        endpoint_of.cache_clear()
