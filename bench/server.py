"""A fixed-answer OpenAI-compatible server for the benchmark (raw ASGI on uvicorn + httptools).

Every chat request gets the same pre-encoded answer, so the server spends a few microseconds per
request and the numbers measure the clients, not the server. ``POST /v1/embeddings`` answers one
fixed vector per input (``dimensions`` long, 1536 by default), as float lists or, when asked
with ``encoding_format: base64``, as little-endian float32; the vector's encoded form is made
once per size and format, so an answer is a join of pre-encoded pieces. A streamed answer is
``--chunks`` content chunks, a finish chunk, a usage chunk and ``[DONE]``, written in one piece
so that per-chunk numbers measure client-side parsing rather than server pacing.

    python bench/server.py --port 8765 [--chunks 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MODEL = "gpt-4.1-mini"
USAGE = {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}


def completion_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_760_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the bench server."},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": USAGE,
        }
    ).encode()


def stream_body(chunks: int) -> bytes:
    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_760_000_000,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event({"role": "assistant", "content": ""})]
    parts += [event({"content": f"tok{i} "}) for i in range(chunks)]
    parts.append(event({}, "stop"))
    usage = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_760_000_000}
    usage |= {"model": MODEL, "choices": [], "usage": USAGE}
    parts.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


EMBEDDING_MODEL = "text-embedding-3-small"
EMBEDDING_DIMENSIONS = 1536


class EmbeddingAnswers:
    """Answers to ``/v1/embeddings``: the same unit-length vector for every input."""

    def __init__(self) -> None:
        self._encoded: dict[tuple[int, str], bytes] = {}

    def _vector(self, dimensions: int, encoding: str) -> bytes:
        key = (dimensions, encoding)
        if key not in self._encoded:
            value = (1.0 / dimensions) ** 0.5
            if encoding == "base64":
                packed = struct.pack(f"<{dimensions}f", *([value] * dimensions))
                self._encoded[key] = json.dumps(base64.b64encode(packed).decode()).encode()
            else:
                self._encoded[key] = json.dumps([value] * dimensions).encode()
        return self._encoded[key]

    def body(self, request: dict[str, Any]) -> bytes:
        given = request.get("input")
        count = len(given) if isinstance(given, list) else 1
        vector = self._vector(
            int(request.get("dimensions") or EMBEDDING_DIMENSIONS),
            str(request.get("encoding_format") or "float"),
        )
        items = b",".join(
            b'{"object":"embedding","index":%d,"embedding":%s}' % (i, vector) for i in range(count)
        )
        usage = b'{"prompt_tokens":%d,"total_tokens":%d}' % (2 * count, 2 * count)
        model = json.dumps(request.get("model") or EMBEDDING_MODEL).encode()
        return b'{"object":"list","data":[%s],"model":%s,"usage":%s}' % (items, model, usage)


def make_app(chunks: int) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    answer = completion_body()
    streamed = stream_body(chunks)
    json_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer)).encode()),
        (b"x-request-id", b"req-bench"),
        (b"x-aisa-customer-cost-micros-usd", b"21"),
    ]
    sse_headers = [
        (b"content-type", b"text/event-stream"),
        (b"cache-control", b"no-cache"),
        (b"x-request-id", b"req-bench"),
    ]

    embeddings = EmbeddingAnswers()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].endswith("/embeddings"):
            payload = embeddings.body(json.loads(body))
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", b"req-bench"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        stream = bool(body) and json.loads(body).get("stream") is True
        headers, payload = (sse_headers, streamed) if stream else (json_headers, answer)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.chunks),
        host=args.host,
        port=args.port,
        http="httptools",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
