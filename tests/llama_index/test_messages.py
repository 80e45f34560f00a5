"""Messages and content blocks to wire dicts: every supported block, and clear errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Literal

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    BaseContentBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from aisa_core import InvalidInputError
from llama_index_aisa._convert import to_wire_messages
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4 tiny"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def wire(*blocks: Any, role: str = "user", **extra: Any) -> dict[str, Any]:
    return to_wire_messages([ChatMessage(role=role, blocks=list(blocks), additional_kwargs=extra)])[
        0
    ]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_text_only_is_a_plain_string() -> None:
    assert wire(TextBlock(text="a"), TextBlock(text="b")) == {"role": "user", "content": "a\nb"}


@pytest.mark.parametrize(
    ("role", "sent"),
    [
        ("system", "system"),
        ("developer", "developer"),
        ("chatbot", "assistant"),
        ("model", "assistant"),
        ("user", "user"),
    ],
)
def test_roles(role: str, sent: str) -> None:
    assert wire(TextBlock(text="x"), role=role)["role"] == sent


def test_image_by_url_is_passed_on_not_fetched() -> None:
    part = wire(TextBlock(text="what?"), ImageBlock(url="https://x.test/cat.png", detail="low"))
    assert part["content"] == [
        {"type": "text", "text": "what?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.png", "detail": "low"}},
    ]


def test_image_from_bytes_and_from_path(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    expected = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}}
    assert wire(ImageBlock(image=PNG))["content"] == [expected]
    assert wire(ImageBlock(path=path))["content"] == [expected]


def test_audio_and_document_and_video() -> None:
    audio = wire(AudioBlock(audio=WAV, format="wav"))["content"][0]
    assert audio == {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}}
    document = wire(DocumentBlock(data=PDF, title="report"))["content"][0]
    assert document == {
        "type": "file",
        "file": {"filename": "report", "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
    }
    video = wire(VideoBlock(url="https://x.test/clip.mp4"))["content"][0]
    assert video == {"type": "video_url", "video_url": {"url": "https://x.test/clip.mp4"}}


def test_citable_content_is_sent_and_hints_are_not() -> None:
    cited = CitableBlock(title="t", source="s", content=[TextBlock(text="quoted")])
    cache = CachePoint(cache_control=CacheControl(type="ephemeral"))
    thinking = ThinkingBlock(content="private reasoning")
    message = wire(TextBlock(text="see:"), cited, cache, thinking)
    assert message["content"] == "see:\nquoted"


def test_url_only_document_is_refused_clearly() -> None:
    with pytest.raises(InvalidInputError, match="DocumentBlock given only by URL"):
        wire(DocumentBlock(url="https://x.test/a.pdf"))


def test_unknown_block_type_is_named() -> None:
    class HologramBlock(BaseContentBlock):
        block_type: Literal["hologram"] = "hologram"

    message = ChatMessage.model_construct(
        role=MessageRole.USER, blocks=[HologramBlock()], additional_kwargs={}
    )
    with pytest.raises(InvalidInputError, match=r"HologramBlock \('hologram'\)"):
        to_wire_messages([message])


def test_system_message_with_an_image_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="system message can hold only text"):
        wire(TextBlock(text="x"), ImageBlock(url="https://x.test/a.png"), role="system")


def test_tool_result_message() -> None:
    message = wire(TextBlock(text="42"), role="tool", tool_call_id="call_1")
    assert message == {"role": "tool", "content": "42", "tool_call_id": "call_1"}


def test_assistant_tool_calls_keep_provider_extras() -> None:
    """Gemini needs its thought signature back on the tool call of the next turn."""
    stored = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            "extra_content": {"google": {"thought_signature": "sig-A"}},
        }
    ]
    message = wire(
        ToolCallBlock(tool_call_id="call_1", tool_name="weather", tool_kwargs={"city": "Paris"}),
        role="assistant",
        tool_calls=stored,
    )
    assert message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                "extra_content": {"google": {"thought_signature": "sig-A"}},
            }
        ],
    }


def test_streamed_argument_text_is_sent_verbatim() -> None:
    block = ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs='{"a": 1')
    message = wire(TextBlock(text="calling"), block, role="assistant")
    assert message["content"] == "calling"
    assert message["tool_calls"][0]["function"]["arguments"] == '{"a": 1'


def test_legacy_tool_calls_in_additional_kwargs() -> None:
    stored = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    assert wire(role="assistant", tool_calls=stored)["tool_calls"] == stored


def test_image_sent_through_chat(make_llm: MakeLLM, gateway: Gateway) -> None:
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="what is it?"), ImageBlock(image=PNG)]
    )
    make_llm().chat([message])
    parts = gateway.body["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
