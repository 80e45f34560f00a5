"""Structured output for ``ChatAISA``: the ``json_schema`` request format, the parser for a schema,
and the optional raw-and-parsed answer.

langchain-core's own parsers do the parsing; they are imported on first use, to keep
``import langchain_aisa`` fast.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, cast

from langchain_core.runnables import Runnable
from pydantic import BaseModel

__all__ = ["json_schema_format", "output_parser", "parsed_output"]


def output_parser(schema: dict[str, Any] | type, method: str) -> Runnable[Any, Any]:
    """Pydantic classes parse to instances, everything else to dicts."""
    from langchain_core.output_parsers import (
        JsonOutputKeyToolsParser,
        JsonOutputParser,
        PydanticOutputParser,
        PydanticToolsParser,
    )
    from langchain_core.utils.function_calling import convert_to_openai_tool
    from langchain_core.utils.pydantic import is_basemodel_subclass

    model = schema if isinstance(schema, type) and is_basemodel_subclass(schema) else None
    if method == "function_calling":
        if model is not None:
            return PydanticToolsParser(tools=[cast("type[BaseModel]", model)], first_tool_only=True)
        name = convert_to_openai_tool(schema)["function"]["name"]
        return JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    if model is not None:
        return PydanticOutputParser(pydantic_object=cast("type[BaseModel]", model))
    return JsonOutputParser()


def json_schema_format(schema: dict[str, Any] | type, strict: bool | None) -> dict[str, Any]:
    """The ``response_format`` that asks for answers following ``schema``."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    function = convert_to_openai_tool(schema, strict=strict)["function"]
    spec: dict[str, Any] = {"name": function["name"], "schema": function["parameters"]}
    if function.get("description"):
        spec["description"] = function["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def parsed_output(
    llm: Runnable[Any, Any], parser: Runnable[Any, Any], *, include_raw: bool
) -> Runnable[Any, Any]:
    """``llm`` piped into ``parser``; with ``include_raw``, a dict of the ``raw`` message, the
    ``parsed`` value (``None`` when parsing failed) and the ``parsing_error``."""
    from langchain_core.runnables import RunnableMap, RunnablePassthrough

    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([no_parse], exception_key="parsing_error")
