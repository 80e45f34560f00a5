"""Example instances of JSON schemas: tool-call arguments and structured output.

Agents and structured-output parsers validate what the model returns, so the stand-in
must produce values that satisfy the schema it was given. It also borrows words and
numbers from the user's message, so ``"What is 3 times 4?"`` against ``multiply(a, b)``
gives ``{"a": 3, "b": 4}`` and demos read naturally. Everything here is deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Past _SHALLOW nesting levels, optional things (extra items, optional properties,
# nullable branches) are left out so recursive schemas end; _MAX_DEPTH is the hard stop.
_SHALLOW = 6
_MAX_DEPTH = 16
# Bounds on the work one instance may take, whatever the schema asks for.
_MAX_COUNT = 10_000
_BUDGET = 50_000
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_STOPWORDS = _words(
    "a an and are as at be by can could do does for from give have how i in is it me "
    "my of on or please show tell than that the this to was what whats when where "
    "which who why will with would you your"
)
# String properties that want the whole request rather than one word of it.
_WHOLE_TEXT_NAMES = _words(
    "query q question text input prompt message search search_query topic content "
    "sentence statement request task"
)
_FORMATS = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}


def example_instance(schema: Any, user_text: str = "") -> Any:
    """A value valid against ``schema`` (draft 2020-12 subset, Gemini's upper-case types too).

    Handles ``type`` (also lists), ``enum``, ``const``, ``anyOf``/``oneOf`` (the first
    non-null branch), ``allOf``, ``$ref`` into ``$defs``/``definitions``, required
    properties, ``items``/``prefixItems``, length, item-count and numeric bounds and common
    string formats. ``pattern`` is not solved.
    """
    return _Builder(schema, user_text).build(schema, "", 0, 0)


def pick_word(text: str) -> str:
    """The word of ``text`` most likely to be the argument: a proper noun, else the longest."""
    words: list[str] = [w.strip("'-") for w in _WORD.findall(text)]
    words = [w for w in words if w and w.lower() not in _STOPWORDS]
    for word in words[1:] if len(words) > 1 else words:
        if word[0].isupper():
            return word
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        return "example"
    return max(long_words, key=len)


class _Builder:
    def __init__(self, root: Any, user_text: str) -> None:
        self.root = root
        self.text = " ".join(user_text.split())[:200]
        self.word = pick_word(user_text)
        self.numbers = [float(n) for n in _NUMBER.findall(user_text)]
        self.next_number = 0
        self.highest = 0.0  # of the numbers generated so far
        self.budget = _BUDGET

    def build(self, schema: Any, name: str, depth: int, variant: int) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > 4 * _MAX_DEPTH:
            return None  # an absurd schema gets an invalid value rather than a hung server
        if not isinstance(schema, Mapping):
            return self._string({}, name, variant)  # `true` or a non-schema: anything goes
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            if target is not None and depth < _MAX_DEPTH:
                return self.build(target, name, depth + 1, variant)
            return {}
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return self._enum(enum, variant)
        narrowed = self._narrowed(schema, depth)
        if narrowed is not None:
            return self.build(narrowed, name, depth + 1, variant)
        return self._typed(schema, name, depth, variant)

    def _typed(self, schema: Mapping[str, Any], name: str, depth: int, variant: int) -> Any:
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in ("number", "integer"):
            return self._number(schema, kind == "integer", variant)
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return self._string(schema, name, variant)

    def _narrowed(self, schema: Mapping[str, Any], depth: int) -> Any:
        """The one schema to build for ``anyOf``/``oneOf``/``allOf``; None without them."""
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self._choose(options, depth)
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            return self._merge(schema, parts)
        return None

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        node: Any = self.root
        for token in ref[1:].split("/"):
            if not token:
                continue
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            else:
                return None
        return node

    def _choose(self, options: Sequence[Any], depth: int) -> Any:
        nulls = [o for o in options if isinstance(o, Mapping) and o.get("type") == "null"]
        non_null = [o for o in options if not any(o is n for n in nulls)]
        if not non_null:
            return options[0]
        if depth >= _SHALLOW and nulls:
            return nulls[0]  # stop a recursive schema where it allows it
        return non_null[0]

    def _merge(self, schema: Mapping[str, Any], parts: Sequence[Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties") or {})
        required: list[str] = list(merged.get("required") or [])
        for part in parts:
            resolved = (
                self._resolve(part["$ref"])
                if isinstance(part, Mapping) and "$ref" in part
                else part
            )
            if not isinstance(resolved, Mapping):
                continue
            for key, value in resolved.items():
                if key == "properties" and isinstance(value, Mapping):
                    properties.update(value)
                elif key == "required" and isinstance(value, list):
                    required.extend(r for r in value if r not in required)
                else:
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        return merged

    def _enum(self, options: list[Any], variant: int) -> Any:
        lowered = self.text.lower()
        start = next(
            (
                index
                for index, option in enumerate(options)
                if isinstance(option, str) and option and option.lower() in lowered
            ),
            0,
        )
        return options[(start + variant) % len(options)]  # variants differ (uniqueItems)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        names = required or (list(properties) if depth < _SHALLOW else [])
        return {n: self.build(properties.get(n, {}), n, depth + 1, 0) for n in names}

    def _array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        min_items = _int(schema.get("minItems"), 0)
        max_items = _opt_int(schema.get("maxItems"))
        count = max(min_items, len(prefix), 0 if depth >= _SHALLOW else 1)
        if max_items is not None:
            count = min(count, max_items)
        singular = name[:-1] if name.endswith("s") else name
        result = [self.build(s, singular, depth + 1, 0) for s in prefix[:count]]
        item_schema = items if isinstance(items, Mapping) else {}
        for index in range(len(result), count):
            result.append(self.build(item_schema, singular, depth + 1, index))
        return result

    def _number(self, schema: Mapping[str, Any], integer: bool, variant: int) -> int | float:
        if variant:
            value = self.highest + 1  # unlike every earlier one (uniqueItems)
        elif self.next_number < len(self.numbers):
            value = self.numbers[self.next_number]
            self.next_number += 1
        else:
            value = 1.0
        result = _bounded(value, schema, integer)
        self.highest = max(self.highest, result)
        return result

    def _string(self, schema: Mapping[str, Any], name: str, variant: int) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        value = self.text if name.lower() in _WHOLE_TEXT_NAMES and self.text else self.word
        if variant:
            value = f"{value}-{variant + 1}"
        min_length = _int(schema.get("minLength"), 0)
        max_length = _opt_int(schema.get("maxLength"))
        if len(value) < min_length:
            value += "x" * (min_length - len(value))
        if max_length is not None:
            value = value[:max_length]
        return value


def _type_of(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        names = [t for t in declared if isinstance(t, str) and t.lower() != "null"]
        declared = names[0] if names else "null"
    if isinstance(declared, str):
        return declared.lower()
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return "string"


def _int(value: Any, default: int) -> int:
    found = _opt_int(value)
    return default if found is None else found


def _opt_int(value: Any) -> int | None:
    """A count or length keyword (None if unusable), clamped to 0.._MAX_COUNT."""
    number = _num(value)
    return None if number is None else max(0, min(int(number), _MAX_COUNT))


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _bounded(value: float, schema: Mapping[str, Any], integer: bool) -> int | float:
    """``value`` moved inside the schema's bounds (and onto ``multipleOf``)."""
    low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
    ex_low, ex_high = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
    step = _num(schema.get("multipleOf"))
    if step is not None and step <= 0:
        step = None  # invalid in JSON Schema; ignore rather than divide by zero
    if integer:
        value = float(round(value))
        step = max(1.0, step or 1.0)
        if step != int(step):
            step = math.ceil(step)
    lo = max((b for b in (low, ex_low) if b is not None), default=-math.inf)
    hi = min((b for b in (high, ex_high) if b is not None), default=math.inf)

    def fits(v: float) -> bool:
        return (
            (low is None or v >= low)
            and (high is None or v <= high)
            and (ex_low is None or v > ex_low)
            and (ex_high is None or v < ex_high)
            and (step is None or math.isclose(v / step, round(v / step)))
        )

    if not fits(value):
        candidates: list[float] = []
        if step is not None:
            start = (
                math.floor(lo / step) if lo != -math.inf else math.floor(min(value, hi) / step) - 1
            )
            candidates = [(start + k) * step for k in range(0, 4)]
        else:
            if math.isfinite(lo) and math.isfinite(hi):
                candidates.append((lo + hi) / 2)
            if math.isfinite(lo):
                candidates.append(lo if ex_low is None or lo != ex_low else lo + 1)
            if math.isfinite(hi):
                candidates.append(hi if ex_high is None or hi != ex_high else hi - 1)
        value = next((c for c in candidates if fits(c)), value)
    if integer or value == int(value):
        return int(value)
    return value
