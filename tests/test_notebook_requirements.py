"""Every notebook runs on ``pip install "aisa-llm[all,notebooks]"``: each module its code cells
import comes from the standard library or from a distribution those extras bring in.

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


def code_cells(path: Path) -> Iterator[str]:
    notebook = json.loads(path.read_text("utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        # IPython's magics and shell escapes are not Python.
        yield "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(("%", "!")))


def imported_modules(source: str) -> set[str]:
    """Absolute imports in a cell (notebook cells may ``await`` at the top level)."""
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
    for source in code_cells(path):
        for module in sorted(imported_modules(source)):
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


def test_without_the_notebooks_extra_the_routing_notebook_lacks_langgraph() -> None:
    routing = ROOT / "notebooks" / "routing_and_fallbacks.ipynb"

    missing = unsatisfied(routing, installed_by(PACKAGE, ["all"]))

    assert set(missing) == {"langgraph.graph", "langgraph.prebuilt"}


def test_the_dev_extra_includes_what_the_notebooks_need() -> None:
    assert installed_by(PACKAGE, NOTEBOOK_EXTRAS) <= installed_by(PACKAGE, ["dev"])
