"""The routes besides chat: models, balance, embeddings, Gemini, unknown paths."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from aisa_core.standin import Fault, StandIn

CATALOG = [
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5",
    "gpt-5-mini",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5-20250929-thinking",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "qwen3-max",
    "deepseek-v3.1",
    "kimi-k2.5",
    "grok-4",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "jina-embeddings-v3",
    "jina-embeddings-v5-text-small",
    "jina-reranker-v3",
]


# -- models --------------------------------------------------------------------------------


def test_model_list(client: httpx.Client) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == CATALOG
    for model in body["data"]:
        assert set(model) == {"id", "object", "created", "owned_by", "supported_endpoint_types"}
        assert model["object"] == "model"
        assert model["created"] == 1_735_689_600
        assert model["supported_endpoint_types"] == ["openai"]
    owners = {m["id"]: m["owned_by"] for m in body["data"]}
    assert (owners["gpt-4o"], owners["claude-haiku-4-5-20251001"], owners["grok-4"]) == (
        "openai",
        "anthropic",
        "xai",
    )


def test_one_model(client: httpx.Client) -> None:
    assert client.get("/models/gemini-2.5-pro").json() == {
        "id": "gemini-2.5-pro",
        "object": "model",
        "created": 1_735_689_600,
        "owned_by": "google",
        "supported_endpoint_types": ["openai"],
    }


def test_unknown_model_is_a_plain_text_404(client: httpx.Client) -> None:
    response = client.get("/models/gpt-2")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "404 page not found"


def test_model_routes_need_a_key(anon_client: httpx.Client) -> None:
    assert anon_client.get("/models").status_code == 401
    assert anon_client.get("/models/gpt-4o").status_code == 401
    assert anon_client.get("/credits/balance").status_code == 401


def test_model_faults_do_not_hit_metadata_routes(client: httpx.Client, standin: StandIn) -> None:
    standin.fail_model("gpt-4o", Fault(status=500))
    standin.enqueue_fault(Fault(status=500))
    assert client.get("/models/gpt-4o").status_code == 200
    assert client.get("/models").status_code == 200
    assert standin.pending == 1


# -- balance ---------------------------------------------------------------------------------


def test_credits_balance(client: httpx.Client) -> None:
    body = client.get("/credits/balance").json()
    as_of = body.pop("as_of")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", as_of)
    assert body == {
        "object": "credits_balance",
        "currency": "USD",
        "account_balance_micros_usd": 100_000_000,
        "available_balance_micros_usd": 100_000_000,
        "api_key": {"unlimited": False, "remaining_micros_usd": 50_000_000, "used_micros_usd": 0},
    }


# -- embeddings -----------------------------------------------------------------------------


def embed(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", "text-embedding-3-small")
    return client.post("/embeddings", json=body)


def test_embeddings_shape_and_determinism(client: httpx.Client) -> None:
    response = embed(client, input=["alpha", "beta", "alpha"])
    assert response.status_code == 200
    body = response.json()
    # ceil(chars / 4): 2 + 1 + 2 tokens; $0.02 per M tokens rounds up to 1 micro-USD, which
    # usage.cost also carries (as for chat).
    assert body["usage"] == {"prompt_tokens": 5, "total_tokens": 5, "cost": 0.000001}
    assert response.headers["x-aisa-customer-cost-micros-usd"] == "1"
    assert (body["object"], body["model"]) == ("list", "text-embedding-3-small")
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    assert all(d["object"] == "embedding" for d in body["data"])
    vectors = [d["embedding"] for d in body["data"]]
    assert all(len(v) == 1536 for v in vectors)  # the model's real size
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0) for v in vectors)
    assert vectors[0] == vectors[2]
    assert vectors[0] != vectors[1]
    again = embed(client, input="alpha").json()["data"]
    assert [d["embedding"] for d in again] == [vectors[0]]


def test_embeddings_base64_and_dimensions(client: httpx.Client) -> None:
    plain = embed(client, input="hello", dimensions=8).json()["data"][0]["embedding"]
    packed = embed(client, input="hello", dimensions=8, encoding_format="base64").json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    decoded = struct.unpack("<8f", raw)
    assert len(plain) == 8
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(decoded, plain, strict=True))


def test_embeddings_token_input(client: httpx.Client) -> None:
    body = embed(client, input=[[1, 2, 3], [4]]).json()
    assert len(body["data"]) == 2
    assert len(embed(client, input=[5, 6]).json()["data"]) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"input": "x", "model": None}, "missing_parameter"),
        ({"input": None}, "missing_parameter"),
        ({"input": []}, "invalid_request"),
        ({"input": {"a": 1}}, "invalid_request"),
        ({"input": "x", "dimensions": 0}, "invalid_request"),
        ({"input": "x", "encoding_format": "hex"}, "invalid_request"),
    ],
)
def test_embeddings_errors(client: httpx.Client, body: dict[str, Any], code: str) -> None:
    body.setdefault("model", "text-embedding-3-small")
    response = client.post("/embeddings", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_embeddings_take_faults_but_not_answers(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("a chat answer")
    assert embed(client, input="x").status_code == 200
    assert standin.pending == 1
    standin.reset()
    standin.enqueue_fault(Fault(status=429), model="text-embedding-3-small")
    assert embed(client, input="x").status_code == 429
    assert embed(client, input="x", model="unknown-embedder").status_code == 503


# -- Gemini native ----------------------------------------------------------------------------


def gemini(
    client: httpx.Client, body: dict[str, Any], model: str = "gemini-2.5-flash", beta: bool = True
) -> httpx.Response:
    root = client.base_url.copy_with(path="/v1beta/" if beta else "/v1/")
    return client.post(f"{root}models/{model}:generateContent", json=body)


USER = {"contents": [{"role": "user", "parts": [{"text": "What is the weather in Rome?"}]}]}


@pytest.mark.parametrize("beta", [True, False])
def test_gemini_generate_content(client: httpx.Client, beta: bool) -> None:
    response = gemini(client, USER, beta=beta)
    assert response.status_code == 200
    text = "Hello from the AIsa stand-in (gemini-2.5-flash). You said: What is the weather in Rome?"
    # 28 prompt chars -> 7 tokens; 85 answer chars -> 22 tokens; AIsa's $0.21 / $1.75 per M:
    # 7 * 0.21 + 22 * 1.75 = 39.97 micro-USD, billed rounded up.
    assert response.headers["x-aisa-customer-cost-micros-usd"] == "40"
    assert response.json() == {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 22, "totalTokenCount": 29},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "standin-1",
    }


def test_gemini_function_calling(client: httpx.Client) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER", "minimum": 2}},
        "required": ["city", "days"],
    }
    tools = [{"functionDeclarations": [{"name": "forecast", "parameters": schema}]}]
    parts = gemini(client, {**USER, "tools": tools}).json()["candidates"][0]["content"]["parts"]
    assert parts == [{"functionCall": {"name": "forecast", "args": {"city": "Rome", "days": 2}}}]
    follow_up = {
        "contents": [
            *USER["contents"],
            {"role": "model", "parts": parts},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "forecast", "response": {"t": 21}}}],
            },
        ],
        "tools": tools,
    }
    parts = gemini(client, follow_up).json()["candidates"][0]["content"]["parts"]
    assert parts == [{"text": 'The tool returned: {"t":21}'}]
    none_mode = {**USER, "tools": tools, "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}
    assert "text" in gemini(client, none_mode).json()["candidates"][0]["content"]["parts"][0]


def test_gemini_structured_output_and_max_tokens(client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    config = {"responseMimeType": "application/json", "responseSchema": schema}
    text = gemini(client, {**USER, "generationConfig": config}).json()["candidates"][0]
    Draft202012Validator(schema).validate(json.loads(text["content"]["parts"][0]["text"]))
    short = gemini(client, {**USER, "generationConfig": {"maxOutputTokens": 2}}).json()
    assert short["candidates"][0]["content"]["parts"] == [{"text": "Hello from"}]
    assert short["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_gemini_thinking_and_scripts(client: httpx.Client, standin: StandIn) -> None:
    standin.set_reasoning("gemini-2.5-pro", "Pondering.")
    standin.enqueue_text("Scripted.", model="gemini-2.5-pro")
    body = gemini(client, USER, model="gemini-2.5-pro").json()
    assert body["candidates"][0]["content"]["parts"] == [
        {"text": "Pondering.", "thought": True},
        {"text": "Scripted."},
    ]
    assert body["usageMetadata"]["thoughtsTokenCount"] == 3
    standin.enqueue_tool_call("f", {"a": 1})
    parts = gemini(client, USER).json()["candidates"][0]["content"]["parts"]
    assert parts == [{"functionCall": {"name": "f", "args": {"a": 1}}}]


def test_gemini_faults_and_unknown_models(client: httpx.Client, standin: StandIn) -> None:
    standin.fail_model("gemini-2.5-flash", Fault(status=504), times=1)
    assert gemini(client, USER).status_code == 504
    assert gemini(client, USER).status_code == 200
    response = gemini(client, USER, model="retired-gemini-1.0")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == (
        "No available channels for model retired-gemini-1.0 under group default"
    )


@pytest.mark.parametrize(
    "auth", [{"headers": {"x-goog-api-key": "k"}}, {"params": {"key": "k"}}, {}]
)
def test_gemini_accepts_google_style_keys(anon_client: httpx.Client, auth: dict[str, Any]) -> None:
    url = anon_client.base_url.copy_with(path="/v1beta/models/gemini-2.5-flash:generateContent")
    response = anon_client.post(url, json=USER, **auth)
    assert response.status_code == (200 if auth else 401)


@pytest.mark.parametrize("body", [{}, {"contents": []}, {"contents": "hi"}])
def test_gemini_bad_bodies(client: httpx.Client, body: dict[str, Any]) -> None:
    response = gemini(client, body)
    assert response.status_code == 400


# -- everything else ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/chat/completions"),
        ("POST", "/v1/models"),
        ("GET", "/"),
        ("GET", "/v1/usage"),
        ("POST", "/v1/messages"),
        ("POST", "/v1beta/models/:generateContent"),
        ("DELETE", "/v1/models/gpt-4o"),
    ],
)
def test_unknown_routes_are_plain_404(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, client.base_url.copy_with(path=path))
    assert response.status_code == 404
    assert response.text == "404 page not found"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-request-id"] == "req-standin-1"
