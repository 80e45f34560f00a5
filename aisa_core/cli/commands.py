"""What each ``aisa`` command does. ``console.py`` parses the arguments and maps errors to exit
codes; each function here takes the parsed arguments and returns an exit code.

Answers go to stdout (so they pipe cleanly); reasoning, summaries, notes and errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aisa_core import AISAClient
from aisa_core.capabilities import capabilities
from aisa_core.config import API_KEY_ENV
from aisa_core.content import image_part, system, text_part, user
from aisa_core.errors import ConfigurationError, InvalidInputError
from aisa_core.types import ChatCompletion, ChatCompletionChunk

from . import format as fmt
from .output import AnswerWriter

__all__ = ["balance", "chat", "compare", "models", "quote", "standin", "vision"]


# --- the commands ---------------------------------------------------------------------------


def chat(args: argparse.Namespace) -> int:
    messages = _messages_from(args)
    with _client(args) as client:
        return _answer(client, args, messages)


def vision(args: argparse.Namespace) -> int:
    info = capabilities(args.model)
    if info.known and not info.vision:
        _note(f"{args.model} is not listed as vision-capable; the gateway may refuse the image")
    messages = [user(text_part(args.prompt), _image(args.image))]
    with _client(args) as client:
        return _answer(client, args, messages)


def models(args: argparse.Namespace) -> int:
    with _client(args) as client:
        infos = sorted(client.list_models(), key=lambda info: info.id)
    if args.filter:
        infos = [i for i in infos if args.filter.lower() in i.id.lower()]
    if args.json:
        _print_json([i.model_dump(mode="json") for i in infos])
    elif infos:
        print(fmt.table(fmt.MODEL_HEADERS, fmt.model_rows(infos), right=(1,)))
        _note("context windows and prices come from the bundled table; prices are indicative")
    else:
        _note("no models listed" + (f" matching {args.filter!r}" if args.filter else ""))
    return 0


def compare(args: argparse.Namespace) -> int:
    chosen = _model_list([args.models])
    if not chosen:
        raise InvalidInputError("--models is empty", hint="Pass e.g. --models gpt-4.1-mini,grok-4")
    messages = ([system(args.system)] if args.system else []) + [user(args.message)]
    with _client(args) as client:
        results = client.compare_models(messages, chosen, **_sampling(args))
    if args.json:
        _print_json([r.model_dump(mode="json") for r in results])
    else:
        width = shutil.get_terminal_size((120, 24)).columns
        rows = fmt.compare_rows(results)
        print(fmt.table(fmt.COMPARE_HEADERS, rows, right=(2, 3, 4), width=width))
    for r in results:
        reason = fmt.cut_short(r.finish_reason)
        if reason:
            _note(f"aisa: note: {r.model}'s answer was {reason}")
    if any(r.ok for r in results):
        return 0
    print("aisa: error: every model failed (see the table)", file=sys.stderr)
    return 1


def balance(args: argparse.Namespace) -> int:
    with _client(args) as client:
        result = client.balance()
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        print("\n".join(fmt.balance_lines(result)))
    return 0


def quote(args: argparse.Namespace) -> int:
    messages = ([system(args.system)] if args.system else []) + [user(args.message)]
    with _client(args) as client:
        result = client.quote(messages, model=args.model, max_tokens=args.max_tokens)
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        print("\n".join(fmt.quote_lines(result, args.model)))
    return 0


def standin(args: argparse.Namespace) -> int:
    from aisa_core.standin import (  # the server's dependencies load only here
        STANDIN_API_KEY,
        StandIn,
    )

    def ready(base_url: str) -> None:
        print(f"AIsa stand-in gateway on {base_url} (Ctrl-C stops). In another shell:")
        print(f"  export AISA_BASE_URL={base_url} {API_KEY_ENV}={STANDIN_API_KEY}", flush=True)

    StandIn.serve_forever(args.host, args.port, ready=ready, access_log=args.access_log)
    return 0


# --- shared pieces --------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> AISAClient:
    """The client from the flags and environment; a missing key is a usage error that names the
    variable (the core's own message talks about ``api_key=``, which means nothing here)."""
    key = args.api_key or os.environ.get(API_KEY_ENV)
    if not key or not key.strip():
        raise ConfigurationError(
            "no AIsa API key", hint=f"Set the {API_KEY_ENV} environment variable to your key"
        )
    return AISAClient(api_key=key, base_url=args.base_url, timeout=args.timeout, max_retries=2)


def _answer(client: AISAClient, args: argparse.Namespace, messages: list[dict[str, Any]]) -> int:
    options: dict[str, Any] = {
        "model": args.model,
        "fallback_models": _model_list(args.fallback),
        **_sampling(args),
    }
    writer = None if args.json else AnswerWriter(show_reasoning=not args.no_reasoning)
    if args.stream:
        completion = _stream(client, messages, options, writer)
    else:
        completion = client.chat(messages, **options)
        if writer is None:
            _print_json(_completion_json(completion))
        else:
            _print_answer(completion, writer)
    reason = fmt.cut_short(completion.finish_reason)
    if reason:  # shown even with --quiet: the answer above is not whole
        _note(f"aisa: note: the answer was {reason}")
    if not (args.quiet or args.json):
        _note(fmt.completion_summary(completion))
    return 0


def _stream(
    client: AISAClient,
    messages: list[dict[str, Any]],
    options: dict[str, Any],
    writer: AnswerWriter | None,
) -> ChatCompletion:
    """Print reasoning and tokens as they arrive (without a writer: each chunk as a JSON line)."""
    started = time.perf_counter()
    with client.stream(messages, **options) as stream:
        if writer is None:
            for chunk in stream:
                sys.stdout.write(chunk.model_dump_json(exclude_none=True) + "\n")
                sys.stdout.flush()
        else:
            try:
                for chunk in stream:
                    writer.reasoning(_reasoning(chunk))
                    writer.answer(chunk.text)
            finally:
                writer.end_line()  # also when an error follows the partial answer
        completion = stream.completion()
    if completion.meta.latency_s is None:
        completion.meta.latency_s = time.perf_counter() - started
    if writer is not None:
        _print_tool_calls(completion, writer)
    return completion


def _reasoning(chunk: ChatCompletionChunk) -> str | None:
    return chunk.choices[0].delta.reasoning_content if chunk.choices else None


def _print_answer(completion: ChatCompletion, writer: AnswerWriter) -> None:
    writer.reasoning(completion.message.reasoning_content)
    if completion.text or not completion.tool_calls:
        writer.answer(completion.text)
        writer.end_line()
    _print_tool_calls(completion, writer)


def _print_tool_calls(completion: ChatCompletion, writer: AnswerWriter) -> None:
    for call in completion.tool_calls:
        writer.answer(f"tool call: {call.name}({call.function.arguments})\n")


def _completion_json(completion: ChatCompletion) -> dict[str, Any]:
    """The OpenAI-shaped body plus what the headers and the fallback chain told us."""
    meta = completion.meta
    data = completion.model_dump(mode="json", exclude_none=True)
    data["aisa"] = {
        "requested_model": meta.requested_model,
        "cost_usd": completion.cost_usd,
        "cost_micros_usd": meta.cost_micros_usd,
        "request_id": meta.request_id,
        "latency_s": meta.latency_s,
        "truncated": fmt.cut_short(completion.finish_reason) is not None,
        "failed_attempts": [
            {"model": a.model, "error": type(a.error).__name__, "message": a.error.message}
            for a in meta.attempts
        ],
    }
    return data


def _messages_from(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.messages is not None:
        messages = _json_messages(args.messages)
    else:
        text = sys.stdin.read() if args.message == "-" else args.message
        messages = [user(text)]
    return ([system(args.system)] if args.system else []) + messages


def _json_messages(spec: str) -> list[dict[str, Any]]:
    """``--messages``: JSON text, ``@file`` or ``@-`` (stdin); a list of message objects."""
    source = "--messages"
    text = spec
    if spec.startswith("@"):
        source = spec[1:] or "-"
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(
            f"{source} is not valid JSON ({exc})",
            hint='Pass a list such as [{"role": "user", "content": "Hi"}], or @file.json',
        ) from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise InvalidInputError(f"{source} must be a JSON list of message objects")
    return data


def _model_list(values: Sequence[str]) -> list[str]:
    """``--fallback a,b --fallback c`` → ``[a, b, c]``."""
    return [m.strip() for value in values for m in value.split(",") if m.strip()]


def _sampling(args: argparse.Namespace) -> dict[str, Any]:
    return {"temperature": args.temperature, "max_tokens": args.max_tokens}


def _image(image: str) -> dict[str, Any]:
    """``--image``: a URL, or a local file whose bytes must be an image (whatever its name)."""
    source = image if image.startswith(("http://", "https://", "data:")) else Path(image)
    try:
        return image_part(source)
    except InvalidInputError as error:  # the core's hint names a Python argument
        hint = "Pass a PNG, JPEG, GIF, WebP or BMP file, or an http(s) URL"
        raise InvalidInputError(error.message, hint=hint) from error


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _note(text: str) -> None:
    print(text, file=sys.stderr)
