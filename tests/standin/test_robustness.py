"""Odd but well-formed JSON requests get a 2xx or 4xx from the stand-in, never a crash.

A small seeded fuzzer (no extra dependency): random JSON in every field a route reads,
mixed with the shapes those fields normally have.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aisa_core.standin import StandInApp

Gen = Callable[[random.Random], Any]


def any_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-3, 5)
    if kind == 3:
        return rng.choice([0.5, -1.25, 1e300])
    if kind in (4, 5):
        return rng.choice(["", "x", "user", "function", "text", "image_url", "a b", "ü\u2028"])
    if kind == 6:
        return [any_json(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ["type", "text", "name", "parameters", "properties", "required", "items", "$ref"]
    return {rng.choice(keys): any_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def either(*options: Gen) -> Gen:
    return lambda rng: rng.choice(options)(rng)


def const(value: Any) -> Gen:
    return lambda rng: value


def shape(required: dict[str, Gen], optional: dict[str, Gen]) -> Gen:
    def make(rng: random.Random) -> dict[str, Any]:
        result = {key: gen(rng) for key, gen in required.items()}
        result.update({k: g(rng) for k, g in optional.items() if rng.random() < 0.5})
        return result

    return make


def listing(item: Gen, low: int = 0, high: int = 3) -> Gen:
    return lambda rng: [item(rng) for _ in range(rng.randint(low, high))]


RANDOM: Gen = any_json
SCHEMA = either(
    RANDOM,
    shape({"type": const("object")}, {"properties": RANDOM, "required": listing(RANDOM)}),
)
PART = either(
    shape({"type": const("text"), "text": either(const("hi 3"), RANDOM)}, {}),
    shape({"type": const("image_url"), "image_url": RANDOM}, {}),
    RANDOM,
)
MESSAGE = either(
    shape(
        {"role": either(const("user"), const("tool"), const("assistant"), RANDOM)},
        {"content": either(const("What is 2 and 3?"), listing(PART), RANDOM), "tool_calls": RANDOM},
    ),
    RANDOM,
)
TOOL = either(
    shape(
        {
            "type": const("function"),
            "function": shape({"name": const("f")}, {"parameters": SCHEMA}),
        },
        {},
    ),
    RANDOM,
)
CHAT = shape(
    {"model": either(const("gpt-4.1"), const("x-thinking")), "messages": listing(MESSAGE, 1)},
    {
        "tools": either(listing(TOOL, 1), RANDOM),
        "tool_choice": either(const("required"), const("none"), RANDOM),
        "response_format": either(
            shape({"type": const("json_schema")}, {"json_schema": shape({}, {"schema": SCHEMA})}),
            RANDOM,
        ),
        "stream": either(const(True), RANDOM),
        "stream_options": RANDOM,
        "max_tokens": RANDOM,
    },
)
GEMINI = shape(
    {"contents": listing(either(shape({"role": RANDOM}, {"parts": listing(RANDOM)}), RANDOM), 1)},
    {
        "tools": listing(shape({}, {"functionDeclarations": listing(shape({"name": RANDOM}, {}))})),
        "toolConfig": RANDOM,
        "generationConfig": either(
            shape({}, {"responseSchema": SCHEMA, "maxOutputTokens": RANDOM}), RANDOM
        ),
        "systemInstruction": RANDOM,
    },
)
EMBEDDINGS = shape(
    {"model": const("text-embedding-3-small"), "input": RANDOM},
    {"dimensions": RANDOM, "encoding_format": RANDOM},
)
ROUTES = [
    ("/v1/chat/completions", CHAT),
    ("/v1beta/models/gemini-2.5-flash:generateContent", GEMINI),
    ("/v1/embeddings", EMBEDDINGS),
]


@pytest.mark.parametrize("seed", range(4))
def test_random_bodies_never_crash_the_app(seed: int) -> None:
    rng = random.Random(seed)
    requests = [(path, gen(rng)) for _ in range(100) for path, gen in ROUTES]

    async def run() -> list[tuple[int, str, Any]]:
        transport = httpx.ASGITransport(app=StandInApp())
        headers = {"Authorization": "Bearer k"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://x", headers=headers
        ) as c:
            results = []
            for path, body in requests:
                response = await c.post(path, content=json.dumps(body))
                results.append((response.status_code, path, body))
            return results

    # ASGITransport re-raises an app exception, which fails the test with its traceback.
    results = asyncio.run(run())
    assert [r for r in results if r[0] >= 500] == []
    assert {status for status, _, _ in results} >= {200, 400}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "multipleOf": 0},
        {"type": "integer", "multipleOf": -2, "minimum": 3},
        {"type": "array", "items": {"type": "integer"}, "minItems": 1e300},
        {"type": "string", "minLength": 1e12},
        {"type": "number", "minimum": float("inf")},
        {
            "type": "array",
            "minItems": 1000,
            "items": {"type": "array", "minItems": 1000, "items": {"type": "string"}},
        },
    ],
)
def test_absurd_schemas_answer_quickly(schema: dict[str, Any]) -> None:
    from aisa_core.standin._schema import example_instance

    started = time.perf_counter()
    example_instance(schema, "3")
    assert time.perf_counter() - started < 0.5


def test_deeply_nested_bodies_are_a_400() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(400):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    tools[0]["function"]["parameters"] = schema
    bodies = [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
        ).encode(),
    ]

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=StandInApp())
        headers = {"Authorization": "Bearer k"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://x", headers=headers
        ) as c:
            return [(await c.post("/v1/chat/completions", content=b)).status_code for b in bodies]

    assert asyncio.run(run()) == [400, 200]
