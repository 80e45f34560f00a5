"""Tools, ``tool_choice`` and ``response_format``: any reasonable input to the wire shape.

All pure and checked locally, so a bad tool definition fails before a request is sent (and
never as a ``tool_choice`` without tools, which providers reject with a vague 400).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_type_hints

from pydantic import BaseModel

from .errors import InvalidInputError

__all__ = ["ToolLike", "normalize_tool_choice", "to_response_format", "to_tool", "to_tools"]

ToolLike = Mapping[str, Any] | type[BaseModel] | Callable[..., Any]
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def to_tool(tool: ToolLike, *, strict: bool | None = None) -> dict[str, Any]:
    """``{"type": "function", "function": {...}}`` from an OpenAI tool dict, a bare function
    schema dict (``name``/``parameters``), a pydantic model class or a typed Python function."""
    if isinstance(tool, Mapping):
        function = _from_tool_dict(tool) if tool.get("type") == "function" else _from_dict(tool)
    elif isinstance(tool, type) and issubclass(tool, BaseModel):
        function = _from_model(tool)
    elif callable(tool):
        function = _from_function(tool)
    else:
        raise InvalidInputError(f"cannot make a tool from {type(tool).__name__}")
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"tool name {name!r} is invalid", hint="Use 1-64 letters, digits, '_' or '-'"
        )
    function.setdefault("parameters", {"type": "object", "properties": {}})
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def to_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise InvalidInputError(f"tools must be a list of tools, not {type(tools).__name__}")
    converted = [to_tool(t, strict=strict) for t in tools]
    names = [t["function"]["name"] for t in converted]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputError(f"duplicate tool names: {', '.join(duplicates)}")
    return converted


def _from_tool_dict(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function")
    if not isinstance(function, Mapping):
        raise InvalidInputError("a tool of type 'function' needs a 'function' dict")
    return dict(function)


def _from_dict(schema: Mapping[str, Any]) -> dict[str, Any]:
    if "name" in schema:
        return dict(schema)
    if "title" in schema and schema.get("type") == "object":  # a plain JSON schema
        out: dict[str, Any] = {"name": schema["title"], "parameters": dict(schema)}
        if "description" in schema:
            out["description"] = schema["description"]
        return out
    raise InvalidInputError("a tool dict needs 'name' (or a JSON schema with 'title')")


def _from_model(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    description = schema.pop("description", None) or inspect.getdoc(model)
    schema.pop("title", None)
    out: dict[str, Any] = {"name": model.__name__, "parameters": schema}
    if description:
        out["description"] = description
    return out


def _from_function(fn: Callable[..., Any]) -> dict[str, Any]:
    from pydantic import TypeAdapter, create_model  # only when a function is turned into a tool

    signature = inspect.signature(fn)
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    model = create_model(fn.__name__, **fields)
    schema = TypeAdapter(model).json_schema()
    schema.pop("title", None)
    out: dict[str, Any] = {"name": fn.__name__, "parameters": schema}
    doc = inspect.getdoc(fn)
    if doc:
        out["description"] = doc.strip()
    return out


def normalize_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]] | None) -> Any:
    """``"auto"``, ``"none"``, ``"required"`` (also ``"any"``/``True``), a tool name or a dict.

    Returns ``None`` for "no preference". A choice without tools, or naming a tool that is not
    there, is an ``InvalidInputError``.
    """
    if choice is None or choice is False:
        return None
    names = [t["function"]["name"] for t in tools or []]
    if not names:
        if choice in ("none", "auto"):
            return None  # harmless without tools; providers reject it, so we leave it out
        raise InvalidInputError("tool_choice was given but no tools were bound")
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return choice
    if isinstance(choice, str):
        if choice not in names:
            raise InvalidInputError(f"tool_choice names {choice!r}, which is not among {names}")
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return _choice_from_mapping(choice, names)
    raise InvalidInputError(f"tool_choice {choice!r} is not understood")


def _choice_from_mapping(choice: Mapping[str, Any], names: list[str]) -> Any:
    """OpenAI's ``{"type": "function", ...}``, Anthropic's ``{"type": "tool"|"any"|"auto"}``,
    or a bare ``{"name": ...}``."""
    kind = choice.get("type")
    if kind in ("any", "required"):
        return "required"
    if kind in ("auto", "none") and "name" not in choice and "function" not in choice:
        return kind
    name = (choice.get("function") or {}).get("name") or choice.get("name")
    if name is None:
        raise InvalidInputError(f"tool_choice {dict(choice)!r} names no tool")
    if name not in names:
        raise InvalidInputError(f"tool_choice names {name!r}, which is not among {names}")
    if kind == "function" and "function" in choice:
        return dict(choice)
    return {"type": "function", "function": {"name": name}}


def to_response_format(value: Any, *, strict: bool | None = None) -> dict[str, Any] | None:
    """``"json_object"``, ``"json"``, a pydantic model class, a JSON schema dict or a full
    ``response_format`` dict, to the wire shape.

    ``strict`` is left out by default: OpenAI's strict mode rejects ordinary schemas (optional
    fields, no ``additionalProperties: false``), so asking for it must be deliberate."""
    if value is None:
        return None
    if value in ("json_object", "json"):
        return {"type": "json_object"}
    if isinstance(value, type) and issubclass(value, BaseModel):
        return _json_schema(value.__name__, value.model_json_schema(), strict)
    if isinstance(value, Mapping):
        if value.get("type") in ("json_object", "json_schema", "text"):
            return dict(value)
        name = str(value.get("title", "response"))
        return _json_schema(name, dict(value), strict)
    raise InvalidInputError(f"response_format {value!r} is not understood")


def _json_schema(name: str, schema: dict[str, Any], strict: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64], "schema": schema}
    if strict is not None:
        body["strict"] = strict
    return {"type": "json_schema", "json_schema": body}
