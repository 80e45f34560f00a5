"""How an answer reaches the terminal as it arrives.

A reasoning model thinks before it answers, sometimes for a long while; showing nothing makes it
look frozen. Its reasoning goes to stderr as it arrives, under a ``thinking…`` heading (dimmed on
a terminal), and an ``answer:`` heading on stderr marks where the answer starts. The answer goes
to stdout, so a pipe receives the answer alone.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from . import format as fmt

__all__ = ["AnswerWriter"]


class AnswerWriter:
    """Writes one answer: ``reasoning`` and ``answer`` pieces in the order they come, then
    ``end_line``. ``show_reasoning=False`` drops the reasoning (and with it the headings)."""

    def __init__(
        self, *, show_reasoning: bool, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._show = show_reasoning
        self._styled = _is_terminal(self._err) and "NO_COLOR" not in os.environ
        self._thinking = False  # some reasoning was shown
        self._answering = False  # some of the answer was written
        self._line_open = False  # the reasoning's last line on stderr is unfinished

    def reasoning(self, text: str | None) -> None:
        if not (text and self._show):
            return
        if not self._thinking:
            self._thinking = True
            self._heading(fmt.THINKING_HEADING)
        self._err.write(fmt.dim(text) if self._styled else text)
        self._err.flush()
        self._line_open = not text.endswith("\n")

    def answer(self, text: str) -> None:
        if not text:
            return
        if not self._answering:
            self._answering = True
            if self._thinking:
                self._heading(fmt.ANSWER_HEADING)
        self._out.write(text)
        self._out.flush()

    def end_line(self) -> None:
        """End the answer's line (also after an error, so the error starts a line of its own)."""
        self._close_reasoning()
        self._out.write("\n")
        self._out.flush()

    def _heading(self, text: str) -> None:
        self._close_reasoning()
        self._err.write(text + "\n")
        self._err.flush()

    def _close_reasoning(self) -> None:
        if self._line_open:
            self._err.write("\n")
            self._err.flush()
            self._line_open = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False
