"""The ``aisa_standin`` fixture: one server for the session, a clean slate per test.

The two tests run in file order: the first leaves state behind, the second checks that
the fixture reset it and that the server is the same one (no per-test start-up).
"""

from __future__ import annotations

import httpx

from aisa_core.standin import Fault, StandIn

_seen: dict[str, int] = {}


def test_first_test_leaves_state_behind(
    aisa_standin: StandIn, aisa_standin_session: StandIn
) -> None:
    assert aisa_standin is aisa_standin_session
    assert aisa_standin.running
    _seen["port"] = aisa_standin.port
    aisa_standin.enqueue_text("left over")
    aisa_standin.fail_model("gpt-4o", Fault(status=500))
    headers = {"Authorization": f"Bearer {aisa_standin.api_key}"}
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    httpx.post(f"{aisa_standin.base_url}/chat/completions", json=body, headers=headers)
    assert aisa_standin.requests != []


def test_next_test_starts_clean_on_the_same_server(aisa_standin: StandIn) -> None:
    assert aisa_standin.port == _seen.get("port", aisa_standin.port)  # also runs alone
    assert (aisa_standin.pending, aisa_standin.requests, aisa_standin.spent_micros_usd) == (
        0,
        [],
        0,
    )
    headers = {"Authorization": f"Bearer {aisa_standin.api_key}"}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{aisa_standin.base_url}/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["id"] == "chatcmpl-standin-1"
