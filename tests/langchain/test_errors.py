"""Every gateway failure surfaces as langchain-core's standard error *and* the core's own."""

from __future__ import annotations

import pickle
import socket
from typing import Any

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from aisa_core import errors as core
from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA
from langchain_aisa._errors import map_error

from .conftest import MakeLLM

CASES: list[tuple[Fault, type[ModelError], type[core.AISAError]]] = [
    (Fault(status=400), ModelInvalidRequestError, core.BadRequestError),
    (
        Fault(status=400, code="context_length_exceeded", message="prompt is too long"),
        ContextOverflowError,
        core.ContextWindowExceededError,
    ),
    (Fault(status=401), ModelAuthenticationError, core.AuthenticationError),
    (Fault(status=402), ModelPermissionDeniedError, core.InsufficientCreditsError),
    (Fault(status=403), ModelPermissionDeniedError, core.PermissionDeniedError),
    (Fault(status=404), ModelNotFoundError, core.UnknownModelError),
    (Fault(status=404, code="resource_not_found"), ModelNotFoundError, core.NotFoundError),
    (Fault(status=404, body_style="text"), ModelNotFoundError, core.NotFoundError),
    (Fault(status=409), ModelInvalidRequestError, core.ConflictError),
    (Fault(status=422), ModelInvalidRequestError, core.UnprocessableEntityError),
    (
        Fault(status=422, code="content_policy_violation"),
        ModelInvalidRequestError,
        core.ContentPolicyError,
    ),
    (Fault(status=429, retry_after=0), ModelRateLimitError, core.RateLimitError),
    (Fault(status=500), ModelAPIError, core.ServerError),
    (Fault(status=502, body_style="string"), ModelAPIError, core.ServerError),
    (Fault(status=503), ModelNotFoundError, core.UnknownModelError),  # "No available channels"
    (Fault(status=504, body_style="top_code"), ModelAPIError, core.ServerError),
    (Fault(status=418), ModelAPIError, core.APIError),
    (Fault(error_after_chunks=0), ModelAPIError, core.StreamError),
    (Fault(malformed=True), ModelAPIError, core.MalformedResponseError),
    (Fault(delay=2.0), ModelTimeoutError, core.APITimeoutError),
]


def _ids(case: tuple[Fault, Any, Any]) -> str:
    return case[0].spec()


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_gateway_failures_map(
    make_llm: MakeLLM, gateway: StandIn, case: tuple[Fault, Any, Any], mode: str
) -> None:
    fault, langchain_class, core_class = case
    if fault.error_after_chunks is not None and mode in ("invoke", "ainvoke"):
        pytest.skip("an in-band stream error needs a stream")
    gateway.enqueue_fault(fault)
    llm = make_llm(timeout=0.5)
    with pytest.raises(langchain_class) as caught:
        if mode == "invoke":
            llm.invoke("hi")
        elif mode == "stream":
            list(llm.stream("hi"))
        elif mode == "ainvoke":
            await llm.ainvoke("hi")
        else:
            _ = [c async for c in llm.astream("hi")]
    error = caught.value
    assert type(map_error(core_class("x"))) is type(error)
    assert isinstance(error, core_class), type(error).__mro__
    assert error.is_retryable == error.retryable
    assert isinstance(error.__cause__, core_class)
    if fault.status is not None:
        assert error.status_code == fault.status


def test_connection_refused(gateway: StandIn) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ModelConnectionError) as caught:
        llm.invoke("hi", timeout=2)
    assert isinstance(caught.value, core.APIConnectionError) and caught.value.is_retryable


def test_all_models_failed_keeps_every_attempt(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=429, retry_after=0))
    gateway.fail_model("gpt-4.1-mini", Fault(status=502))
    with pytest.raises(ModelAPIError) as caught:
        make_llm(fallback_models=["gpt-4.1-mini"]).invoke("hi")
    error = caught.value
    assert isinstance(error, core.AllModelsFailedError)
    assert [(a.model, type(a.error)) for a in error.attempts] == [
        ("gpt-4.1", core.RateLimitError),
        ("gpt-4.1-mini", core.ServerError),
    ]


def _leaf_classes() -> list[type[core.AISAError]]:
    classes = [
        getattr(core, name)
        for name in core.__all__
        if isinstance(getattr(core, name), type) and issubclass(getattr(core, name), core.AISAError)
    ]
    return [c for c in classes if c is not core.AISAError]


@pytest.mark.parametrize("cls", _leaf_classes(), ids=lambda c: c.__name__)
def test_every_core_error_maps(cls: type[core.AISAError]) -> None:
    if cls is core.AllModelsFailedError:
        error: core.AISAError = cls([core.Attempt("m", core.RateLimitError("slow"))])
    else:
        error = cls("boom", status_code=500, code="c", request_id="r", retry_after=1.0, model="m")
    mapped = map_error(error)
    assert isinstance(mapped, cls)
    if cls in (core.ConfigurationError, core.InvalidInputError):
        assert mapped is error and isinstance(mapped, ValueError)  # local bugs stay ValueErrors
        return
    assert isinstance(mapped, ModelError)
    assert mapped.is_retryable == error.retryable
    assert (mapped.message, mapped.status_code, mapped.code, mapped.request_id) == (
        error.message,
        error.status_code,
        error.code,
        error.request_id,
    )
    assert str(mapped) == str(error)
    assert map_error(mapped) is mapped
    clone = pickle.loads(pickle.dumps(mapped))
    assert type(clone) is type(mapped) and str(clone) == str(mapped)


@pytest.mark.parametrize(
    ("fault", "cls", "retryable"),
    [
        (Fault(status=502, body_style="runtime", retryable=False), ModelAPIError, False),
        (Fault(status=429, body_style="gemini", retryable=False), ModelRateLimitError, False),
        (Fault(status=409, body_style="runtime", retryable=True), ModelInvalidRequestError, True),
    ],
)
def test_is_retryable_follows_the_error_body(
    make_llm: MakeLLM, gateway: StandIn, fault: Fault, cls: type[ModelError], retryable: bool
) -> None:
    gateway.fail_model("gpt-4.1", fault)
    with pytest.raises(cls) as caught:
        make_llm().invoke("hi")
    assert caught.value.is_retryable is retryable
    assert isinstance(caught.value, core.AISAError) and caught.value.retryable is retryable
