"""Embedding throughput: 10,000 short texts through each client, in texts per second.

Sync: ``AISAEmbeddings.embed_documents`` against ``langchain_openai.OpenAIEmbeddings``, and
``AISAEmbedding.get_text_embedding_batch`` against llama-index's ``OpenAIEmbedding``; async:
the awaited twins. All ask the same server (``bench/server.py``) for ``text-embedding-3-small``
(1536 dimensions, base64 on the wire for every client), each with its default batch size and
concurrency. ``OpenAIEmbeddings`` gets ``check_embedding_ctx_length=False``, so it sends the
texts as they are instead of downloading a tiktoken vocabulary to count tokens first (what a
user pointing it at another gateway has to do; our clients never download a tokenizer).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import statistics
import struct
import time
from array import array
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "text-embedding-3-small"
KEY = "sk-bench-not-a-real-key"
TEXTS = [f"short text number {i} about topic {i % 37}" for i in range(10_000)]

Sync = Callable[[list[str]], list[list[float]]]
Async = Callable[[list[str]], Awaitable[list[list[float]]]]


def aisa_embeddings(base: str) -> tuple[Sync, Async]:
    from langchain_aisa import AISAEmbeddings

    e = AISAEmbeddings(model=MODEL, api_key=KEY, base_url=base, max_retries=0)
    return e.embed_documents, e.aembed_documents


def openai_embeddings(base: str) -> tuple[Sync, Async]:
    from langchain_openai import OpenAIEmbeddings

    e = OpenAIEmbeddings(
        model=MODEL, api_key=KEY, base_url=base, max_retries=0, check_embedding_ctx_length=False
    )
    return e.embed_documents, e.aembed_documents


def aisa_embedding(base: str) -> tuple[Sync, Async]:
    from llama_index_aisa import AISAEmbedding

    e = AISAEmbedding(MODEL, api_key=KEY, base_url=base, max_retries=0)
    return e.get_text_embedding_batch, e.aget_text_embedding_batch


def llama_openai_embedding(base: str) -> tuple[Sync, Async]:
    from llama_index.embeddings.openai import OpenAIEmbedding

    e = OpenAIEmbedding(model=MODEL, api_key=KEY, api_base=base, max_retries=0)
    return e.get_text_embedding_batch, e.aget_text_embedding_batch


CONTENDERS: tuple[tuple[str, Callable[[str], tuple[Sync, Async]]], ...] = (
    ("AISAEmbeddings", aisa_embeddings),
    ("OpenAIEmbeddings", openai_embeddings),
    ("AISAEmbedding (llama)", aisa_embedding),
    ("llama OpenAIEmbedding", llama_openai_embedding),
)


def decode_floor(rounds: int) -> float:
    """Texts/s of the work every client must do at the end, with no HTTP at all: parse the
    answers' JSON, decode base64 and make Python floats of all 10,000 x 1536 values (the
    ceiling for any client that returns ``list[list[float]]``)."""
    vector = base64.b64encode(struct.pack("<1536f", *([0.025] * 1536))).decode()
    body = json.dumps({"data": [{"index": i, "embedding": vector} for i in range(256)]}).encode()
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        kept = []
        for _ in range(-(-len(TEXTS) // 256)):
            for item in json.loads(body)["data"]:
                floats = array("f")
                floats.frombytes(binascii.a2b_base64(item["embedding"]))
                kept.append(floats.tolist())
        rates.append(len(kept) / (time.perf_counter() - started))
        del kept
    return statistics.median(rates)


def _check(vectors: list[list[float]]) -> None:
    if len(vectors) != len(TEXTS) or len(vectors[0]) != 1536:
        raise AssertionError(f"{len(vectors)} vectors of {len(vectors[0]) if vectors else 0}")


def scenario(base: str, rounds: int) -> dict[str, Any]:
    """texts/s per client, sync and async, median of ``rounds`` interleaved runs."""
    made: dict[str, tuple[Sync, Async]] = {}
    skipped: dict[str, str] = {}
    for name, factory in CONTENDERS:
        try:
            made[name] = factory(base)
            _check(made[name][0](TEXTS))  # warm-up and a check of the answer
        except Exception as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"
            made.pop(name, None)
    rates: dict[str, dict[str, list[float]]] = {n: {"sync": [], "async": []} for n in made}
    loop = asyncio.new_event_loop()
    try:
        for name in made:
            _check(loop.run_until_complete(made[name][1](TEXTS)))  # async warm-up
        for r in range(rounds):
            order = list(made)[r % len(made) :] + list(made)[: r % len(made)]
            for name in order:
                sync, run_async = made[name]
                started = time.perf_counter()
                sync(TEXTS)
                rates[name]["sync"].append(len(TEXTS) / (time.perf_counter() - started))
                started = time.perf_counter()
                loop.run_until_complete(run_async(TEXTS))
                rates[name]["async"].append(len(TEXTS) / (time.perf_counter() - started))
    finally:
        loop.close()
    rows = {
        name: {
            "sync_texts_per_s": statistics.median(r["sync"]),
            "async_texts_per_s": statistics.median(r["async"]),
            "sync_rounds": r["sync"],
            "async_rounds": r["async"],
        }
        for name, r in rates.items()
    }
    floor = decode_floor(rounds)
    return {"rows": rows, "skipped": skipped, "texts": len(TEXTS), "model": MODEL, "floor": floor}


_PEERS = {"AISAEmbeddings": "OpenAIEmbeddings", "AISAEmbedding (llama)": "llama OpenAIEmbedding"}


def table(section: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    """The report's table (headers, rows) and the notes under it."""
    rows = section["rows"]
    lines = []
    for name, row in rows.items():
        peer = rows.get(_PEERS.get(name, ""))
        line = [name]
        for mode in ("sync", "async"):
            rate = row[f"{mode}_texts_per_s"]
            ratio = f"{rate / peer[f'{mode}_texts_per_s']:.2f}×" if peer else "-"
            line += [f"{rate:,.0f}", ratio]
        lines.append(line)
    headers = ["client", "sync texts/s", "sync × peer", "async texts/s", "async × peer"]
    notes = [
        f"{section['texts']:,} short texts, `{section['model']}` (1536 dimensions, base64 on the "
        "wire for every client), each client's default batch size and concurrency; "
        "`OpenAIEmbeddings(check_embedding_ctx_length=False)` so that it downloads no tokenizer.",
        f"For reference, the work every client returning `list[list[float]]` must do, without "
        f"any HTTP (parse the answers, decode base64, make the Python floats of 10,000 x 1536 "
        f"values), ran at {section['floor']:,.0f} texts/s on one thread, measured after the "
        "clients (load on a shared machine moves it): no client can be much faster than that.",
    ]
    return headers, lines, notes
