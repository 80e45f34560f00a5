"""Chat answers to retrieval prompts: when the messages carry context passages, the stand-in
answers with the passage sentence that best matches the question (instead of echoing the
prompt template), so an offline RAG demo answers sensibly.

Recognised, as the frameworks write them by default:

- LlamaIndex's question-answering and refine prompts: the context between two ``-----`` fence
  lines, the question after ``Query:`` or ``The original query is as follows:``;
- LlamaIndex's context chat engines: a system message with ``...documents for the context:``
  (up to ``Instruction:``), the question in the last user message;
- LangChain's RAG prompts: ``Question: ... Context: ... Answer:`` in one message, or a system
  message whose context follows ``Context:`` (or sits in ``<context>`` tags), the question in
  the last user message;
- the condense step of a chat engine (``Follow Up Input: ... Standalone question:``), answered
  with the follow-up question itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ._lexical import best_sentence

__all__ = ["retrieval_answer"]

NOT_FOUND = "The context does not say."
MIN_SCORE = 0.1  # below this a sentence shares a few letters with the question, not a word

_FENCED = re.compile(r"^\s*-{3,}\s*\n(.*?)\n\s*-{3,}\s*$", re.DOTALL | re.MULTILINE)
_TAGGED = re.compile(r"<(context|documents?)>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
_DOCUMENTS = re.compile(r"documents? for the context:\s*(.*?)(?:\n\s*Instruction:|\Z)", re.DOTALL)
_LABELLED = re.compile(
    r"(?:^|\s)Context\s*:\s*(.*?)(?=^\s*(?:Answer|Question|Query)\s*:|\Z)",
    re.DOTALL | re.MULTILINE,
)
_QUESTION = re.compile(
    r"^\s*(?:Query|Question)\s*:\s*(.+?)\s*$|The original query is as follows:\s*(.+?)\s*$",
    re.MULTILINE | re.IGNORECASE,
)
_FOLLOW_UP = re.compile(r"Follow Up Input:\s*(.+?)\s*\n\s*Standalone question:", re.DOTALL)


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _context_of(text: str) -> str | None:
    for pattern, group in ((_FENCED, 1), (_TAGGED, 2), (_DOCUMENTS, 1), (_LABELLED, 1)):
        found = pattern.search(text)
        if found and found.group(group).strip():
            return str(found.group(group))
    return None


def _question_of(text: str) -> str | None:
    found = _QUESTION.search(text)
    return str(found.group(1) or found.group(2)) if found else None


def retrieval_answer(messages: Sequence[Any]) -> str | None:
    """The grounded answer to a retrieval prompt, or ``None`` when the messages carry none."""
    texts = [(m.get("role") if isinstance(m, dict) else None, _text(m)) for m in messages]
    follow_up = next((f for _, t in texts if (f := _FOLLOW_UP.search(t))), None)
    if follow_up is not None:
        return str(follow_up.group(1))
    for index, (_, text) in enumerate(texts):
        context = _context_of(text)
        if context is None:
            continue
        question = _question_of(text.replace(context, " ")) or _last_user_after(texts, index)
        if question is None:
            return None
        sentence, score = best_sentence(question, context)
        return sentence if score >= MIN_SCORE else NOT_FOUND
    return None


def _last_user_after(texts: list[tuple[Any, str]], index: int) -> str | None:
    for role, text in reversed(texts[index + 1 :]):
        if role == "user" and text.strip():
            return str(text)
    return None
