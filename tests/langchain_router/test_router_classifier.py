"""The LLM classifier: bounded labels, a tolerant parse, a cache, a fallback route."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda

from langchain_aisa.router import (
    LLMClassifier,
    RouteInfo,
    RouterConfigError,
    RouteRequest,
    UnknownRouteError,
    parse_label,
)

from .helpers import Recorder

ROUTES = {
    "code": RouteInfo("code", ("deepseek-v3.1",), "programming and debugging"),
    "chat": RouteInfo("chat", ("gpt-4.1-mini",), "everything else"),
    "code-review": RouteInfo("code-review", ("gpt-5",)),
}
LABELS = ["code", "chat", "code-review"]


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("code", "code"),
        ("  CODE.\n", "code"),
        ("`chat`", "chat"),
        ("**code-review**", "code-review"),
        ("Label: chat", "chat"),
        ("I would say this is code.", "code"),
        ("code-review", "code-review"),
        ("code or chat", None),
        ("", None),
        ("poetry", None),
        ("encode", None),
    ],
)
def test_parse_label_is_tolerant_but_bounded(reply: str, label: str | None) -> None:
    assert parse_label(reply, LABELS) == label


class Scripted:
    """A classifier model answering from a list, counting its calls."""

    def __init__(self, *answers: str) -> None:
        self.model = FakeListChatModel(responses=list(answers))
        self.prompts: list[Any] = []

    def runnable(self) -> Any:
        def call(messages: Any) -> Any:
            self.prompts.append(messages)
            return self.model.invoke(messages)

        return RunnableLambda(call)


def request(text: str, config: Any = None) -> RouteRequest:
    return RouteRequest(text, config or {})


def test_the_model_sees_the_labels_with_descriptions_and_the_request() -> None:
    scripted = Scripted("code")
    classifier = LLMClassifier(scripted.runnable())
    decision = classifier.decide(request("why does my loop never end?"), ROUTES)
    assert (decision.route, decision.reason, decision.strategy) == (
        "code",
        "classifier labelled it 'code'",
        "classifier",
    )
    system, human = scripted.prompts[0]
    assert "- code: programming and debugging\n- chat: everything else\n- code-review\n" in (
        system.content
    )
    assert human.content == "why does my loop never end?"


def test_explicit_labels_bound_the_answer() -> None:
    scripted = Scripted("code-review")
    classifier = LLMClassifier(scripted.runnable(), ["code", "chat"], fallback="chat")
    decision = classifier.decide(request("review my PR"), ROUTES)
    assert decision.route == "chat"
    assert decision.reason == "classifier answered 'code-review', not one label; fallback route"


def test_repeated_inputs_are_answered_from_the_cache() -> None:
    scripted = Scripted("code", "chat")
    classifier = LLMClassifier(scripted.runnable(), cache_size=1)
    assert classifier.decide(request("a"), ROUTES).route == "code"
    hit = classifier.decide(request("a"), ROUTES)
    assert (hit.route, hit.reason) == ("code", "classifier labelled it 'code' (cached)")
    assert len(scripted.prompts) == 1
    classifier.decide(request("b"), ROUTES)  # evicts "a"
    assert classifier.decide(request("a"), ROUTES).route == "code"
    assert len(scripted.prompts) == 3


def test_unusable_answers_are_not_cached_and_defer_without_a_fallback() -> None:
    scripted = Scripted("no idea", "chat")
    classifier = LLMClassifier(scripted.runnable())
    assert classifier.decide(request("x"), ROUTES) is None
    assert classifier.decide(request("x"), ROUTES).route == "chat"


def test_a_failing_classifier_goes_to_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    def broken(messages: Any) -> Any:
        raise TimeoutError("slow")

    classifier = LLMClassifier(RunnableLambda(broken), fallback="chat")
    decision = classifier.decide(request("x"), ROUTES)
    assert (decision.route, decision.reason) == (
        "chat",
        "classifier failed (TimeoutError); fallback route",
    )
    assert "router classifier failed: slow" in caplog.text


async def test_async_classification_shares_the_cache() -> None:
    scripted = Scripted("chat")
    classifier = LLMClassifier(scripted.runnable())
    assert (await classifier.adecide(request("hi"), ROUTES)).route == "chat"
    assert classifier.decide(request("hi"), ROUTES).reason.endswith("(cached)")


def test_explain_never_calls_the_model() -> None:
    scripted = Scripted("chat")
    classifier = LLMClassifier(scripted.runnable())
    pending = classifier.explain(request("hi"), ROUTES)
    assert pending.route is None
    assert "would label" in pending.reason
    assert scripted.prompts == []
    classifier.decide(request("hi"), ROUTES)
    assert classifier.explain(request("hi"), ROUTES).route == "chat"


def test_the_classifier_run_is_named_and_hidden_from_message_streams(recorder: Recorder) -> None:
    classifier = LLMClassifier(FakeListChatModel(responses=["chat"]))
    config = {"callbacks": [recorder], "run_id": "router-run", "run_name": "mine", "tags": ["t"]}
    classifier.decide(request("hi", config), ROUTES)
    kind, name, tags, _ = recorder.events[0]
    assert (kind, name) == ("chat", "aisa_router_classifier")
    assert set(tags) >= {"t", "aisa_router_classifier", "nostream"}


def test_long_inputs_are_cut() -> None:
    scripted = Scripted("chat")
    LLMClassifier(scripted.runnable(), max_chars=5).decide(request("0123456789"), ROUTES)
    assert scripted.prompts[0][1].content == "01234"


def test_configuration_errors() -> None:
    with pytest.raises(UnknownRouteError, match="'poetry'"):
        LLMClassifier(FakeListChatModel(responses=["x"]), ["code", "poetry"]).check(ROUTES)
    with pytest.raises(UnknownRouteError, match="'gone'"):
        LLMClassifier(FakeListChatModel(responses=["x"]), fallback="gone").check(ROUTES)
    with pytest.raises(RouterConfigError, match="max_chars"):
        LLMClassifier(FakeListChatModel(responses=["x"]), max_chars=0)
    with pytest.raises(RouterConfigError, match="inside a RouterRunnable"):
        LLMClassifier("gpt-4.1-nano").decide(request("x"), ROUTES)
