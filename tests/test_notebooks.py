"""Every notebook in notebooks/ runs top to bottom, offline against the stand-in gateway.

A second run sets a recognisable API key with the base URL pointing at a stand-in we started,
so the notebooks take their "real gateway" path, and then scans every output for the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
CANARY = "sk-aisa-canary-7f3e9b1c2d4a"


def _run(path: Path, env: dict[str, str]) -> str:
    notebook = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(
            notebook,
            timeout=180,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return json.dumps(nbformat.writes(notebook))


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISA_", "OPENAI_"))}
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline(path: Path) -> None:
    output = _run(path, _base_env())
    assert "stand-in" in output.lower()  # it says where it runs
    assert '"output_type": "error"' not in output


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_never_shows_the_key(path: Path) -> None:
    from aisa_core.standin import StandIn

    with StandIn() as gateway:
        env = _base_env() | {"AISA_API_KEY": CANARY, "AISA_BASE_URL": gateway.base_url}
        output = _run(path, env)
    assert CANARY not in output


def test_committed_notebooks_have_no_outputs() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
