"""What the strategies see of an input: text, the request's text, size, images, messages."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate

from langchain_aisa.router import RouteRequest, estimate_tokens, features_of

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def test_a_string_is_one_user_message() -> None:
    f = features_of("hello world")
    assert (f.text, f.last_text, f.messages, f.images, f.chars) == (
        "hello world",
        "hello world",
        1,
        0,
        11,
    )


def test_messages_give_all_text_and_the_last_user_text() -> None:
    f = features_of(
        [
            SystemMessage("be brief"),
            HumanMessage("first question"),
            AIMessage("an answer"),
            HumanMessage("second question"),
            ToolMessage("42", tool_call_id="c1"),
        ]
    )
    assert f.messages == 5
    assert f.last_text == "second question"
    assert f.text == "be brief\nfirst question\nan answer\nsecond question\n42"


def test_images_are_counted_in_every_part_shape() -> None:
    parts = [
        {"type": "text", "text": "what is this?"},
        IMAGE,
        {"type": "image", "url": "https://example.com/a.png"},
        {"image_url": "https://example.com/b.png"},
    ]
    f = features_of([HumanMessage(parts)])
    assert f.images == 3
    assert f.last_text == "what is this?"


def test_tuples_dicts_and_prompt_values() -> None:
    f = features_of([("system", "rules"), {"role": "user", "content": "hi"}])
    assert (f.messages, f.last_text) == (2, "hi")
    prompt = ChatPromptTemplate.from_messages([("system", "s"), ("human", "{q}")])
    g = features_of(prompt.invoke({"q": "from a prompt"}))
    assert (g.messages, g.last_text) == (2, "from a prompt")


def test_a_chain_input_dict_uses_its_strings_or_its_messages() -> None:
    assert features_of({"question": "why?", "n": 3}).text == "why?"
    assert features_of({"messages": [HumanMessage("inside")]}).last_text == "inside"


def test_token_estimate_counts_utf8_bytes() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("你好世界") == 3  # 12 bytes: CJK is not underestimated fourfold


def test_lowercase_is_computed_once() -> None:
    f = features_of([HumanMessage("Hello"), HumanMessage("WORLD")])
    assert f.lower(last=True) == "world"
    assert f.lower(last=True) is f.lower(last=True)
    assert f.lower(last=False) == "hello\nworld"


@pytest.mark.parametrize("tools", [True, False])
def test_request_features_are_lazy_and_carry_needs(tools: bool) -> None:
    request = RouteRequest("hi", {}, needs_tools=tools)
    assert request._features is None
    assert request.features.needs_tools is tools
    assert request.features is request.features
