"""Fault injection: every fault mode over a real socket, plus the Fault value itself."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

import httpx
import pytest

from aisa_core.standin import FAULT_HEADER, BodyStyle, Fault, StandIn

Parse = Callable[[str], list[Any]]
MODEL = "gpt-4.1"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "one two three four five six"}]}
STREAM_BODY = {**BODY, "stream": True}

# What aisa-api.md lists per status, restated independently of the implementation.
DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "Invalid request."),
    401: ("authentication_error", "invalid_api_key", "Invalid API key."),
    402: (
        "insufficient_balance_error",
        "insufficient_wallet_balance",
        "Insufficient wallet balance.",
    ),
    403: ("permission_error", "model_not_allowed", f"This API key may not use model {MODEL}."),
    404: ("invalid_request_error", "model_not_found", f"The model {MODEL} does not exist."),
    409: ("conflict_error", "request_in_progress", "A request with this key is in progress."),
    422: ("invalid_request_error", "unsupported_parameter", "The provider rejected a parameter."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded, retry later."),
    500: ("server_error", "internal_error", "Internal server error."),
    502: ("upstream_error", "upstream_unavailable", "The upstream provider is unavailable."),
    503: (
        "new_api_error",
        "provider_unavailable",
        f"No available channels for model {MODEL} under group default",
    ),
    504: ("upstream_error", "upstream_timeout", "The upstream provider timed out."),
}


def post(client: httpx.Client, body: dict[str, Any] = BODY, **kwargs: Any) -> httpx.Response:
    return client.post("/chat/completions", json=body, **kwargs)


# -- the Fault value ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 200},
        {"status": 600},
        {"status": True},
        {"status": "429"},
        {"body_style": "xml"},
        {"delay": -1},
        {"chunk_delay": -0.1},
        {"retry_after": -5},
        {"error_after_chunks": -1},
        {"drop_after_chunks": 1.5},
        {"error_after_chunks": 1, "drop_after_chunks": 1},
    ],
)
def test_invalid_faults_fail_where_written(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Fault"):
        Fault(**kwargs)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("status=429;retry_after=1", Fault(status=429, retry_after=1.0)),
        ("429", Fault(status=429)),
        ("error_after_chunks=2", Fault(error_after_chunks=2)),
        ("drop-after-chunks=3", Fault(drop_after_chunks=3)),
        ("malformed", Fault(malformed=True)),
        ("malformed=false; delay=0.25", Fault(delay=0.25)),
        (
            " status = 503 ; body_style=text;code=x;message=down for maintenance ",
            Fault(status=503, body_style="text", code="x", message="down for maintenance"),
        ),
        ("chunk_delay=0.1;;", Fault(chunk_delay=0.1)),
    ],
)
def test_parse(spec: str, expected: Fault) -> None:
    assert Fault.parse(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "empty"),
        ("  ;  ", "empty"),
        ("bogus=1", "unknown key"),
        ("status=abc", "not a number"),
        ("malformed=maybe", "not a boolean"),
        ("retry_after", "needs a value"),
        ("status=200", "400-599"),
    ],
)
def test_parse_rejects(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Fault.parse(spec)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=429, retry_after=1.5, body_style="string"),
        Fault(error_after_chunks=0, chunk_delay=0.01),
        Fault(drop_after_chunks=4, delay=2.0),
        Fault(malformed=True),
        Fault(status=503, code="c", message="m m"),
    ],
)
def test_spec_round_trips(fault: Fault) -> None:
    assert Fault.parse(fault.spec()) == fault


def test_spec_refuses_what_it_cannot_encode() -> None:
    assert Fault(status=500).spec() == "status=500"
    with pytest.raises(ValueError, match="cannot contain"):
        Fault(status=500, message="a;b").spec()


# -- HTTP errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(DEFAULTS))
@pytest.mark.parametrize("style", ["object", "string", "top_code", "text"])
def test_status_faults_in_every_body_style(
    client: httpx.Client, standin: StandIn, status: int, style: str
) -> None:
    standin.enqueue_fault(Fault(status=status, body_style=cast(BodyStyle, style)))
    response = post(client)
    assert response.status_code == status
    assert response.headers["x-request-id"] == "req-standin-1"
    assert "retry-after" not in response.headers
    error_type, code, message = DEFAULTS[status]
    if style == "text":
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        phrase = "page not found" if status == 404 else HTTPStatus(status).phrase
        assert response.text == f"{status} {phrase}"
        return
    assert response.headers["content-type"] == "application/json"
    shapes: dict[str, dict[str, Any]] = {
        "object": {
            "error": {
                "type": error_type,
                "code": code,
                "message": message,
                "request_id": "req-standin-1",
            }
        },
        "string": {"error": message},
        "top_code": {"error": {"message": message}, "code": code},
    }
    assert response.json() == shapes[style]


def test_status_fault_with_own_code_and_message(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=429, code="quota_exceeded", message="Key spend cap hit."))
    response = post(client)
    assert response.json()["error"] == {
        "type": "rate_limit_error",
        "code": "quota_exceeded",
        "message": "Key spend cap hit.",
        "request_id": "req-standin-1",
    }
    standin.enqueue_fault(Fault(status=404, body_style="text", message="no such thing"))
    assert post(client).text == "no such thing"


def test_unlisted_status_gets_a_generic_error(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=418))
    assert post(client).json()["error"] == {
        "type": "invalid_request_error",
        "code": "error",
        "message": "I'm a Teapot",
        "request_id": "req-standin-1",
    }


@pytest.mark.parametrize(("seconds", "header"), [(1, "1"), (0.5, "0.5"), (30.0, "30")])
def test_retry_after_header(
    client: httpx.Client, standin: StandIn, seconds: float, header: str
) -> None:
    standin.enqueue_fault(Fault(status=429, retry_after=seconds))
    response = post(client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == header


def test_failed_calls_are_not_billed(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=500))
    post(client)
    assert standin.spent_micros_usd == 0


# -- faults inside a 200 --------------------------------------------------------------------


def test_error_after_chunks_in_a_stream(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    standin.enqueue_fault(Fault(error_after_chunks=2))
    response = post(client, STREAM_BODY)
    assert response.status_code == 200
    payloads = parse_sse(response.text)
    assert [p["choices"][0]["delta"] for p in payloads[:3]] == [
        {"role": "assistant", "content": ""},
        {"content": "Hello"},
        {"content": " from"},
    ]
    assert payloads[3:] == [
        {
            "error": {
                "message": "The upstream provider failed mid-stream.",
                "type": "upstream_error",
                "code": "upstream_error",
            }
        }
    ]


def test_error_after_zero_chunks_with_custom_code(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    standin.enqueue_fault(Fault(error_after_chunks=0, code="content_filter", message="Blocked."))
    payloads = parse_sse(post(client, STREAM_BODY).text)
    assert len(payloads) == 2
    assert payloads[1] == {
        "error": {"message": "Blocked.", "type": "upstream_error", "code": "content_filter"}
    }


def test_error_after_chunks_without_streaming(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault("error_after_chunks=1")
    response = post(client)
    assert response.status_code == 200
    assert response.json() == {
        "error": {
            "message": "The upstream provider failed mid-stream.",
            "type": "upstream_error",
            "code": "upstream_error",
        }
    }


def test_drop_after_chunks_aborts_the_stream(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(drop_after_chunks=3))
    received: list[str] = []
    with (
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        client.stream("POST", "/chat/completions", json=STREAM_BODY) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(json.loads(line[6:])["choices"][0]["delta"].get("content"))
    assert received == ["", "Hello", " from", " the"]


def test_drop_without_streaming_cuts_the_body(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(drop_after_chunks=0))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(client)
    # The server is fine afterwards, on a new connection.
    assert post(client).status_code == 200


def test_a_drop_logs_no_traceback(
    client: httpx.Client, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.enqueue_fault(Fault(drop_after_chunks=1))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(client, STREAM_BODY)
    post(client)  # a full round trip: the dropped request's log record would precede it
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_malformed_body(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(malformed=True))
    response = post(client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith('{"id":"chatcmpl-standin-1"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_malformed_stream_has_one_broken_event(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault("malformed")
    text = post(client, STREAM_BODY).text
    events = [block for block in text.split("\n\n") if block.startswith("data: ")]
    broken = []
    for event in events:
        try:
            json.loads(event[6:]) if event != "data: [DONE]" else None
        except json.JSONDecodeError:
            broken.append(event)
    assert len(broken) == 1
    assert broken[0].startswith('data: {"id":"chatcmpl-standin-1"')
    assert events[1] is broken[0]  # right after the role chunk
    assert events[-1] == "data: [DONE]"


def test_delay_before_answering(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(delay=0.3))
    standin.enqueue_fault(Fault(status=503, delay=0.3))
    for expected_status in (200, 503):
        started = time.perf_counter()
        response = post(client)
        assert response.status_code == expected_status
        assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    post(client)
    assert time.perf_counter() - started < 0.3


def test_chunk_delay_spaces_the_events(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(chunk_delay=0.05))
    arrivals: list[float] = []
    started = time.perf_counter()
    with client.stream("POST", "/chat/completions", json=STREAM_BODY) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.perf_counter() - started)
    # "Hello from the AIsa stand-in (gpt-4.1). You said: one two three four five six" is 14
    # words: role + 14 + finish + [DONE] = 17 events, 16 pauses of 50 ms.
    assert len(arrivals) == 17
    assert arrivals[-1] - arrivals[0] >= 16 * 0.05 * 0.9
    assert arrivals[1] - arrivals[0] >= 0.04


def test_chunk_delay_with_drop(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(drop_after_chunks=1, chunk_delay=0.02))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(client, STREAM_BODY)


# -- per-request header ---------------------------------------------------------------------


def test_header_fault(client: httpx.Client) -> None:
    response = post(client, headers={FAULT_HEADER: "status=429;retry_after=2"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert post(client).status_code == 200


def test_header_fault_beats_queued_fault(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(status=500))
    assert post(client, headers={FAULT_HEADER: "402"}).status_code == 402
    assert standin.pending == 1
    assert post(client).status_code == 500


def test_header_fault_on_routes_without_a_model(client: httpx.Client) -> None:
    assert client.get("/models", headers={FAULT_HEADER: "503"}).status_code == 503
    response = client.get("/credits/balance", headers={FAULT_HEADER: "malformed"})
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert (
        client.get("/models/gpt-4o", headers={FAULT_HEADER: "status=404"}).json()["error"][
            "message"
        ]
        == "The model (none) does not exist."
    )


def test_header_fault_with_stream_spec(client: httpx.Client, parse_sse: Parse) -> None:
    response = post(client, STREAM_BODY, headers={FAULT_HEADER: "error_after_chunks=1"})
    payloads = parse_sse(response.text)
    assert len(payloads) == 3
    assert "error" in payloads[-1]


def test_invalid_header_spec_is_a_400(client: httpx.Client) -> None:
    response = post(client, headers={FAULT_HEADER: "explode=1"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_fault_spec",
        "message": "x-standin-fault: fault spec: unknown key 'explode'",
        "request_id": "req-standin-1",
    }
