"""The map in docs/architecture.md, kept true: every import in the packages points the way the
arrows there point. A module that imports against them fails this test, named."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("aisa_core", "langchain_aisa", "llama_index_aisa")
HTTP_LIBRARIES = ("httpx", "httpcore", "aiohttp")

# Each part of aisa_core and the parts of the package it may import (besides itself).
FOUNDATION = "foundation"  # errors, config, types, content, tools, callbacks, capabilities, ...
CORE_LAYERS: dict[str, set[str]] = {
    FOUNDATION: set(),
    "protocol": {FOUNDATION},
    "transport": {FOUNDATION, "protocol"},
    "client": {FOUNDATION, "protocol", "transport"},
    "standin": {FOUNDATION},
    "cli": {FOUNDATION, "client", "standin", "package"},
    "package": {FOUNDATION, "protocol", "transport", "client"},  # aisa_core/__init__.py
}
SUBPACKAGES = ("protocol", "transport", "client", "standin", "cli")
CORE_INTERNALS = ("aisa_core.protocol", "aisa_core.transport", "aisa_core.client")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted and absolute
    typing_only: bool  # under ``if TYPE_CHECKING:``
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    if node.module is None:  # ``from . import x``: x is a module
        return [f"{base}.{alias.name}" for alias in node.names]
    return [base]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def imports() -> Iterator[Import]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(), str(path))
            typing_only = _type_checking_nodes(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    targets = _resolve(module, path.name == "__init__.py", node)
                else:
                    continue
                for target in targets:
                    yield Import(module, target, id(node) in typing_only, node.lineno)


def _core_part(module: str) -> str:
    parts = module.split(".")
    if parts == ["aisa_core"]:
        return "package"
    return parts[1] if parts[1] in SUBPACKAGES else FOUNDATION


def _top(name: str) -> str:
    return name.split(".")[0]


def violations() -> list[str]:
    found = []
    for imp in imports():
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        own, other = _top(imp.module), _top(imp.target)
        if own != "aisa_core" and other in PACKAGES and other not in ("aisa_core", own):
            found.append(f"{where}: the two framework adapters never import each other")
        if own != "aisa_core" and imp.target.startswith(CORE_INTERNALS):
            found.append(f"{where}: adapters use aisa_core's public modules, not its internals")
        if own == "aisa_core":
            found.extend(_core_violations(imp, where))
    return found


def _core_violations(imp: Import, where: str) -> list[str]:
    part, target_top = _core_part(imp.module), _top(imp.target)
    if target_top in ("langchain_aisa", "llama_index_aisa"):
        if imp.module == "aisa_core.cli.demo":
            return []  # the tour shows the adapters too, when they are installed
        return [f"{where}: the core never imports a framework adapter"]
    if target_top in HTTP_LIBRARIES:
        if part == "protocol":
            return [f"{where}: protocol/ is pure and imports no HTTP library"]
        if part != "transport" and not imp.typing_only:
            return [f"{where}: only transport/ imports an HTTP library (others: annotations only)"]
        return []
    if target_top != "aisa_core" or imp.typing_only:
        return []
    target = _core_part(imp.target)
    allowed = CORE_LAYERS[part] | {part}
    if target in allowed or (part == "transport" and imp.target == "aisa_core.protocol.wire"):
        return []
    if part == "transport" and target == "protocol":
        return [f"{where}: transport/ knows only protocol.wire (requests and replies)"]
    return [f"{where}: {part} may import only {sorted(allowed)}, not {target}"]


def test_imports_point_the_way_the_map_says() -> None:
    assert violations() == []


def test_the_checker_sees_a_wrong_import() -> None:
    bad = [
        Import("aisa_core.protocol.chat", "httpx", False, 1),
        Import("aisa_core.protocol.chat", "aisa_core.client.sync", False, 1),
        Import("aisa_core.errors", "aisa_core.transport", False, 1),
        Import("aisa_core.client.sync", "httpx", False, 1),
    ]
    assert all(_core_violations(imp, "x") for imp in bad)
    assert not _core_violations(Import("aisa_core.client.sync", "httpx", True, 1), "x")
    assert not _core_violations(Import("aisa_core.transport.sync", "httpx", False, 1), "x")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_too_long(package: str) -> None:
    """Budgets from the layout issue: ~400 lines a module, ~500 for an adapter's main class."""
    main_classes = {"chat_models.py", "llm.py"}
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > (520 if path.name in main_classes else 420)
    }
    assert long == {}


def test_the_map_names_every_subpackage() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    folders = {
        str(path.parent.relative_to(ROOT)) + "/"
        for package in PACKAGES
        for path in (ROOT / package).rglob("__init__.py")
    }
    assert {f for f in folders if f"`{f}`" not in text} == set()
