"""The tour (``make demo``) runs offline and shows every step."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib

import pytest

from aisa_core.cli import demo


def test_tiny_png_is_a_valid_png() -> None:
    png = demo.tiny_png(3, 2)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", png[8:16])
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (kind, length, width, height, depth, colour) == (b"IHDR", 13, 3, 2, 8, 2)
    idat = png.index(b"IDAT")
    size = struct.unpack(">I", png[idat - 4 : idat])[0]
    assert len(zlib.decompress(png[idat + 4 : idat + 4 + size])) == 2 * (1 + 3 * 3)
    assert png.endswith(b"IEND\xaeB`\x82")


def test_demo_runs_offline_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert "AISA_API_KEY" not in os.environ  # the suite's conftest removes it

    code = demo.main([])

    out = capsys.readouterr().out
    assert code == 0
    assert (
        "No AISA_API_KEY set: running against the offline stand-in gateway at http://127.0.0.1:"
        in out
    )
    for line in (
        "1. Plain chat",
        "   < Hello from the AIsa stand-in (gpt-4.1-mini). You said: In one sentence, what is",
        "2. Streaming: tokens printed as they arrive",
        "model asked for get_weather(",
        "< The tool returned: ",
        "You said: What colours are in this image? One short sentence. I see 1 image.",
        "stand-in: every request for gpt-4.1 now gets a 503 (fail_model)",
        "x gpt-4.1: ServerError (503) Upstream is down.",
        "gpt-4.1 failed first (ServerError)",
        "6 answers · ",
        "7. compare_models",
        "8. Retrieval on one key",
        "nearest note by cosine",
        "reranker's pick (jina-reranker-v3, score",
        "): The Eiffel Tower in Paris is 330 metres tall.",
        "9. Model health",
        "call 3: answered by gpt-4.1-mini; gpt-4.1 skipped (cooling down)",
        "requests that went to gpt-4.1: 2 of 4 calls",
        "10. A spend budget",
        "call 1: answered; spent so far $",
        "call 2: refused before sending",
        "11. Framework adapters",
        "LangChain ChatAISA: ",
        "LlamaIndex AISA: ",
        "Done.",
    ):
        assert line in out
    assert "this step failed" not in out


def test_demo_module_runs_as_a_command_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AISA_API_KEY", "AISA_BASE_URL")}

    done = subprocess.run(
        [sys.executable, "-m", "aisa_core.cli.demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert done.returncode == 0, done.stderr
    assert "running against the offline stand-in gateway" in done.stdout
    assert done.stdout.rstrip().endswith("`make test` for the suite.")
