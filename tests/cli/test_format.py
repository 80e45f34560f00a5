"""The command line's pure formatting helpers."""

from __future__ import annotations

import pytest

from aisa_core.cli.format import (
    completion_summary,
    context_size,
    first_line,
    micros_to_usd,
    seconds,
    table,
    usd,
)
from aisa_core.errors import Attempt, ServerError
from aisa_core.types import ChatCompletion, ResponseMeta, Usage


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "n/a"), (0.0, "$0.00"), (1.5, "$1.50"), (0.000123, "$0.000123"), (1234.5, "$1,234.50")],
)
def test_usd(value: float | None, text: str) -> None:
    assert usd(value) == text


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (None, "n/a"),
        (0, "$0.00"),
        (1, "$0.000001"),
        (99_999_669, "$99.999669"),
        (10**12, "$1,000,000.00"),
    ],
)
def test_micros_to_usd_is_exact(micros: int | None, text: str) -> None:
    assert micros_to_usd(micros) == text


def test_sizes_and_durations() -> None:
    assert [context_size(n) for n in (128_000, 262_144, 1_047_576)] == ["128k", "262k", "1.05M"]
    assert [seconds(s) for s in (0.0421, 1.254)] == ["42 ms", "1.25 s"]


def test_first_line_skips_blank_lines_and_cuts() -> None:
    assert first_line("\n\n  Paris is the capital.\nMore.") == "Paris is the capital."
    assert first_line("abcdefghij", 5) == "abcd…"
    assert first_line(None) == ""


def test_table_aligns_and_fits_the_width() -> None:
    text = table(
        ("name", "n", "note"), [["a", "1", "short"], ["bbb", "100", "x" * 50]], right=(1,), width=30
    )

    assert text.splitlines() == [
        "name    n  note",
        "----  ---  " + "-" * 19,
        "a       1  short",
        "bbb   100  " + "x" * 18 + "…",
    ]
    assert max(len(line) for line in text.splitlines()) == 30


def test_completion_summary_names_failed_models_once() -> None:
    completion = ChatCompletion(
        model="grok-4",
        usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7, cost=0.00002),
    )
    error = ServerError("down", status_code=503)
    completion.meta = ResponseMeta(
        latency_s=0.5, attempts=(Attempt("gpt-4.1", error), Attempt("gpt-4.1", error))
    )

    assert completion_summary(completion) == (
        "grok-4 · 3+4 tokens · cost $0.00002 · 500 ms · gpt-4.1 failed first (ServerError ×2)"
    )
