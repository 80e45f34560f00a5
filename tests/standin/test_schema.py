"""Generated tool arguments and structured output validate against their JSON schemas."""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from aisa_core.standin._schema import example_instance, pick_word


class Unit(str, enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Address(BaseModel):
    street: str
    zip_code: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=99)
    email: str = Field(json_schema_extra={"format": "email"})
    unit: Unit
    mood: Literal["happy", "sad"]
    tags: list[str] = Field(min_length=2)
    home: Address
    previous: list[Address]
    manager: Optional[Person] = None  # noqa: UP045 - the Optional spelling on purpose
    nickname: str | None
    score: float = Field(gt=0, lt=1)


class Node(BaseModel):
    value: int
    children: list[Node]


SCHEMAS: dict[str, Any] = {
    "empty": {},
    "true": True,
    "string": {"type": "string"},
    "bounded string": {"type": "string", "minLength": 12, "maxLength": 14},
    "tiny string": {"type": "string", "maxLength": 3},
    "formats": {
        "type": "object",
        "properties": {
            f: {"type": "string", "format": f}
            for f in ("date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6")
        },
        "required": ["date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6"],
    },
    "integer bounds": {"type": "integer", "minimum": 10, "maximum": 12},
    "exclusive": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
    "float window": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "multiple": {"type": "integer", "minimum": 7, "multipleOf": 5},
    "negative": {"type": "number", "maximum": -3},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "type list": {"type": ["null", "integer"]},
    "const": {"const": {"fixed": [1, 2]}},
    "enum": {"enum": ["red", 3, None]},
    "unique items": {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 3,
        "uniqueItems": True,
    },
    "unique numbers": {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 3,
        "uniqueItems": True,
    },
    "unique enum": {
        "type": "array",
        "items": {"enum": ["a", "b", "c"]},
        "minItems": 3,
        "uniqueItems": True,
    },
    "max items": {"type": "array", "maxItems": 0},
    "prefix items": {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "items": False,
    },
    "anyOf": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["x"]}]},
    "oneOf": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "allOf": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"$ref": "#/$defs/b"},
        ],
        "$defs": {"b": {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}},
    },
    "definitions ref": {
        "type": "object",
        "properties": {"p": {"$ref": "#/definitions/P"}},
        "required": ["p"],
        "definitions": {"P": {"type": "string", "enum": ["only"]}},
    },
    "no required": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "additionalProperties": False,
    },
    "required without properties": {"type": "object", "required": ["anything"]},
    "inferred object": {"properties": {"n": {"type": "number"}}, "required": ["n"]},
    "inferred array": {"items": {"type": "boolean"}, "minItems": 1},
    "person (pydantic)": Person.model_json_schema(),
    "tree (recursive)": Node.model_json_schema(),
    "recursive optional": {
        "$defs": {
            "L": {
                "type": "object",
                "properties": {"next": {"anyOf": [{"$ref": "#/$defs/L"}, {"type": "null"}]}},
                "required": ["next"],
            }
        },
        "$ref": "#/$defs/L",
    },
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_instances_validate(name: str) -> None:
    schema = SCHEMAS[name]
    instance = example_instance(schema, "Plan a trip to Lisbon for 3 people in May")
    checker = Draft202012Validator.FORMAT_CHECKER
    Draft202012Validator(schema, format_checker=checker).validate(instance)


def test_pydantic_model_round_trip() -> None:
    instance = example_instance(Person.model_json_schema(), "Add Ada, a happy engineer")
    person = Person.model_validate(instance)
    assert person.name == "Ada"
    assert person.mood == "happy"
    assert person.age == 18


def test_numbers_and_words_come_from_the_user() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert example_instance(schema, "What is 2.5 times 4?") == {"a": 2.5, "b": 4}
    assert example_instance(schema, "no numbers here") == {"a": 1, "b": 1}


def test_query_like_fields_get_the_whole_request() -> None:
    schema = {
        "type": "object",
        "properties": {"query": {"type": "string"}, "location": {"type": "string"}},
        "required": ["query", "location"],
    }
    assert example_instance(schema, "  Best   pizza in Naples  ") == {
        "query": "Best pizza in Naples",
        "location": "Naples",
    }


def test_enum_prefers_the_option_the_user_mentions() -> None:
    schema = {"enum": ["celsius", "fahrenheit"]}
    assert example_instance(schema, "in fahrenheit please") == "fahrenheit"
    assert example_instance(schema, "anything") == "celsius"


def test_gemini_upper_case_types() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"n": {"type": "INTEGER"}, "ok": {"type": "BOOLEAN"}},
        "required": ["n", "ok"],
    }
    assert example_instance(schema, "") == {"n": 1, "ok": True}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("What is the weather in Paris?", "Paris"),
        ("tell me about photosynthesis", "photosynthesis"),
        ("Hello", "Hello"),
        ("", "example"),
        ("is it ok", "example"),
        ("what's up with São Paulo", "São"),
    ],
)
def test_pick_word(text: str, word: str) -> None:
    assert pick_word(text) == word
