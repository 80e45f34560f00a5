"""Every documented error status and body shape maps to the right class with the right facts."""

from __future__ import annotations

import pickle

import pytest

from aisa_core import errors as E
from aisa_core.errors import error_from_body, error_from_response, parse_error_body

STATUS_CASES = [
    (400, "invalid_request", E.BadRequestError),
    (400, "missing_parameter", E.BadRequestError),
    (400, "json_parse_error", E.BadRequestError),
    (400, "model_route_not_supported", E.BadRequestError),
    (401, "missing_api_key", E.AuthenticationError),
    (401, "invalid_api_key", E.AuthenticationError),
    (401, "revoked_api_key", E.AuthenticationError),
    (402, "insufficient_wallet_balance", E.InsufficientCreditsError),
    (402, "insufficient_api_key_balance", E.InsufficientCreditsError),
    (402, "estimated_price_exceeds_max_price", E.PriceCapExceededError),  # a budget error too
    (403, "insufficient_permissions", E.PermissionDeniedError),
    (403, "model_not_allowed", E.PermissionDeniedError),
    (403, "region_blocked", E.PermissionDeniedError),
    (404, "unknown_model", E.UnknownModelError),
    (404, "model_not_found", E.UnknownModelError),
    (404, "resource_not_found", E.NotFoundError),
    (409, "request_in_progress", E.ConflictError),
    (409, "request_already_completed", E.ConflictError),
    (422, "max_tokens_exceeded", E.ContextWindowExceededError),
    (422, "unsupported_parameter", E.UnprocessableEntityError),
    (422, "content_policy_violation", E.ContentPolicyError),
    (429, "rate_limit_exceeded", E.RateLimitError),
    (429, "upstream_rate_limit", E.RateLimitError),
    (429, "quota_exceeded", E.RateLimitError),
    (502, "upstream_unavailable", E.ServerError),
    (503, "provider_unavailable", E.ServerError),
    (504, "upstream_timeout", E.ServerError),
    (500, None, E.ServerError),
    (418, None, E.APIError),
]


@pytest.mark.parametrize(("status", "code", "cls"), STATUS_CASES)
def test_status_and_code_map_to_class(status: int, code: str | None, cls: type) -> None:
    body = {"error": {"type": "aisa_error", "code": code, "message": "boom", "request_id": "r-9"}}
    import json

    err = error_from_response(status, {"Retry-After": "2"}, json.dumps(body), model="gpt-4.1")
    assert type(err) is cls
    assert (err.status_code, err.code, err.message, err.request_id) == (status, code, "boom", "r-9")
    assert err.model == "gpt-4.1"
    assert err.retry_after == 2.0
    assert isinstance(err, E.APIError)


@pytest.mark.parametrize(
    ("body", "message", "code", "request_id"),
    [
        ('{"error": {"message": "m1", "code": "c1", "request_id": "r1"}}', "m1", "c1", "r1"),
        ('{"error": "bare string"}', "bare string", None, None),
        ('{"error": {"message": "m2"}, "code": "top"}', "m2", "top", None),
        ('{"message": "top message", "code": "c3"}', "top message", "c3", None),
        ('{"detail": "fastapi style"}', "fastapi style", None, None),
        ("404 page not found", "404 page not found", None, None),
        ("", "no error message in the response", None, None),
        ("[1, 2]", "[1, 2]", None, None),
        (b"\xff\xfe binary", "\ufffd\ufffd binary", None, None),
        ('{"error": {"type": "only_type"}}', '{"error": {"type": "only_type"}}', None, None),
    ],
)
def test_every_documented_body_shape(
    body: str | bytes, message: str, code: str | None, request_id: str | None
) -> None:
    assert parse_error_body(body) == (message, code, request_id)


def test_plain_text_404_is_not_found_with_hint_free_message() -> None:
    err = error_from_response(404, {}, "404 page not found")
    assert type(err) is E.NotFoundError
    assert err.message == "404 page not found"


def test_no_available_channels_is_unknown_model_with_hint() -> None:
    err = error_from_response(
        503, {"x-request-id": "hdr-1"}, '{"error":{"message":"No available channels for model x"}}'
    )
    assert isinstance(err, E.UnknownModelError)
    assert err.status_code == 503
    assert err.request_id == "hdr-1"
    assert "aisa models" in str(err)


def test_context_overflow_recognised_by_message() -> None:
    err = error_from_response(
        400, {}, '{"error":{"message":"This model\'s maximum context length is 8192"}}'
    )
    assert isinstance(err, E.ContextWindowExceededError)


@pytest.mark.parametrize(
    ("cls", "words"),
    [
        (E.AuthenticationError, "AISA_API_KEY"),
        (E.InsufficientCreditsError, "Top up"),
        (E.UnknownModelError, "model id"),
        (E.RateLimitError, "Retry-After"),
    ],
)
def test_errors_say_what_to_do(cls: type[E.AISAError], words: str) -> None:
    assert words in str(cls("x"))


def test_retryable_flags() -> None:
    assert E.RateLimitError("x").retryable
    assert E.ServerError("x").retryable
    assert E.APIConnectionError("x").retryable
    assert E.APITimeoutError("x").retryable
    assert not E.StreamInterruptedError("x").retryable
    assert not E.BadRequestError("x").retryable
    assert not E.AuthenticationError("x").retryable


@pytest.mark.parametrize("value", ["1.5", "0", "-3", "soon", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_retry_after_parsing(value: str) -> None:
    err = error_from_response(429, {"retry-after": value}, "{}")
    expected = {"1.5": 1.5, "0": 0.0, "-3": 0.0}.get(value)
    assert err.retry_after == expected


def test_retry_after_ms_header_wins() -> None:
    err = error_from_response(429, {"retry-after-ms": "250", "retry-after": "9"}, "{}")
    assert err.retry_after == 0.25


def test_in_band_error_event_maps_by_code() -> None:
    err = error_from_body({"error": {"message": "slow down", "code": "rate_limit_exceeded"}})
    assert isinstance(err, E.RateLimitError)
    unknown = error_from_body({"error": {"message": "weird", "type": "x_unknown"}})
    assert type(unknown) is E.StreamError
    assert unknown.status_code is None


def test_error_text_never_holds_a_key() -> None:
    leaked = '{"error": {"message": "bad key sk-aisa-abcdef123456 given"}}'
    err = error_from_response(401, {}, leaked)
    for text in (str(err), repr(err), err.message, err.body or ""):
        assert "sk-aisa-abcdef123456" not in text
    assert "sk-***" in err.message


def test_body_is_capped() -> None:
    err = error_from_response(500, {}, "x" * 10_000)
    assert err.body is not None and len(err.body) == 2000


def test_errors_pickle_with_their_facts() -> None:
    err = error_from_response(
        429,
        {"retry-after": "3"},
        '{"error":{"message":"m","code":"quota_exceeded"}}',
        model="gpt-4.1",
    )
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is E.RateLimitError
    assert (again.code, again.retry_after, again.model, str(again)) == (
        "quota_exceeded",
        3.0,
        "gpt-4.1",
        str(err),
    )


def test_all_models_failed_holds_every_attempt() -> None:
    a = E.Attempt("m1", E.RateLimitError("slow", status_code=429))
    b = E.Attempt("m2", E.ServerError("down", status_code=503))
    err = E.AllModelsFailedError([a, b])
    assert err.attempts == (a, b)
    assert err.errors == (a.error, b.error)
    assert "m1: RateLimitError: slow" in str(err) and "m2: ServerError: down" in str(err)
    assert err.status_code == 503
    assert pickle.loads(pickle.dumps(err)).attempts[0].model == "m1"


def test_value_error_compatibility_for_local_mistakes() -> None:
    assert issubclass(E.ConfigurationError, ValueError)
    assert issubclass(E.InvalidInputError, ValueError)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["error", "message", "code", "type", "request_id", "detail", "status", "x"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        _json_values.map(lambda v: __import__("json").dumps(v)),
    ),
    status=st.integers(min_value=100, max_value=599),
)
def test_no_body_makes_the_parser_raise_anything_but_a_typed_error(
    body: str | bytes, status: int
) -> None:
    message, _code, _request_id = parse_error_body(body)
    assert isinstance(message, str) and message
    err = error_from_response(status, {"retry-after": "x"}, body)
    assert isinstance(err, E.AISAError)
    assert isinstance(str(err), str)


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["error", "message", "code", "choices"]), _json_values, max_size=4
    )
)
def test_in_band_error_parser_total(data: dict[str, object]) -> None:
    assert isinstance(error_from_body(data), E.AISAError)
