"""``GET /v1/models`` and ``GET /v1/models/{id}``, merged with the capability table. Pure.

The gateway's listing has no context windows, capabilities or prices; the bundled table fills
them in. A gateway without the routes (404) gives an empty list, or ``None`` for one model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aisa_core.capabilities import capabilities
from aisa_core.config import check_model_id
from aisa_core.types import ModelInfo

from .chat import Target
from .operation import Operation
from .wire import Reply, Request, parse_json, path_segment, unexpected

__all__ = ["GetModel", "ListModels", "merge_model_info", "model_info", "model_infos"]


def model_infos(data: Any) -> list[ModelInfo]:
    """``/v1/models`` entries merged with the capability table (the listing has no limits)."""
    rows = data.get("data", []) if isinstance(data, Mapping) else []
    out = []
    for row in rows:
        if isinstance(row, Mapping) and isinstance(row.get("id"), str):
            out.append(merge_model_info(row))
    return out


def model_info(data: Any, model_id: str) -> ModelInfo:
    """``/v1/models/{id}``: one entry (bare, or wrapped in ``data``) merged with the table."""
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    row = data if isinstance(data, Mapping) and isinstance(data.get("id"), str) else {}
    return merge_model_info({"id": model_id, **row})


def merge_model_info(row: Mapping[str, Any]) -> ModelInfo:
    base = capabilities(row["id"]).model_dump()
    base.update({k: v for k, v in row.items() if v is not None})
    try:
        return ModelInfo.model_validate(base)
    except ValidationError as exc:
        raise unexpected(f"the listing of model {row['id']!r}", exc) from exc


class ListModels(Operation[list[ModelInfo]]):
    name = "list_models"
    names_model = False

    def __init__(self, target: Target) -> None:
        super().__init__(["models"])
        self._request = Request("GET", target.url("/models"), target.request_headers(None, False))

    def request(self, model: str, route: int) -> Request:
        return self._request

    def parse(self, reply: Reply, model: str) -> list[ModelInfo]:
        return [] if reply.status == 404 else super().parse(reply, model)

    def read(self, reply: Reply, model: str) -> list[ModelInfo]:
        return model_infos(parse_json(reply, "GET /models"))


class GetModel(Operation["ModelInfo | None"]):
    name = "get_model"
    names_model = False

    def __init__(self, target: Target, model_id: str) -> None:
        super().__init__(["models"])
        self._id = check_model_id(model_id)
        url = target.url(f"/models/{path_segment(self._id)}")
        self._request = Request("GET", url, target.request_headers(None, False))

    def request(self, model: str, route: int) -> Request:
        return self._request

    def parse(self, reply: Reply, model: str) -> ModelInfo | None:
        return None if reply.status == 404 else super().parse(reply, model)

    def read(self, reply: Reply, model: str) -> ModelInfo | None:
        return model_info(parse_json(reply, "GET /models/{id}"), self._id)
