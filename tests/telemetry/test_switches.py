"""How tracing is switched on (per client, per process, for the frameworks and the CLI), what it
captures only when asked, what it never exports (the key), and what it costs when absent."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry.trace import SpanKind

from aisa_core import AISAClient, telemetry
from aisa_core.attempts import AttemptReport, CallReport
from aisa_core.standin import Fault, StandIn
from aisa_core.types import Usage
from tests.telemetry.conftest import Otel

A, B = "gpt-4.1", "claude-haiku-4-5-20251001"
CANARY = "sk-canary-7f3a9c1e5b2d4086a1b3"


def test_an_embeddings_call_is_traced_by_its_operation_name(otel: Otel) -> None:
    """Written against the seam (the embeddings endpoint lands on another branch)."""
    started = time.time()
    attempt = AttemptReport(
        "embeddings",
        "text-embedding-3-small",
        "ok",
        started,
        0.2,
        served_model="text-embedding-3-small",
        status=200,
        usage=Usage(prompt_tokens=12, total_tokens=12),
        cost_usd=0.0000024,
    )
    report = CallReport(
        "embeddings",
        ("text-embedding-3-small",),
        started,
        0.2,
        "ok",
        attempts=(attempt,),
        server_address="api.aisa.one",
        server_port=443,
        request={"input": ["a", "b"], "encoding_format": "float", "dimensions": 256},
    )
    otel.observer(capture_content=True).on_call(report)
    [span] = otel.spans()
    assert span.name == "embeddings text-embedding-3-small" and span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.request.encoding_formats"] == ("float",)
    assert attrs["gen_ai.embeddings.dimension.count"] == 256
    assert attrs["gen_ai.usage.input_tokens"] == 12 and attrs["server.port"] == 443
    assert attrs["aisa.cost_usd"] == 0.0000024
    assert not any(k.startswith("gen_ai.input") for k in attrs)  # no messages to capture
    assert span.start_time == int(started * 1e9)
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum for p in otel.points("gen_ai.client.token.usage")
    }
    assert tokens["input"] == 12


def test_a_real_embeddings_call_is_traced_with_its_tokens_and_cost(
    aisa_standin: StandIn, otel: Otel
) -> None:
    client = AISAClient(api_key="k", base_url=aisa_standin.base_url, observers=[otel.observer()])
    result = client.embed(["one text", "another"], model="text-embedding-3-small", dimensions=64)
    span = otel.span("embeddings text-embedding-3-small")
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.response.model"] == "text-embedding-3-small"
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens > 0
    assert attrs["gen_ai.embeddings.dimension.count"] == 64
    assert attrs["aisa.cost_usd"] == result.cost_usd
    client.close()


def test_content_is_captured_only_when_the_user_opts_in(
    aisa_standin: StandIn, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(observer: object) -> dict[str, object]:
        otel.exporter.clear()
        c = AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A, observers=[observer])
        c.chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
        [span] = otel.spans()
        return dict(span.attributes or {})

    monkeypatch.delenv(telemetry.CAPTURE_ENV, raising=False)
    assert "gen_ai.input.messages" not in run(otel.observer())
    monkeypatch.setenv(telemetry.CAPTURE_ENV, "false")
    assert "gen_ai.input.messages" not in run(otel.observer())
    monkeypatch.setenv(telemetry.CAPTURE_ENV, "EVENT_ONLY")  # no log events here: none on spans
    assert "gen_ai.input.messages" not in run(otel.observer())
    monkeypatch.setenv(telemetry.CAPTURE_ENV, "true")
    assert "gen_ai.input.messages" not in run(otel.observer(capture_content=False))
    attrs = run(otel.observer())
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output["role"] == "assistant" and output["finish_reason"] == "stop"
    assert output["parts"][0]["content"].endswith("You said: hi")


def test_the_api_key_is_in_no_exported_span_event_or_metric(
    aisa_standin: StandIn, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(telemetry.CAPTURE_ENV, "true")  # the most that is ever exported
    c = AISAClient(
        api_key=CANARY,
        base_url=aisa_standin.base_url,
        model=A,
        fallback_models=[B],
        max_retries=0,
        observers=[otel.observer()],
    )
    c.chat("hello", temperature=0.1)
    c.stream("a stream").completion()
    aisa_standin.fail_model(A, Fault(status=503))
    c.chat("fall back")
    aisa_standin.fail_model(B, Fault(status=401, code="invalid_api_key"))
    with pytest.raises(Exception):  # noqa: B017  (any failure: it is its export that matters)
        c.chat("fail")
    c.list_models()
    spans = otel.spans()
    assert len(spans) >= 6 and any(s.events or s.status.description for s in spans)
    exported = "".join(s.to_json() for s in spans)
    exported += otel.reader.get_metrics_data().to_json()  # type: ignore[union-attr]
    assert "fall back" in exported  # content was on: the check would see a leak
    assert CANARY not in exported and CANARY[3:] not in exported
    assert CANARY not in repr(c.settings.observers)


def test_instrument_traces_every_client_made_before_or_after(
    aisa_standin: StandIn, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISA_API_KEY", "k")  # what an unpickled client reads
    before = AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A)
    before.chat("untraced")
    installed = telemetry.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
    )
    try:
        before.chat("one")
        after = AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A)
        after.chat("two")
        assert len(otel.spans()) == 2
        own = otel.observer(capture_content=True)
        both = AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A, observers=[own])
        assert both.settings.observers == (own, installed)
        # A pickle carries the client's own observer, never the process's.
        [loaded] = pickle.loads(pickle.dumps(both.settings)).gates.observers
        assert type(loaded) is type(own) and loaded.capture_content and loaded is not own
    finally:
        telemetry.uninstrument()
    after.chat("three")
    assert len(otel.spans()) == 2 and both.settings.observers == (own,)


def test_instrument_again_replaces_the_first(aisa_standin: StandIn, traced: Otel) -> None:
    telemetry.instrument(
        tracer_provider=traced.tracer_provider, meter_provider=traced.meter_provider
    )
    c = AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A)
    c.chat("once")
    assert len(traced.spans()) == 1


def test_the_cli_is_traced_without_code_of_its_own(
    aisa_standin: StandIn,
    traced: Otel,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aisa_core.cli import main

    monkeypatch.setenv("AISA_API_KEY", CANARY)
    monkeypatch.setenv("AISA_BASE_URL", aisa_standin.base_url)
    assert main(["chat", "--model", A, "--message", "hi"]) == 0
    capsys.readouterr()
    assert [s.name for s in traced.spans()] == ["chat gpt-4.1"]


def test_the_opentelemetry_instrument_entry_point_turns_it_on(
    aisa_standin: StandIn, otel: Otel
) -> None:
    from importlib.metadata import entry_points

    [point] = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "aisa_llm"]
    instrumentor = point.load()()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
    )
    try:
        AISAClient(api_key="k", base_url=aisa_standin.base_url, model=A).chat("hi")
    finally:
        instrumentor.uninstrument()
    assert [s.name for s in otel.spans()] == ["chat gpt-4.1"]


_BLOCK = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ImportError(f"no module named {name!r} (blocked by the test)")
            return None
    if BLOCK:
        sys.meta_path.insert(0, Block())
    from aisa_core import AISAClient
    from aisa_core.standin import StandIn
    with StandIn() as gw:
        client = AISAClient(api_key="k", base_url=gw.base_url, model="gpt-4.1")
        print(client.chat("hi").text)
        print(client.stream("hi").completion().text)
    print("loaded:", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
    from aisa_core import telemetry
    try:
        telemetry.instrument()
    except ImportError as exc:
        print("instrument:", exc)
    """
)


@pytest.mark.parametrize("absent", [True, False])
def test_without_tracing_nothing_of_opentelemetry_is_imported(absent: bool) -> None:
    script = f"BLOCK = {absent}\n" + _BLOCK
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Hello from the AIsa stand-in") and lines[1].startswith("Hello")
    assert lines[2] == "loaded: []"
    if absent:
        assert (
            lines[3]
            == "instrument: aisa_core.telemetry needs OpenTelemetry: pip install 'aisa-llm[otel]'"
        )
    else:
        assert len(lines) == 3  # instrument() works once the API is installed
