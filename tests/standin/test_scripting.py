"""The scripting API: queue order, model scoping, model faults, recording, reset."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from aisa_core.standin import Fault, RecordedRequest, StandIn


def chat(client: httpx.Client, model: str = "gpt-4.1", **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return client.post("/chat/completions", json=body)


def content(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


DEFAULT = "Hello from the AIsa stand-in (gpt-4.1). You said: hi"


def test_queued_texts_come_out_in_order(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("first")
    standin.enqueue_text("second")
    assert standin.pending == 2
    assert [content(chat(client)) for _ in range(3)] == ["first", "second", DEFAULT]
    assert standin.pending == 0


def test_model_scoped_entries_wait_for_their_model(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("for gpt-4o", model="gpt-4o")
    standin.enqueue_text("for anyone")
    assert content(chat(client, "gpt-4.1")) == "for anyone"
    assert content(chat(client, "gpt-4.1")) == DEFAULT
    assert content(chat(client, "gpt-4o")) == "for gpt-4o"


def test_unscoped_entry_ahead_of_scoped_one_is_taken_first(
    client: httpx.Client, standin: StandIn
) -> None:
    standin.enqueue_text("anyone")
    standin.enqueue_text("4o only", model="gpt-4o")
    assert content(chat(client, "gpt-4o")) == "anyone"
    assert content(chat(client, "gpt-4o")) == "4o only"


def test_fault_then_answer_is_the_retry_scenario(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=429, retry_after=1))
    standin.enqueue_text("after the retry")
    assert chat(client).status_code == 429
    assert content(chat(client)) == "after the retry"


def test_a_queued_fault_is_the_whole_script_for_its_request(
    client: httpx.Client, standin: StandIn
) -> None:
    """A delay-only fault answers with the default text; the queued text waits its turn."""
    standin.enqueue_fault(Fault(delay=0.01))
    standin.enqueue_text("next")
    assert content(chat(client)) == DEFAULT
    assert content(chat(client)) == "next"


def test_tool_call_scripts(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_tool_call("lookup", {"q": "naïve", "n": [1, 2]}, call_id="call_mine")
    standin.enqueue_tool_call("ping")
    response = chat(client)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_mine",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q":"naïve","n":[1,2]}'},
        }
    ]
    [call] = chat(client).json()["choices"][0]["message"]["tool_calls"]
    assert (call["id"], call["function"]) == ("call_standin_1", {"name": "ping", "arguments": "{}"})


def test_parallel_tool_calls_script(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_tool_calls([("a", {"x": 1}), ("b", {})], model="gpt-4o")
    calls = chat(client, "gpt-4o").json()["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("call_standin_1", "a", '{"x":1}'),
        ("call_standin_2", "b", "{}"),
    ]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.enqueue_tool_call("", {}), ValueError),
        (lambda s: s.enqueue_tool_call("f", [1, 2]), TypeError),
        (lambda s: s.enqueue_tool_call("f", {"x": object()}), TypeError),
        (lambda s: s.enqueue_tool_calls([]), ValueError),
        (lambda s: s.enqueue_text(b"bytes"), TypeError),
        (lambda s: s.enqueue_fault("nonsense=1"), ValueError),
        (lambda s: s.fail_model("m", Fault(status=500), times=0), ValueError),
    ],
)
def test_bad_scripts_fail_in_the_test(standin: StandIn, call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(standin)
    assert standin.pending == 0


def test_scripted_text_ignores_max_tokens_and_response_format(
    client: httpx.Client, standin: StandIn
) -> None:
    standin.enqueue_text("exactly these five words")
    response = chat(client, max_tokens=1, response_format={"type": "json_object"})
    assert content(response) == "exactly these five words"
    assert response.json()["choices"][0]["finish_reason"] == "stop"


def test_fail_model_forever_and_heal(client: httpx.Client, standin: StandIn) -> None:
    standin.fail_model("gpt-4.1", Fault(status=503))
    assert [chat(client).status_code for _ in range(3)] == [503, 503, 503]
    assert chat(client, "gpt-4o").status_code == 200
    standin.heal_model("gpt-4.1")
    assert chat(client).status_code == 200


def test_fail_model_times(client: httpx.Client, standin: StandIn) -> None:
    standin.fail_model("gpt-4.1", "status=502", times=2)
    assert [chat(client).status_code for _ in range(3)] == [502, 502, 200]


def test_fail_model_beats_the_queue_but_leaves_answers(
    client: httpx.Client, standin: StandIn, parse_sse: Any
) -> None:
    standin.enqueue_fault(Fault(status=400))
    standin.fail_model("gpt-4.1", Fault(status=500), times=1)
    assert chat(client).status_code == 500
    assert chat(client).status_code == 400
    # A model fault that alters a 200 still carries the queued answer.
    standin.fail_model("gpt-4.1", Fault(error_after_chunks=2), times=1)
    standin.enqueue_text("alpha beta gamma")
    payloads = parse_sse(chat(client, stream=True).text)
    assert [p["choices"][0]["delta"].get("content") for p in payloads[1:3]] == ["alpha", " beta"]
    assert "error" in payloads[3]


def test_set_reasoning(client: httpx.Client, standin: StandIn) -> None:
    standin.set_reasoning(None, "Thinking hard.")
    body = chat(client, "claude-sonnet-4-5-20250929-thinking").json()
    assert body["choices"][0]["message"]["reasoning_content"] == "Thinking hard."
    assert "reasoning_content" not in chat(client, "gpt-4o").json()["choices"][0]["message"]
    standin.set_reasoning("gpt-4o", "Now I reason too.")
    message = chat(client, "gpt-4o").json()["choices"][0]["message"]
    assert message["reasoning_content"] == "Now I reason too."


def test_requests_are_recorded(client: httpx.Client, standin: StandIn) -> None:
    with pytest.raises(LookupError):
        _ = standin.last_request
    chat(client, "gpt-4o", temperature=0.2)
    client.get("/models", params={"limit": "5"}, headers={"X-Custom": "Yes"})
    first, second = standin.requests
    assert first == RecordedRequest(
        method="POST",
        path="/v1/chat/completions",
        headers=first.headers,
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.2,
        },
        body=first.body,
        query="",
    )
    assert json.loads(first.body) == first.json
    assert first.headers["authorization"] == f"Bearer {standin.api_key}"
    assert first.headers["content-type"] == "application/json"
    assert (second.method, second.path, second.query) == ("GET", "/v1/models", "limit=5")
    assert second.json is None
    assert second.body == b""
    assert second.headers["x-custom"] == "Yes"
    assert standin.last_request == second


def test_invalid_json_is_recorded_as_bytes(client: httpx.Client, standin: StandIn) -> None:
    client.post("/chat/completions", content=b"{oops")
    assert (standin.last_request.json, standin.last_request.body) == (None, b"{oops")


def test_reset_forgets_everything(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("pending")
    standin.fail_model("gpt-4o", Fault(status=500))
    standin.set_reasoning("gpt-4.1", "r")
    chat(client, "gpt-4.5")
    assert standin.spent_micros_usd > 0
    standin.reset()
    assert (standin.pending, standin.requests, standin.spent_micros_usd) == (0, [], 0)
    response = chat(client, "gpt-4o")
    assert response.json()["id"] == "chatcmpl-standin-1"
    assert response.headers["x-request-id"] == "req-standin-1"
    assert "reasoning_content" not in chat(client).json()["choices"][0]["message"]


def test_record_limit_keeps_the_newest() -> None:
    from aisa_core.standin import StandInApp

    async def run() -> list[str]:
        app = StandInApp(record_limit=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as c:
            for path in ("/a", "/b", "/c"):
                await c.get(path)
        return [r.path for r in app.requests]

    assert asyncio.run(run()) == ["/b", "/c"]


async def test_scripts_under_concurrency(aclient: httpx.AsyncClient, standin: StandIn) -> None:
    """100 concurrent requests consume 100 scripted answers exactly once each."""
    expected = {f"answer {i}" for i in range(100)}

    def enqueue(numbers: range) -> None:
        for i in numbers:
            standin.enqueue_text(f"answer {i}")

    enqueuers = [threading.Thread(target=enqueue, args=(k,)) for k in (range(50), range(50, 100))]
    for thread in enqueuers:
        thread.start()
    for thread in enqueuers:
        thread.join()
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "go"}]}
    responses = await asyncio.gather(
        *(aclient.post("/chat/completions", json=body) for _ in range(100))
    )
    answers = [r.json()["choices"][0]["message"]["content"] for r in responses]
    assert sorted(answers) == sorted(expected)
    assert len(standin.requests) == 100
    ids = {r.json()["id"] for r in responses}
    assert ids == {f"chatcmpl-standin-{n}" for n in range(1, 101)}


def test_refused_requests_leave_the_script_alone(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("still here")
    assert chat(client, max_tokens=0).status_code == 400
    assert chat(client, tools=[{"type": "function"}]).status_code == 400
    assert chat(client, "unknown-model").status_code == 503
    assert standin.pending == 1
    assert content(chat(client)) == "still here"
