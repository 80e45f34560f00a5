"""``aisa`` end to end: ``main([...])`` against the stand-in over a real loopback socket."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aisa_core import AISAClient
from aisa_core.cli.demo import tiny_png
from aisa_core.cli.format import micros_to_usd
from aisa_core.standin import Fault, StandIn
from tests.cli.conftest import KEY, Result

Run = Callable[..., Result]


def sent(gateway: StandIn) -> dict[str, Any]:
    """The JSON body of the last chat request the stand-in received."""
    chats = [r for r in gateway.requests if r.path.endswith("/chat/completions")]
    body: dict[str, Any] = chats[-1].json
    return body


# --- chat ---------------------------------------------------------------------------------


def test_chat_prints_the_answer_and_a_summary(gateway: StandIn, run: Run) -> None:
    result = run("chat", "--model", "gpt-4.1", "--message", "Hi there")

    assert result.code == 0
    assert result.out == "Hello from the AIsa stand-in (gpt-4.1). You said: Hi there\n"
    assert result.err.startswith("gpt-4.1 · ")
    assert "tokens · cost $0.0" in result.err
    assert sent(gateway)["model"] == "gpt-4.1"
    assert sent(gateway)["messages"] == [{"role": "user", "content": "Hi there"}]


def test_chat_sends_system_temperature_and_max_tokens(gateway: StandIn, run: Run) -> None:
    result = run(
        "chat", "-m", "Hi", "--system", "Be brief.", "--temperature", "0.2", "--max-tokens", "50"
    )

    assert result.code == 0
    body = sent(gateway)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 50


def test_chat_stream_prints_tokens_as_they_arrive(gateway: StandIn, run: Run) -> None:
    gateway.enqueue_text("one two three four")

    result = run("chat", "-m", "Count", "--stream", "--quiet")

    assert result.code == 0
    assert result.out == "one two three four\n"
    assert result.err == ""
    assert sent(gateway)["stream"] is True


def test_chat_stream_json_prints_one_chunk_per_line(gateway: StandIn, run: Run) -> None:
    gateway.enqueue_text("one two three four")

    result = run("chat", "-m", "Count", "--stream", "--json")

    chunks = [json.loads(line) for line in result.out.splitlines()]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "one two three four"
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_chat_json_adds_cost_and_attempts(gateway: StandIn, run: Run) -> None:
    result = run("chat", "-m", "Hi", "--json")

    data = json.loads(result.out)
    assert result.code == 0
    assert data["choices"][0]["message"]["content"].startswith("Hello from the AIsa stand-in")
    assert data["aisa"]["cost_micros_usd"] > 0
    assert data["aisa"]["failed_attempts"] == []
    assert result.err == ""


def test_chat_messages_from_json_and_file(gateway: StandIn, run: Run, tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(messages), encoding="utf-8")

    assert run("chat", "--messages", json.dumps(messages), "-q").code == 0
    assert sent(gateway)["messages"] == messages
    assert run("chat", "--messages", f"@{path}", "-q").out.endswith("You said: second\n")
    assert sent(gateway)["messages"] == messages


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[1, 2]", "must be a JSON list of message objects"),
        ("not json", "is not valid JSON"),
        ("@/no/such/file.json", "cannot read /no/such/file.json"),
        ('[{"role": "robot", "content": "x"}]', "has role 'robot'"),
    ],
)
def test_bad_messages_are_usage_errors(
    gateway: StandIn, run: Run, value: str, expected: str
) -> None:
    result = run("chat", "--messages", value)

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("aisa: error: ")
    assert expected in result.err
    assert result.err.count("\n") == 1
    assert gateway.requests == []


def test_fallback_answers_when_the_primary_fails(gateway: StandIn, run: Run) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=503))  # "No available channels": no retries

    result = run("chat", "--model", "gpt-4.1", "--fallback", "grok-4,qwen3-max", "-m", "Hi")

    assert result.code == 0
    assert "(grok-4)" in result.out
    assert "gpt-4.1 failed first (UnknownModelError)" in result.err


# --- errors and exit codes ------------------------------------------------------------------


def test_api_error_is_one_line_with_a_hint_and_exit_1(gateway: StandIn, run: Run) -> None:
    gateway.enqueue_fault(Fault(status=401))

    result = run("chat", "-m", "Hi")

    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("aisa: error: Invalid API key.")
    assert "Check AISA_API_KEY" in result.err
    assert result.err.count("\n") == 1


def test_unknown_model_points_at_the_models_command(gateway: StandIn, run: Run) -> None:
    result = run("chat", "--model", "unknown-model-x", "-m", "Hi")

    assert result.code == 1
    assert "`aisa models`" in result.err


def test_every_model_failing_reports_each_attempt(gateway: StandIn, run: Run) -> None:
    result = run("chat", "--model", "unknown-a", "--fallback", "unknown-b", "-m", "Hi")

    assert result.code == 1
    assert "unknown-a: UnknownModelError" in result.err
    assert "unknown-b: UnknownModelError" in result.err
    assert "`aisa models`" in result.err


def test_error_inside_a_stream_exits_1_after_the_partial_text(gateway: StandIn, run: Run) -> None:
    gateway.fail_model("gpt-4.1-mini", Fault(error_after_chunks=2), times=1)

    result = run("chat", "-m", "Hi", "--stream")

    assert result.code == 1
    assert result.out.startswith("Hello from")  # the chunks that arrived were shown
    assert result.err.startswith("aisa: error: The upstream provider failed mid-stream.")


def test_missing_key_names_the_variable_and_exits_2(
    gateway: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISA_API_KEY")

    result = run("chat", "-m", "Hi")

    assert result.code == 2
    assert (
        result.err
        == "aisa: error: no AIsa API key. Set the AISA_API_KEY environment variable to your key\n"
    )


def test_usage_errors_exit_2(gateway: StandIn, run: Run) -> None:
    assert run("chat").code == 2
    assert run("chat", "-m", "Hi", "--temperature", "hot").code == 2
    assert run().code == 2
    out_of_range = run("chat", "-m", "Hi", "--temperature", "5")
    assert out_of_range.code == 2
    assert "temperature must be between" in out_of_range.err
    assert gateway.requests == []


def test_help_exits_0(run: Run) -> None:
    result = run("--help")

    assert result.code == 0
    assert "chat" in result.out
    assert "standin" in result.out


def test_ctrl_c_exits_130(gateway: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(AISAClient, "chat", interrupted)

    result = run("chat", "-m", "Hi")

    assert result.code == 130
    assert result.err == "aisa: interrupted\n"


def test_api_key_flag_works_on_either_side_and_is_never_printed(
    gateway: StandIn, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISA_API_KEY")
    url = gateway.base_url

    before = run("--api-key", KEY, "--base-url", url, "chat", "-m", "Hi")
    after = run("chat", "-m", "Hi", "--api-key", KEY, "--base-url", url, "--timeout", "5")
    gateway.enqueue_fault(Fault(status=401, message=f"bad key {KEY}"))
    failed = run("chat", "-m", "Hi", "--api-key", KEY)

    assert (before.code, after.code, failed.code) == (0, 0, 1)
    assert "prefer AISA_API_KEY" in before.err
    assert gateway.requests[0].headers["authorization"] == f"Bearer {KEY}"
    # run() has already checked that KEY appears in no output


# --- vision ---------------------------------------------------------------------------------


def test_vision_sends_a_local_png_as_a_data_url(gateway: StandIn, run: Run, tmp_path: Path) -> None:
    image = tmp_path / "pixel.png"
    image.write_bytes(tiny_png(4, 4))

    result = run("vision", "--image", str(image), "--prompt", "What is it?", "-q")

    assert result.code == 0
    assert "I see 1 image" in result.out
    text, picture = sent(gateway)["messages"][0]["content"]
    assert text == {"type": "text", "text": "What is it?"}
    assert picture["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def test_vision_passes_an_image_url_through(gateway: StandIn, run: Run) -> None:
    url = "https://example.com/cat.jpg"

    assert run("vision", "--image", url, "-q").code == 0
    assert sent(gateway)["messages"][0]["content"][1]["image_url"]["url"] == url


def test_vision_missing_file_exits_2(gateway: StandIn, run: Run) -> None:
    result = run("vision", "--image", "/no/such/cat.png")

    assert result.code == 2
    assert "image file not found" in result.err


def test_vision_warns_about_a_text_only_model(gateway: StandIn, run: Run) -> None:
    result = run("vision", "--model", "deepseek-v3.1", "--image", "https://example.com/a.png")

    assert "deepseek-v3.1 is not listed as vision-capable" in result.err


# --- models, compare, balance, quote ---------------------------------------------------------


def test_models_table_merges_the_capability_table(gateway: StandIn, run: Run) -> None:
    result = run("models")

    lines = result.out.splitlines()
    assert result.code == 0
    assert lines[0].split()[:5] == ["model", "context", "vision", "tools", "json"]
    assert lines[0].endswith("USD per 1M in / out")
    row = next(line for line in lines if line.startswith("gpt-4.1 "))
    # AIsa's own prices for gpt-4.1 (its catalog), not the provider's list price.
    assert row.split() == ["gpt-4.1", "1.05M", "yes", "yes", "yes", "$1.40", "/", "$5.60"]
    deepseek = next(line for line in lines if line.startswith("deepseek"))
    assert deepseek.split()[2] == "-"  # text only


def test_models_filter_and_json(gateway: StandIn, run: Run) -> None:
    table = run("models", "claude")
    data = json.loads(run("models", "claude", "--json").out)

    assert all(line.startswith(("model", "---", "claude")) for line in table.out.splitlines())
    assert {m["id"][:6] for m in data} == {"claude"}
    assert all(m["context_window"] >= 200_000 for m in data)


def test_compare_prints_an_aligned_table(gateway: StandIn, run: Run) -> None:
    result = run("compare", "--models", "gpt-4.1-mini, grok-4,unknown-x", "-m", "2+2?")

    lines = result.out.splitlines()
    assert result.code == 0
    assert lines[0].split() == ["model", "status", "latency", "tokens", "cost", "answer"]
    assert len({line.index("answer") for line in lines[:1]}) == 1
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"gpt-4.1-mini", "grok-4", "unknown-x"}
    assert "ok" in rows["grok-4"]
    assert "Hello from the AIsa stand-in (grok-4)" in rows["grok-4"]
    assert "UnknownModelError: No available channels" in rows["unknown-x"]
    starts = {line.index(" ms") for line in lines[2:] if " ms" in line}
    assert len(starts) == 1, "latency column is right-aligned"


def test_compare_exits_1_when_every_model_fails(gateway: StandIn, run: Run) -> None:
    result = run("compare", "--models", "unknown-a,unknown-b", "-m", "Hi")

    assert result.code == 1
    assert "every model failed" in result.err


def test_compare_json(gateway: StandIn, run: Run) -> None:
    data = json.loads(run("compare", "--models", "gpt-4.1,grok-4", "-m", "Hi", "--json").out)

    assert [(r["model"], r["ok"]) for r in data] == [("gpt-4.1", True), ("grok-4", True)]


def test_balance_in_dollars(gateway: StandIn, run: Run) -> None:
    result = run("balance")
    data = json.loads(run("balance", "--json").out)

    assert result.code == 0
    available = data["available_balance_micros_usd"]
    assert result.out.splitlines()[0] == f"available  {micros_to_usd(available)}"
    assert result.out.splitlines()[0].startswith("available  $")


def test_quote_uses_the_cost_mode_header(gateway: StandIn, run: Run) -> None:
    result = run("quote", "--model", "gpt-4.1", "-m", "Write an essay", "--max-tokens", "500")

    assert result.code == 0
    assert result.out.startswith("estimate   $")
    assert result.out.splitlines()[0].endswith(" on gpt-4.1")
    request = gateway.requests[-1]
    assert request.headers["x-aisa-cost-mode"] == "quote"
    assert request.json["max_tokens"] == 500


# --- standin ------------------------------------------------------------------------------


def test_standin_command_serves_and_prints_how_to_connect(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []

    def serve_forever(host: str, port: int, *, ready: Callable[[str], None], **kw: Any) -> None:
        calls.append((host, port))
        ready(f"http://{host}:{port}/v1")

    monkeypatch.setattr(StandIn, "serve_forever", staticmethod(serve_forever))

    result = run("standin", "--port", "8123")

    assert result.code == 0
    assert calls == [("127.0.0.1", 8123)]
    assert (
        "export AISA_BASE_URL=http://127.0.0.1:8123/v1 AISA_API_KEY=sk-aisa-standin" in result.out
    )
