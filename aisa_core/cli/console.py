"""``aisa``: the command line for the AIsa gateway.

::

    aisa chat --model gpt-4.1-mini --message "Say hi" [--stream] [--fallback grok-4,qwen3-max]
    aisa vision --model gpt-4.1-mini --image cat.png --prompt "What is this?"
    aisa models [FILTER]
    aisa compare --models gpt-4.1-mini,gemini-2.5-flash --message "2+2?"
    aisa balance
    aisa quote --model gpt-4.1 --message "Write an essay"
    aisa standin [--port 8000]    (the offline stand-in gateway, in the foreground)

The key comes from ``AISA_API_KEY`` (``--api-key`` works but leaks into shell history and the
process list). Exit codes: 0 ok, 1 the gateway or the network failed, 2 bad usage or
configuration (numbers out of range are refused while parsing, before any request), 130
interrupted. Errors are one line on stderr that says what to do.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from aisa_core import __version__
from aisa_core.errors import (
    AISAError,
    AllModelsFailedError,
    ConfigurationError,
    InvalidInputError,
    redact,
)

from . import commands

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_MODEL = "gpt-4.1-mini"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage error (or --help)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    key = getattr(args, "api_key", None)
    try:
        if key:
            _warn("--api-key is visible in shell history and the process list; prefer AISA_API_KEY")
        result: int = args.run(args)
        return result
    except KeyboardInterrupt:
        _warn("interrupted")
        return EXIT_INTERRUPTED
    except (ConfigurationError, InvalidInputError) as error:
        _error(error, key)
        return EXIT_USAGE
    except AISAError as error:
        _error(error, key)
        return EXIT_API
    except BrokenPipeError:  # e.g. `aisa models | head`: the reader left, nothing to report
        return EXIT_OK


def _error(error: AISAError, key: str | None) -> None:
    text = str(error)
    if isinstance(error, AllModelsFailedError) and error.attempts and not error.hint:
        hint = error.attempts[-1].error.hint
        text = f"{text}. {hint}" if hint else text
    print(f"aisa: error: {redact(text, key)}", file=sys.stderr)


def _warn(text: str) -> None:
    print(f"aisa: {text}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aisa",
        description="Talk to the AIsa LLM gateway (https://api.aisa.one/v1).",
        epilog="The API key is read from AISA_API_KEY; the base URL from AISA_BASE_URL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_connection(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)
    _add_connection(shared, argparse.SUPPRESS)

    chat = sub.add_parser("chat", parents=[shared], help="one chat completion")
    _add_model(chat)
    group = chat.add_mutually_exclusive_group(required=True)
    group.add_argument("--message", "-m", help="the user message ('-' reads stdin)")
    group.add_argument("--messages", help="a JSON list of messages, or @file ('@-': stdin)")
    chat.add_argument("--system", help="a system prompt, placed first")
    _add_answer_options(chat)
    chat.set_defaults(run=commands.chat)

    vision = sub.add_parser("vision", parents=[shared], help="ask about an image")
    _add_model(vision)
    vision.add_argument("--image", required=True, help="an http(s) URL or a local image file")
    vision.add_argument("--prompt", default="Describe this image.", help="the question")
    _add_answer_options(vision)
    vision.set_defaults(run=commands.vision)

    models = sub.add_parser("models", parents=[shared], help="models with context and prices")
    models.add_argument("filter", nargs="?", help="show only ids containing this text")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(run=commands.models)

    compare = sub.add_parser("compare", parents=[shared], help="one prompt on several models")
    compare.add_argument("--models", required=True, help="comma-separated model ids")
    compare.add_argument("--message", "-m", required=True, help="the user message")
    compare.add_argument("--system", help="a system prompt")
    _add_sampling(compare)
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.set_defaults(run=commands.compare)

    balance = sub.add_parser("balance", parents=[shared], help="credits left, in USD")
    balance.add_argument("--json", action="store_true", help="machine-readable output")
    balance.set_defaults(run=commands.balance)

    quote = sub.add_parser("quote", parents=[shared], help="what a request would cost (not run)")
    _add_model(quote)
    quote.add_argument("--message", "-m", required=True, help="the user message")
    quote.add_argument("--system", help="a system prompt")
    quote.add_argument("--max-tokens", type=_max_tokens, help="cap on the answer's tokens")
    quote.add_argument("--json", action="store_true", help="machine-readable output")
    quote.set_defaults(run=commands.quote)

    standin = sub.add_parser("standin", help="run the offline stand-in gateway (Ctrl-C stops)")
    standin.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    standin.add_argument("--port", type=_port, default=8000, help="port (8000; 0 picks a free one)")
    standin.add_argument("--access-log", action="store_true", help="log every request")
    standin.set_defaults(run=commands.standin)
    return parser


def _add_connection(parser: argparse.ArgumentParser, default: object) -> None:
    """On the main parser with real defaults, and again on each command (``SUPPRESS``) so the
    options work on either side of the command name."""
    parser.add_argument("--base-url", default=default, help="gateway URL (else AISA_BASE_URL)")
    parser.add_argument(
        "--api-key", default=default, help="API key (discouraged: set AISA_API_KEY instead)"
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=default, help="read timeout in seconds (120)"
    )


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model id ({DEFAULT_MODEL})")


def _add_sampling(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--temperature", type=_temperature, help="0 to 2")
    parser.add_argument("--max-tokens", type=_max_tokens, help="cap on the answer's tokens (≥ 1)")


def _add_answer_options(parser: argparse.ArgumentParser) -> None:
    _add_sampling(parser)
    parser.add_argument(
        "--stream", action="store_true", help="print reasoning and tokens as they arrive"
    )
    parser.add_argument(
        "--no-reasoning",
        action="store_true",
        help="do not show a reasoning model's thinking (shown on stderr by default)",
    )
    parser.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="MODELS",
        help="models to try in order if the first fails (comma-separated or repeated)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no summary line (model, tokens, cost)"
    )


# --- numbers checked where they are parsed: a bad one is a usage error before any request ------


def _checked(
    name: str, convert: Callable[[str], float], ok: Callable[[float], bool], rule: str
) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert``, then ``ok`` or "<name> must be <rule>" (the core's
    wording, so ``compare`` refuses up front rather than failing on every model)."""

    def parse(text: str) -> Any:
        value = convert(text)  # a ValueError here: argparse says "invalid <name> value"
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text}")
        return value

    parse.__name__ = name
    return parse


_max_tokens = _checked("max_tokens", int, lambda v: v >= 1, "an integer of at least 1")
_temperature = _checked("temperature", float, lambda v: 0 <= v <= 2, "between 0 and 2")
_seconds = _checked("timeout", float, lambda v: v > 0 and math.isfinite(v), "positive seconds")
_port = _checked("port", int, lambda v: 0 <= v <= 65535, "from 0 to 65535")
