"""``metadata`` comes from the core's capability table: right per family, cheap, never raising."""

from __future__ import annotations

import logging
import time

import pytest

from llama_index_aisa import AISA
from llama_index_aisa import llm as aisa_llm
from tests.llama_index.helpers import KEY


@pytest.mark.parametrize(
    ("model", "window", "tools"),
    [
        ("gpt-4.1", 1_048_576, True),  # AIsa's model guide
        ("gpt-5", 400_000, True),
        ("claude-sonnet-4-5-20250929", 200_000, True),
        ("claude-opus-4-5", 1_000_000, True),
        ("gemini-2.5-flash", 1_048_576, True),
        ("qwen3-max", 262_144, True),
        ("deepseek-v3.1", 262_144, True),  # AIsa's model guide (September 2026)
        ("kimi-k2.5", 262_144, True),
        ("aisa/grok-4", 256_000, True),
    ],
)
def test_known_families(model: str, window: int, tools: bool) -> None:
    meta = AISA(model, api_key=KEY).metadata
    assert (meta.context_window, meta.is_function_calling_model, meta.is_chat_model) == (
        window,
        tools,
        True,
    )
    assert meta.model_name == model
    assert meta.num_output > 1000  # room for a real answer, not a 256-token default


def test_num_output_follows_max_tokens() -> None:
    assert AISA("gpt-4.1", api_key=KEY, max_tokens=300).metadata.num_output == 300


def test_overrides_win() -> None:
    llm = AISA("gpt-4.1", api_key=KEY, context_window=8000, is_function_calling_model=False)
    meta = llm.metadata
    assert (meta.context_window, meta.is_function_calling_model) == (8000, False)


def test_unknown_model_gets_a_default_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    aisa_llm._warned.discard("my-private-model-7")
    llm = AISA("my-private-model-7", api_key=KEY)
    with caplog.at_level(logging.WARNING, logger="llama_index_aisa.llm"):
        metas = [llm.metadata for _ in range(5)]
        AISA("my-private-model-7", api_key=KEY).metadata  # noqa: B018
    warnings = [r for r in caplog.records if "my-private-model-7" in r.getMessage()]
    assert len(warnings) == 1
    assert metas[0].context_window == 32_768 and metas[0].is_function_calling_model


def test_metadata_never_raises_and_is_cheap() -> None:
    llm = AISA("gpt-4.1", api_key=KEY)
    for odd in ("", "   ", "aisa/", "x" * 500, "claude-\u2028"):
        llm.model = odd
        assert llm.metadata.context_window > 0
    llm.model = "gpt-4.1"
    started = time.perf_counter()
    for _ in range(1000):
        llm.metadata  # noqa: B018
    assert time.perf_counter() - started < 0.5  # read on every agent step: keep it cheap
