"""What ``aisa chat`` shows besides the answer: a reasoning model's thinking as it arrives (set
apart on stderr, the answer's start marked), answers cut short, and flags and files refused
before any request; plus the account commands' errors, which name no model."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aisa_core.standin import INVALID_API_KEY, Fault, StandIn
from tests.cli.conftest import Result

Run = Callable[..., Result]
THINKER = "claude-sonnet-4-5-thinking"
REASONING = "First I weigh the greeting. Then I answer it briefly."
ANSWER = f"Hello from the AIsa stand-in ({THINKER}). You said: Hi"


class Tap(io.StringIO):
    """A stdout or stderr that logs each write, in order, with the stream's name."""

    def __init__(self, name: str, log: list[tuple[str, str]], *, tty: bool = False) -> None:
        super().__init__()
        self.name, self.log, self.tty = name, log, tty

    def write(self, text: str) -> int:
        self.log.append((self.name, text))
        return super().write(text)

    def isatty(self) -> bool:
        return self.tty


def tap(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """From now on, every write to stdout and stderr, in the order they happen (called in the
    test's body: pytest's own capture is switched on after the fixtures are set up)."""
    writes: list[tuple[str, str]] = []
    monkeypatch.setattr(sys, "stdout", Tap("out", writes))
    monkeypatch.setattr(sys, "stderr", Tap("err", writes))
    return writes


@pytest.fixture
def thinker(gateway: StandIn) -> StandIn:
    gateway.set_reasoning(THINKER, REASONING)
    return gateway


def joined(log: list[tuple[str, str]], name: str) -> str:
    return "".join(text for stream, text in log if stream == name)


# --- reasoning --------------------------------------------------------------------------------


def test_streamed_reasoning_comes_first_on_stderr_and_the_answer_start_is_marked(
    thinker: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tap(monkeypatch)
    result = run("chat", "--model", THINKER, "-m", "Hi", "--stream", "-q")

    assert result.code == 0
    assert joined(log, "out") == ANSWER + "\n"  # stdout holds the answer alone
    assert joined(log, "err") == f"thinking…\n{REASONING}\nanswer:\n"
    reasoning_writes = [text for stream, text in log if stream == "err" and text.strip()]
    assert len(reasoning_writes) > 4, "the reasoning is written piece by piece as it arrives"
    first_answer = next(i for i, (stream, _) in enumerate(log) if stream == "out")
    assert log[first_answer - 1] == ("err", "answer:\n")
    assert all(stream == "err" for stream, _ in log[:first_answer])


def test_reasoning_is_shown_as_it_arrives_even_when_the_stream_then_fails(
    thinker: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    thinker.fail_model(THINKER, Fault(error_after_chunks=4), times=1)
    log = tap(monkeypatch)

    result = run("chat", "--model", THINKER, "-m", "Hi", "--stream", "-q")

    assert result.code == 1
    err = joined(log, "err")
    assert err.startswith("thinking…\nFirst I weigh")
    before_error, _, error = err.partition("aisa: error: ")
    assert before_error.endswith("\n") and error, "the error starts a line of its own"
    assert "answer:" not in err


def test_reasoning_of_a_whole_answer_is_shown_apart_too(thinker: StandIn, run: Run) -> None:
    result = run("chat", "--model", THINKER, "-m", "Hi", "-q")

    assert result.code == 0
    assert result.out == ANSWER + "\n"
    assert result.err == f"thinking…\n{REASONING}\nanswer:\n"


@pytest.mark.parametrize("stream", [(), ("--stream",)], ids=["whole", "stream"])
def test_no_reasoning_hides_the_thinking(thinker: StandIn, run: Run, stream: tuple[str]) -> None:
    result = run("chat", "--model", THINKER, "-m", "Hi", "-q", "--no-reasoning", *stream)

    assert result.out == ANSWER + "\n"
    assert result.err == ""


def test_a_model_without_reasoning_shows_no_headings(gateway: StandIn, run: Run) -> None:
    result = run("chat", "-m", "Hi", "--stream", "-q")

    assert result.err == ""


def test_reasoning_is_dimmed_on_a_terminal_unless_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aisa_core.cli.output import AnswerWriter

    def shown(*, tty: bool) -> str:
        log: list[tuple[str, str]] = []
        out, err = Tap("out", log), Tap("err", log, tty=tty)
        writer = AnswerWriter(show_reasoning=True, out=out, err=err)
        writer.reasoning("hmm")
        writer.answer("yes")
        writer.end_line()
        assert out.getvalue() == "yes\n"
        return err.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert shown(tty=True) == "thinking…\n\x1b[2mhmm\x1b[0m\nanswer:\n"
    assert shown(tty=False) == "thinking…\nhmm\nanswer:\n"
    monkeypatch.setenv("NO_COLOR", "1")
    assert shown(tty=True) == "thinking…\nhmm\nanswer:\n"


def test_the_stream_json_keeps_the_reasoning_in_its_chunks(thinker: StandIn, run: Run) -> None:
    result = run("chat", "--model", THINKER, "-m", "Hi", "--stream", "--json")

    chunks = [json.loads(line) for line in result.out.splitlines()]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == REASONING
    assert "thinking" not in result.err


# --- answers cut short ------------------------------------------------------------------------

CUT_NOTE = "aisa: note: the answer was cut at the token limit (finish_reason length)"
LONG = "Tell me everything there is to know about gateways"


@pytest.mark.parametrize("stream", [(), ("--stream",)], ids=["whole", "stream"])
def test_an_answer_cut_by_max_tokens_is_marked(
    gateway: StandIn, run: Run, stream: tuple[str]
) -> None:
    result = run("chat", "-m", LONG, "--max-tokens", "3", "-q", *stream)

    assert result.code == 0
    assert result.out == "Hello from the\n"
    assert result.err.startswith(CUT_NOTE)
    assert "raise --max-tokens" in result.err
    assert result.err.count("\n") == 1


def test_a_whole_answer_has_no_cut_note(gateway: StandIn, run: Run) -> None:
    result = run("chat", "-m", "Hi", "--max-tokens", "500", "-q")

    assert result.err == ""


def test_json_says_whether_the_answer_was_cut(gateway: StandIn, run: Run) -> None:
    cut = json.loads(run("chat", "-m", LONG, "--max-tokens", "3", "--json").out)
    whole = json.loads(run("chat", "-m", "Hi", "--json").out)

    assert cut["aisa"]["truncated"] is True
    assert cut["choices"][0]["finish_reason"] == "length"
    assert whole["aisa"]["truncated"] is False


def test_stream_json_ends_with_the_length_finish_and_a_note(gateway: StandIn, run: Run) -> None:
    result = run("chat", "-m", LONG, "--max-tokens", "3", "--stream", "--json")

    chunks = [json.loads(line) for line in result.out.splitlines()]
    finishes = [c["choices"][0].get("finish_reason") for c in chunks if c["choices"]]
    assert finishes[-1] == "length"
    assert result.err.startswith(CUT_NOTE)


def test_compare_marks_answers_cut_short(gateway: StandIn, run: Run) -> None:
    table = run("compare", "--models", "gpt-4.1,grok-4", "-m", LONG, "--max-tokens", "3")
    data = json.loads(
        run("compare", "--models", "gpt-4.1", "-m", LONG, "--max-tokens", "3", "--json").out
    )

    rows = {line.split()[0]: line.split()[1] for line in table.out.splitlines()[2:]}
    assert rows == {"gpt-4.1": "cut", "grok-4": "cut"}
    assert "gpt-4.1's answer was cut at the token limit" in table.err
    assert data[0]["finish_reason"] == "length"


# --- refused before any request ---------------------------------------------------------------


def test_a_text_file_named_png_is_not_sent_as_an_image(
    gateway: StandIn, run: Run, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list: milk, eggs\n")

    result = run("vision", "--image", str(notes))

    assert result.code == 2
    assert result.err.startswith(f"aisa: error: {notes} is not an image")
    assert "Pass a PNG, JPEG, GIF, WebP or BMP file" in result.err
    assert "mime_type" not in result.err  # a Python argument means nothing here
    assert gateway.requests == []


def test_a_data_url_that_is_not_an_image_is_refused(gateway: StandIn, run: Run) -> None:
    result = run("vision", "--image", "data:text/plain;base64,aGVsbG8=")

    assert result.code == 2
    assert gateway.requests == []


@pytest.mark.parametrize(
    "argv",
    [
        ("chat", "-m", "Hi", "--max-tokens", "0"),
        ("chat", "-m", "Hi", "--max-tokens", "-5"),
        ("vision", "--image", "https://x.test/a.png", "--max-tokens", "0"),
        ("quote", "-m", "Hi", "--max-tokens", "0"),
        ("compare", "--models", "gpt-4.1,grok-4", "-m", "Hi", "--max-tokens", "0"),
        ("compare", "--models", "gpt-4.1", "-m", "Hi", "--temperature", "2.5"),
        ("chat", "-m", "Hi", "--temperature", "-0.1"),
        ("chat", "-m", "Hi", "--temperature", "nan"),
        ("chat", "-m", "Hi", "--timeout", "0"),
        ("--timeout", "-1", "balance"),
        ("models", "--timeout", "nan"),
        ("chat", "-m", "Hi", "--timeout", "inf"),
        ("standin", "--port", "70000"),
        ("standin", "--port", "-1"),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_numbers_out_of_range_are_usage_errors_before_any_request(
    gateway: StandIn, run: Run, argv: tuple[str, ...]
) -> None:
    result = run(*argv)

    assert result.code == 2
    assert "must be" in result.err.splitlines()[-1]
    assert gateway.requests == []


# --- errors of commands that name no model ----------------------------------------------------


@pytest.mark.parametrize("command", ["balance", "models"])
def test_a_401_from_an_account_command_names_no_model(
    gateway: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("AISA_API_KEY", INVALID_API_KEY)

    result = run(command)

    assert result.code == 1
    assert result.err.startswith("aisa: error: Invalid API key. (status=401")
    assert "model=" not in result.err
    assert "credits" not in result.err
