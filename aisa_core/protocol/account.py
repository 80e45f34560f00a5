"""``GET /v1/credits/balance``: the account's credits, all money in integer micro-USD. Pure."""

from __future__ import annotations

from aisa_core.types import Balance

from .chat import Target
from .operation import Operation
from .wire import Reply, Request, parse_object

__all__ = ["GetBalance"]


class GetBalance(Operation[Balance]):
    name = "balance"
    names_model = False

    def __init__(self, target: Target) -> None:
        super().__init__(["credits"])
        url = target.url("/credits/balance")
        self._request = Request("GET", url, target.request_headers(None, False))

    def request(self, model: str, route: int) -> Request:
        return self._request

    def read(self, reply: Reply, model: str) -> Balance:
        return parse_object(reply, "GET /credits/balance", Balance)
