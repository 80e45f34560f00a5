"""The capability table is AIsa's catalog: generated from the vendored transcription of AIsa's
published facts, and pinned to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aisa_core import capabilities
from aisa_core.capabilities import build_catalog, catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCE = json.loads((ROOT / "data" / "aisa-catalog.json").read_text("utf-8"))["models"]


def test_the_packaged_catalog_is_generated_from_the_source() -> None:
    packaged = json.loads((ROOT / "aisa_core" / "catalog.json").read_text("utf-8"))
    assert packaged == build_catalog(json.loads((ROOT / "data" / "aisa-catalog.json").read_text()))
    check = [sys.executable, str(ROOT / "scripts" / "build_catalog.py"), "--check"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize("model", sorted(SOURCE))
def test_every_listed_id_is_known_with_aisas_facts(model: str) -> None:
    facts, info = SOURCE[model], capabilities(model)
    assert info.known and model in catalog()
    context = facts["context_window"] or facts.get("april_2026_context_window")
    if context:
        assert info.context_window == context
    if facts.get("price_usd_per_1m_input") is not None:
        assert (info.input_price, info.output_price) == (
            facts["price_usd_per_1m_input"],
            facts["price_usd_per_1m_output"],
        )
    else:
        assert info.input_price is None and info.output_price is None  # never a guess
    vision = facts["vision"] if facts["vision"] is not None else facts.get("april_2026_vision")
    if vision is not None:
        assert info.vision is vision
    assert info.text_route is facts["text_route"]
    if not facts["text_route"]:
        assert not info.tools


def test_prices_are_aisas_not_the_providers_list_prices() -> None:
    assert (capabilities("gpt-4.1").input_price, capabilities("gpt-4.1").output_price) == (1.4, 5.6)
    assert capabilities("gemini-2.5-flash").input_price == 0.21


def test_unlisted_ids_fall_back_to_their_family_without_a_price() -> None:
    info = capabilities("gpt-4.1-nano")
    assert info.known and info.family == "gpt-4.1" and info.input_price is None
    unknown = capabilities("mystery-model")
    assert not unknown.known and unknown.family == "unknown"


def test_a_stale_catalog_is_caught(tmp_path: Path) -> None:
    changed = json.loads((ROOT / "data" / "aisa-catalog.json").read_text())
    changed["models"]["gpt-4.1"]["price_usd_per_1m_input"] = 99.0
    assert build_catalog(changed)["models"]["gpt-4.1"]["input_price"] == 99.0
    assert build_catalog(changed) != json.loads((ROOT / "aisa_core" / "catalog.json").read_text())
