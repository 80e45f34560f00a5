"""Every notebook runs on ``pip install "aisa-llm[all,notebooks]"``: each module its code cells
import (or load through an IPython magic, such as ``%matplotlib inline``) comes from the standard
library or from a distribution those extras bring in.

``test_notebooks.py`` runs the notebooks in the full ``dev`` environment, where a missing
requirement would go unnoticed; this reads their imports and the package's declared
requirements (as installed), so a notebook that needs something the extras lack fails here.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PACKAGE = "aisa-llm"
NOTEBOOK_EXTRAS = ("all", "notebooks")
# What a line magic loads: `%matplotlib inline` needs matplotlib and its inline backend (the
# charts render as PNG outputs in any kernel, with no GUI).
MAGIC_MODULES = {"matplotlib": {"matplotlib", "matplotlib_inline"}}


def code_cells(path: Path) -> Iterator[str]:
    notebook = json.loads(path.read_text("utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        yield "".join(source) if isinstance(source, list) else source


def magic_modules(cell: str) -> set[str]:
    """The modules the cell's line magics load (``%name ...``)."""
    found: set[str] = set()
    for line in cell.splitlines():
        if line.lstrip().startswith("%"):
            name = line.lstrip().lstrip("%").split(maxsplit=1)[0]
            found |= MAGIC_MODULES.get(name, set())
    return found


def imported_modules(cell: str) -> set[str]:
    """Absolute imports in a cell (notebook cells may ``await`` at the top level; IPython's
    magics and shell escapes are not Python, so those lines are left out)."""
    lines = cell.splitlines()
    source = "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!")))
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(source, "<cell>", "exec", flags=flags)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def installed_by(package: str, extras: Iterable[str]) -> set[str]:
    """Every distribution ``pip install "package[extras]"`` brings in, by canonical name,
    following each requirement's own requirements."""
    names: set[str] = set()
    todo = [(canonicalize_name(package), frozenset(extras))]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in done:
            continue
        done.add((name, wanted))
        names.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # not installed here: nothing to follow
            continue
        for text in requirements:
            req = Requirement(text)
            if req.marker is None or any(
                req.marker.evaluate({"extra": extra}) for extra in wanted | {""}
            ):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return names


@cache
def _top_level() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def providers(module: str) -> set[str]:
    """The installed distributions that provide ``module``; for a namespace several share
    (``llama_index.*``, ``langgraph.*``), the ones holding the module's own files."""
    parts = module.split(".")
    candidates = {canonicalize_name(d) for d in _top_level().get(parts[0], [])}
    if len(candidates) <= 1:
        return candidates
    for depth in range(len(parts), 0, -1):
        prefix = "/".join(parts[:depth])
        holding = {
            name
            for name in candidates
            if any(
                str(file).startswith(prefix + "/") or str(file) == prefix + ".py"
                for file in metadata.distribution(name).files or []
            )
        }
        if holding:
            return holding
    return candidates


def unsatisfied(path: Path, allowed: set[str]) -> dict[str, set[str]]:
    """The notebook's imports that no allowed distribution provides, with who does."""
    missing = {}
    for cell in code_cells(path):
        for module in sorted(imported_modules(cell) | magic_modules(cell)):
            if module.split(".")[0] in sys.stdlib_module_names:
                continue
            found = providers(module)
            if not found & allowed:
                missing[module] = found
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_import_comes_from_all_and_the_notebooks_extra(path: Path) -> None:
    allowed = installed_by(PACKAGE, NOTEBOOK_EXTRAS)

    missing = unsatisfied(path, allowed)

    assert not missing, (
        f'{path.name} imports what `pip install "{PACKAGE}[all,notebooks]"` does not bring in '
        f"(module: distributions that provide it): {missing}"
    )


def test_without_the_notebooks_extra_the_routing_notebook_lacks_what_it_adds() -> None:
    routing = ROOT / "notebooks" / "routing_and_fallbacks.ipynb"

    missing = unsatisfied(routing, installed_by(PACKAGE, ["all"]))

    # LangGraph (the agent), matplotlib and its inline backend (the charts), pandas (the
    # tables) and OpenTelemetry (the trace tree): the `notebooks` extra, not the package.
    packages = {module.split(".")[0] for module in missing}
    assert packages == {"langgraph", "matplotlib", "matplotlib_inline", "pandas", "opentelemetry"}
    assert {"langgraph.graph", "langgraph.prebuilt", "matplotlib.pyplot"} <= set(missing)


def test_a_matplotlib_magic_needs_matplotlib_and_its_inline_backend() -> None:
    cell = "%matplotlib inline\n!echo hi\nimport os"

    assert magic_modules(cell) == {"matplotlib", "matplotlib_inline"}
    assert imported_modules(cell) == {"os"}


def test_the_dev_extra_includes_what_the_notebooks_need() -> None:
    assert installed_by(PACKAGE, NOTEBOOK_EXTRAS) <= installed_by(PACKAGE, ["dev"])
