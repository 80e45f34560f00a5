"""Pure text formatting for the ``aisa`` command line: money, sizes, aligned tables, one-line
summaries. Nothing here prints or talks to the network, so every function is easy to test.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from aisa_core.types import Balance, ChatCompletion, CompareResult, CostQuote, ModelInfo

__all__ = [
    "ANSWER_HEADING",
    "THINKING_HEADING",
    "balance_lines",
    "compare_rows",
    "completion_summary",
    "cut_short",
    "dim",
    "first_line",
    "micros_to_usd",
    "model_rows",
    "quote_lines",
    "seconds",
    "table",
    "tokens_text",
    "usd",
]

NOT_KNOWN = "n/a"
THINKING_HEADING = "thinking…"
ANSWER_HEADING = "answer:"

_CUT_SHORT = {
    "length": "cut at the token limit (finish_reason length); raise --max-tokens for the rest",
    "content_filter": "stopped by the provider's content filter (finish_reason content_filter)",
}


def cut_short(finish_reason: str | None) -> str | None:
    """How an answer ended early ("cut at the token limit ..."), from its finish reason;
    ``None`` when it ended normally."""
    return _CUT_SHORT.get(finish_reason or "")


def dim(text: str) -> str:
    """Text in the terminal's faint style, reset at its end (each piece stands alone, so an
    interrupted stream never leaves the terminal dimmed)."""
    return f"\x1b[2m{text}\x1b[0m"


def usd(value: float | None) -> str:
    """``$0.000123``, ``$1.50``: up to six decimals, at least two; ``n/a`` when unknown (an
    absent cost is not a zero cost)."""
    if value is None:
        return NOT_KNOWN
    text = f"{value:,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def micros_to_usd(micros: int | None) -> str:
    """Integer micro-USD as exact dollars (through ``Decimal``, never through float)."""
    if micros is None:
        return NOT_KNOWN
    text = f"{Decimal(micros).scaleb(-6):,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def context_size(tokens: int) -> str:
    """``128k``, ``1.05M``: a context window at a glance."""
    if tokens >= 1_000_000:
        return f"{tokens / 1e6:.3g}M"
    return f"{round(tokens / 1000)}k"


def first_line(text: str | None, limit: int = 80) -> str:
    """The first non-empty line, cut to ``limit`` characters with an ellipsis."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: max(0, limit - 1)] + "…"


def seconds(value: float) -> str:
    """``42 ms`` below a second, ``1.25 s`` above."""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def tokens_text(prompt: int | None, completion: int | None) -> str:
    if prompt is None and completion is None:
        return NOT_KNOWN
    return f"{prompt or 0}+{completion or 0}"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    width: int | None = None,
) -> str:
    """Columns padded to their widest cell; ``right`` lists right-aligned columns. With
    ``width``, the last column is cut so each line fits the terminal."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if width is not None:
        room = width - sum(widths[:-1]) - 2 * (len(widths) - 1)
        widths[-1] = max(len(headers[-1]), min(widths[-1], room))
    lines = []
    for index, row in enumerate(cells):
        row[-1] = first_line(row[-1], widths[-1]) if index else row[-1]
        padded = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def completion_summary(completion: ChatCompletion) -> str:
    """``gpt-4.1-mini · 12+5 tokens · $0.000021 · 0.42 s`` plus any models that failed first."""
    parts = [completion.model or completion.meta.requested_model or "?"]
    usage = completion.usage
    if usage is not None:
        parts.append(f"{tokens_text(usage.prompt_tokens, usage.completion_tokens)} tokens")
    parts.append(f"cost {usd(completion.cost_usd)}")
    if completion.meta.latency_s is not None:
        parts.append(seconds(completion.meta.latency_s))
    failed: dict[str, list[str]] = {}
    for attempt in completion.meta.attempts:
        failed.setdefault(attempt.model, []).append(type(attempt.error).__name__)
    for model, errors in failed.items():
        times = f" ×{len(errors)}" if len(errors) > 1 else ""
        parts.append(f"{model} failed first ({errors[-1]}{times})")
    return " · ".join(parts)


def model_rows(models: Sequence[ModelInfo]) -> list[list[str]]:
    def flag(value: bool) -> str:
        return "yes" if value else "-"

    def price(info: ModelInfo) -> str:
        if info.input_price is None or info.output_price is None:
            return NOT_KNOWN
        return f"{usd(info.input_price)} / {usd(info.output_price)}"

    return [
        [
            info.id,
            context_size(info.context_window) if info.known else "?",
            flag(info.vision),
            flag(info.tools),
            flag(info.json_schema),
            price(info),
        ]
        for info in models
    ]


MODEL_HEADERS = ("model", "context", "vision", "tools", "json", "USD per 1M in / out")


def compare_rows(results: Sequence[CompareResult]) -> list[list[str]]:
    rows = []
    for r in results:
        answer = r.text if r.ok else f"{r.error_type}: {r.error}"
        rows.append(
            [
                r.model,
                ("cut" if cut_short(r.finish_reason) else "ok") if r.ok else "error",
                seconds(r.latency_s),
                tokens_text(r.prompt_tokens, r.completion_tokens) if r.ok else "-",
                usd(r.cost_usd) if r.ok else "-",
                first_line(answer, 10_000),
            ]
        )
    return rows


COMPARE_HEADERS = ("model", "status", "latency", "tokens", "cost", "answer")


def balance_lines(balance: Balance) -> list[str]:
    lines = [
        f"available  {micros_to_usd(balance.available_balance_micros_usd)}",
        f"account    {micros_to_usd(balance.account_balance_micros_usd)}",
    ]
    key: dict[str, Any] = balance.api_key or {}
    if key:
        if key.get("unlimited"):
            limit = "no limit"
        else:
            limit = f"{micros_to_usd(_int_or_none(key.get('remaining_micros_usd')))} left"
        used = micros_to_usd(_int_or_none(key.get("used_micros_usd")))
        lines.append(f"this key   {used} used, {limit}")
    if balance.as_of:
        lines.append(f"as of      {balance.as_of}")
    return lines


def quote_lines(quote: CostQuote, model: str) -> list[str]:
    lines = [f"estimate   {micros_to_usd(quote.estimated_cost_micros_usd)} on {model}"]
    if quote.max_cost_micros_usd is not None:
        lines.append(f"at most    {micros_to_usd(quote.max_cost_micros_usd)}")
    if quote.estimate_kind:
        lines.append(f"kind       {quote.estimate_kind}")
    if quote.may_exceed_estimate is not None:
        lines.append(f"may exceed {'yes' if quote.may_exceed_estimate else 'no'}")
    return lines


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
