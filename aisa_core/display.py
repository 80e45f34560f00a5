"""Results people compare, as tables: in Jupyter (``_repr_html_``) and as a pandas DataFrame
(``to_pandas()``, where pandas is installed; it is never required and imported only then).

``Comparison`` (what ``compare_models`` returns) and ``ModelList`` (``list_models``) are plain
lists underneath, so code that indexes, iterates or compares them keeps working. ``Tabular`` is
what anything else that shows as a table builds on (the frameworks' usage trackers, the
router's ``explain()``), and ``html_table`` the one HTML builder: every value is escaped.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from .types import CompareResult, ModelInfo

__all__ = ["Comparison", "ModelList", "Table", "Tabular", "html_table", "to_pandas"]

T = TypeVar("T")

_STYLE = "border-collapse:collapse;font-variant-numeric:tabular-nums"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:{align}"


def html_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None
) -> str:
    """A small HTML table; every header, cell and the caption is escaped. Numbers align right,
    ``None`` shows as an empty cell."""
    head = "".join(f'<th style="{_CELL.format(align="left")}">{_esc(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    title = f"<caption>{_esc(caption)}</caption>" if caption else ""
    table = f"{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<table style="{_STYLE}">{table}</table>'


def to_pandas(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A ``pandas.DataFrame`` of the records (only ``columns``, in that order)."""
    try:
        pd = importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError("to_pandas() needs pandas: pip install pandas") from exc
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=list(columns))


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    align = "right" if numeric else "left"
    return f'<td style="{_CELL.format(align=align)}">{_esc(_format(value))}</td>'


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


class Tabular:
    """Shows itself as a table: ``records()`` gives the rows (dicts), ``table_columns()`` the
    columns in order (``columns``, unless the rows decide) and ``table_caption()`` the title."""

    columns: ClassVar[tuple[str, ...]] = ()
    caption: ClassVar[str | None] = None

    def records(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def table_columns(self) -> Sequence[str]:
        return self.columns

    def table_caption(self) -> str | None:
        return self.caption

    def _repr_html_(self) -> str:
        columns = self.table_columns()
        rows = [[r.get(c) for c in columns] for r in self.records()]
        return html_table(columns, rows, caption=self.table_caption())

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per record (needs pandas)."""
        return to_pandas(self.records(), self.table_columns())


class Table(Tabular, list[T]):
    """A list that shows itself as a table: subclasses name their ``columns`` and how one item
    becomes a row (``record``)."""

    def record(self, item: T) -> dict[str, Any]:
        raise NotImplementedError

    def records(self) -> list[dict[str, Any]]:
        return [self.record(item) for item in self]


class Comparison(Table[CompareResult]):
    """``compare_models``' answers, one per model, in the order asked."""

    columns = (
        "model",
        "status",
        "latency_s",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "served_model",
        "answer",
    )
    caption = "compare_models"

    def record(self, item: CompareResult) -> dict[str, Any]:
        row = item.model_dump(include=set(self.columns))
        row["answer"] = _shorten(_answer(item), 120)
        return row

    def to_pandas(self) -> Any:
        """As the table, with the whole answer in ``answer``."""
        return to_pandas([{**self.record(i), "answer": _answer(i)} for i in self], self.columns)


class ModelList(Table[ModelInfo]):
    """``list_models``: the gateway's models with what the capability table knows of each."""

    columns = (
        "id",
        "family",
        "context_window",
        "max_output_tokens",
        "vision",
        "tools",
        "reasoning",
        "input_price",
        "output_price",
    )
    caption = "models (prices: USD per million tokens)"

    def record(self, item: ModelInfo) -> dict[str, Any]:
        return item.model_dump(include=set(self.columns))


def _answer(item: CompareResult) -> str:
    return (item.text or "") if item.ok else f"{item.error_type}: {item.error}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
