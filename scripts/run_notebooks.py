"""Run the notebooks offline against the stand-in and save their outputs in them.

    python scripts/run_notebooks.py                            # every notebook in notebooks/
    python scripts/run_notebooks.py notebooks/langchain_rag.ipynb

``make notebooks`` runs it. Each notebook runs top to bottom in a fresh kernel whose environment
has no ``AISA_*`` or ``OPENAI_*`` variable, so it starts the offline stand-in gateway and says so
in its first output; a cell that fails, or a first output that does not say so, stops the run
and the file is left as it was. The outputs (text, tables, PNG charts) are written back, with a
digest of the cells' sources in the notebook's metadata, so ``tests/test_notebooks.py`` can tell
outputs made by these very cells from stale ones. The same module executes the notebooks in the
tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BANNER = "No AISA_API_KEY set: using the offline AIsa stand-in gateway"
"""What a notebook's first output says when it runs against the stand-in."""
FIGURE_TAG = "figure"
"""The tag of a code cell that draws a chart (its outputs must hold a PNG)."""
CELL_TIMEOUT = 180


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def offline_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AIsa or OpenAI settings (plus ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISA_", "OPENAI_"))}
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    return env | dict(extra or {})


def execute(notebook: Any, path: Path, env: Mapping[str, str]) -> Any:
    """Run ``notebook`` (read from ``path``) in a fresh kernel with exactly ``env``; raises
    ``nbclient.exceptions.CellExecutionError`` at the first failing cell."""
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(env))
    return notebook


def sources_digest(notebook: Any) -> str:
    """A digest of every cell's type and source: what the outputs were made from."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    return hashlib.sha256(json.dumps(cells).encode("utf-8")).hexdigest()


def first_output(notebook: Any) -> str:
    """The text the first code cell printed."""
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def run(path: Path) -> None:
    """Execute ``path`` offline and write its outputs back (see the module docstring)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    execute(notebook, path, offline_env())
    if BANNER not in first_output(notebook):
        raise RuntimeError(f"{path.name} did not run against the stand-in: {BANNER!r} not shown")
    notebook.metadata["aisa"] = {
        "outputs": "a clean offline run against the stand-in (scripts/run_notebooks.py)",
        "sources_sha256": sources_digest(notebook),
    }
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all of them)")
    args = parser.parse_args(argv)
    for path in args.paths or notebook_paths():
        print(f"running {path.name} ...", flush=True)
        run(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
