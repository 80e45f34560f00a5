"""Offline fakes for the router tests: a chat model that echoes, streams word by word, binds
tools and can be told to fail; a callback handler that records runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from aisa_core.standin import StandIn


def standin_kwargs(gateway: StandIn, **extra: Any) -> dict[str, Any]:
    """``ChatAISA`` arguments for the stand-in, without retries."""
    return {"api_key": gateway.api_key, "base_url": gateway.base_url, "max_retries": 0, **extra}


class EchoChat(BaseChatModel):
    """Answers ``"<model>: <last message text>"``; with tools bound (and no tool result last),
    calls the first tool with ``tool_args``. ``fail=True`` raises. Every call's keyword arguments
    are kept in ``calls``."""

    model: str = "echo"
    fail: bool = False
    tool_args: dict[str, Any] = Field(default_factory=dict)
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        self.calls.append(kwargs)
        if self.fail:
            raise RuntimeError(f"{self.model} is down")
        meta = {"model_name": self.model}
        tools = kwargs.get("tools")
        if tools and messages[-1].type != "tool":
            name = tools[0]["function"]["name"]
            call = {"name": name, "args": dict(self.tool_args), "id": "call_1"}
            return AIMessage("", tool_calls=[call], response_metadata=meta)
        return AIMessage(f"{self.model}: {messages[-1].text}", response_metadata=meta)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        answer = self._answer(messages, kwargs)
        words = answer.text.split(" ")
        for i, word in enumerate(words):
            text = word if i == len(words) - 1 else word + " "
            meta = answer.response_metadata if i == 0 else {}
            chunk = ChatGenerationChunk(message=AIMessageChunk(text, response_metadata=meta))
            if run_manager is not None:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def _name(serialized: dict[str, Any] | None, kwargs: dict[str, Any]) -> str:
    return str(kwargs.get("name") or (serialized or {}).get("name") or "")


class Recorder(BaseCallbackHandler):
    """Keeps (event, name, tags, metadata) for every chain and chat-model start."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, list[str], dict[str, Any]]] = []

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.events.append(("chain", _name(serialized, kwargs), tags or [], metadata or {}))

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.events.append(("chat", _name(serialized, kwargs), tags or [], metadata or {}))

    def named(self, name: str) -> tuple[str, str, list[str], dict[str, Any]]:
        return next(e for e in self.events if e[1] == name)
