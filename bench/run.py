"""The benchmark: ``python bench/run.py [--quick] [--only call,stream,import,async,routing,...]``
(``health`` and ``latency`` are the live-signal scenarios of ``bench/live.py``; ``tracing`` the
OpenTelemetry overhead; ``embed`` the embedding throughput of ``bench/embed.py``; ``limiter``
the rate limiter shared through Redis, ``bench/shared.py``, which starts its own
``redis-server``).

Starts the fixed-answer server (``bench/server.py``) in a separate process on 127.0.0.1, runs
every available client against it in this process, and writes ``bench/results.md`` and
``bench/results.json``. ``--quick`` is a ~1 minute version for development; the full run takes
a few minutes on two cores. See ``bench/README.md`` for the method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = ("aisa_core", "langchain_aisa", "llama_index_aisa")
sys.path[:0] = [str(HERE), str(ROOT)]

import clients  # noqa: E402  (bench/ is not a package)
import embed  # noqa: E402
import live  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import shared  # noqa: E402

SCENARIOS = (
    "call",
    "stream",
    "import",
    "async",
    "routing",
    "tracing",
    "embed",
    "health",
    "latency",
    "limiter",
)
IMPORTS = (
    "import httpx, pydantic",
    "import aisa_core",
    "from aisa_core import AISAClient",
    "import asyncio, httpx, pydantic",
    "from aisa_core import AsyncAISAClient",
    "import openai",
    "import langchain_aisa",
    "import langchain_openai",
    "import langchain_core.language_models.chat_models",
    "from langchain_aisa import ChatAISA",
    "from langchain_openai import ChatOpenAI",
    "import llama_index_aisa",
    "import llama_index.llms.openai",
)
VERSIONS = (
    "httpx",
    "pydantic",
    "aiohttp",
    "openai",
    "langchain-core",
    "langchain-openai",
    "llama-index-core",
    "llama-index-llms-openai",
    "uvicorn",
    "opentelemetry-api",
    "opentelemetry-sdk",
)


@dataclass(frozen=True)
class Budget:
    rounds: int = 5
    per_call: int = 200
    per_stream: int = 12
    warmup: int = 30
    async_rounds: int = 3
    async_seconds: float = 2.5
    import_repeats: int = 7
    route_calls: int = 3000
    memory_calls: int = 30
    embed_rounds: int = 5
    health_calls: int = 1000
    latency_calls: int = 200
    limiter_calls: int = 300


QUICK = Budget(
    rounds=3,
    per_call=60,
    per_stream=4,
    warmup=10,
    async_rounds=2,
    async_seconds=0.8,
    import_repeats=3,
    route_calls=1000,
    memory_calls=10,
    embed_rounds=2,
    health_calls=300,
    latency_calls=60,
    limiter_calls=100,
)


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(command: Sequence[str], port: int) -> Iterator[str]:
    """Run a server process until the block ends; yields its base URL once it accepts."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=measure.subprocess_env(str(ROOT)),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {process.stderr.read().decode()[-500:]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stderr is not None:
            process.stderr.close()


def bench_server(chunks: int) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    script = str(HERE / "server.py")
    return serving([sys.executable, script, "--port", str(port), "--chunks", str(chunks)], port)


def live_server() -> contextlib.AbstractContextManager[str]:
    """The stand-in, scripted for the live-signal scenarios (``bench/live.py``)."""
    port = free_port()
    return serving([sys.executable, str(HERE / "live.py"), "--port", str(port)], port)


def standin_server() -> contextlib.AbstractContextManager[str]:
    port = free_port()
    return serving([sys.executable, "-m", "aisa_core.standin", "--port", str(port)], port)


# --- scenarios -----------------------------------------------------------------------------


def sync_scenarios(base: str, budget: Budget, chunks: int, wanted: set[str]) -> dict[str, Any]:
    contenders, skipped = clients.build(clients.SYNC, base)
    expected_stream = "".join(f"tok{i} " for i in range(chunks))
    out: dict[str, Any] = {}
    try:
        if "call" in wanted:
            ok = _checked(contenders, lambda c: c.call, clients.ANSWER, skipped)
            out["per_call"] = _timed(ok, lambda c: c.call, budget, budget.per_call, skipped)
        if "stream" in wanted:
            ok = _checked(contenders, lambda c: c.stream, expected_stream, dict(skipped))
            section = _timed(ok, lambda c: c.stream, budget, budget.per_stream, skipped)
            for row in section["rows"].values():
                row["per_chunk_us"] = row["median_us"] / chunks
                row["cpu_per_chunk_us"] = row["cpu_median_us"] / chunks
            out["stream"] = section
    finally:
        for c in contenders:
            c.close()
    return out


def _checked(contenders: list[Any], pick: Any, expected: str, skipped: dict[str, str]) -> list[Any]:
    """Only clients that give the right answer are timed (a wrong one is a bench bug)."""
    ok = []
    for c in contenders:
        try:
            got = pick(c)()
        except Exception as exc:
            skipped[c.name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        if got != expected:
            skipped[c.name] = f"wrong answer: {got[:60]!r}"
            continue
        ok.append(c)
    return ok


def _timed(
    ok: list[Any], pick: Any, budget: Budget, per_round: int, skipped: dict[str, str]
) -> dict[str, Any]:
    warmup = max(2, budget.warmup * per_round // budget.per_call)
    rows = measure.sequential(ok, pick, rounds=budget.rounds, per_round=per_round, warmup=warmup)
    memory_calls = max(2, budget.memory_calls * per_round // budget.per_call)
    for c in ok:
        rows[c.name]["peak_kib"] = measure.peak_kib(pick(c), memory_calls)
    return {"rows": rows, "skipped": {k: v for k, v in skipped.items() if k not in rows}}


async def async_scenario(base: str, budget: Budget, concurrency: int) -> dict[str, Any]:
    contenders, skipped = clients.build(clients.ASYNC, base)
    ok = []
    for c in contenders:
        try:
            assert await c.call() == clients.ANSWER, "wrong answer"
            await measure.burst(c.call, concurrency)  # opens the connections
            ok.append(c)
        except Exception as exc:
            skipped[c.name] = f"failed: {type(exc).__name__}: {exc}"
    rounds: dict[str, list[dict[str, Any]]] = {c.name: [] for c in ok}
    for r in range(budget.async_rounds):
        shift = r % max(1, len(ok))
        for c in [*ok[shift:], *ok[:shift]]:
            result = await measure.throughput(
                c.call, concurrency=concurrency, duration=budget.async_seconds
            )
            rounds[c.name].append(result)
    rows = {}
    for c in ok:
        rows[c.name] = {
            "calls_per_s": statistics.median(x["calls_per_s"] for x in rounds[c.name]),
            "rounds": [x["calls_per_s"] for x in rounds[c.name]],
            "errors": sum(x["errors"] for x in rounds[c.name]),
            "error": next((x["error"] for x in rounds[c.name] if x["error"]), None),
            "peak_kib": await measure.apeak_kib(c.call, concurrency=concurrency, total=concurrency),
        }
    for c in contenders:
        with contextlib.suppress(Exception):
            await c.aclose()
    return {"rows": rows, "skipped": skipped}


def tracing_scenario(base: str, budget: Budget) -> dict[str, Any]:
    """Per-call cost of tracing (``aisa_core.telemetry``): untraced, with the OpenTelemetry API
    but no SDK (the issue's ≤ 3 % budget), and into the SDK with an in-memory exporter."""
    contenders, skipped = clients.build(clients.TRACING, base)
    try:
        ok = _checked(contenders, lambda c: c.call, clients.ANSWER, skipped)
        rows = measure.sequential(
            ok, lambda c: c.call, rounds=budget.rounds * 2, per_round=budget.per_call, warmup=50
        )
    finally:
        for c in contenders:
            c.close()
    return {"rows": rows, "skipped": {k: v for k, v in skipped.items() if k not in rows}}


def import_scenario(budget: Budget) -> dict[str, Any]:
    """Each package as installed: pip writes every module's bytecode at install time, so the
    peers in site-packages have theirs, while this checkout may have none (an editable install
    under ``PYTHONDONTWRITEBYTECODE``, as on CI machines), and then every run would time the
    compiling of our sources rather than their import. So they are compiled first."""
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(str(ROOT / package), quiet=1)
    env = measure.subprocess_env(str(ROOT))
    return {s: measure.import_ms(s, repeats=budget.import_repeats, env=env) for s in IMPORTS}


def routing_scenario(base: str, budget: Budget) -> dict[str, Any]:
    try:
        from langchain_aisa import ChatAISA
        from langchain_aisa.router import RouterRunnable, Rule
    except ImportError as exc:
        return {"skipped": f"langchain_aisa.router not importable ({exc})"}
    chat_kwargs = {"api_key": clients.KEY, "base_url": base, "max_retries": 0}
    router = RouterRunnable(
        {"fast": clients.MODEL, "strong": "gpt-5", "vision": "gemini-2.5-flash"},
        [Rule("vision", has_images=True), Rule("strong", keywords=["prove", "refactor"])],
        default="fast",
        chat_kwargs=chat_kwargs,
    )
    direct = ChatAISA(model=clients.MODEL, **chat_kwargs)
    assert router.explain(clients.PROMPT).route == "fast"
    explain = clients.Contender(lambda: router.explain(clients.PROMPT), name="explain")
    explained = measure.sequential(
        [explain], lambda c: c.call, rounds=1, per_round=budget.route_calls, warmup=100
    )
    pair = [
        clients.Contender(lambda: router.invoke(clients.PROMPT), name="routed"),
        clients.Contender(lambda: direct.invoke(clients.PROMPT), name="direct"),
    ]
    timed = measure.sequential(
        pair, lambda c: c.call, rounds=budget.rounds * 2, per_round=budget.per_call // 2, warmup=20
    )
    routed, plain = timed["routed"], timed["direct"]
    direct.close()
    return {
        "explain_us": explained["explain"],
        "routed_us": routed,
        "direct_us": plain,
        "routed_over_direct": routed["median_us"] / plain["median_us"],
        "routed_over_direct_cpu": routed["cpu_median_us"] / plain["cpu_median_us"],
    }


def standin_calibration(budget: Budget) -> str:
    """How much the stand-in gateway would add per call, to justify the fixed server."""
    try:
        with standin_server() as standin_url, bench_server(1) as fixed_url:
            made = [clients.raw_httpx(standin_url), clients.raw_httpx(fixed_url)]
            made[0].name, made[1].name = "standin", "fixed"
            rows = measure.sequential(
                made, lambda c: c.call, rounds=3, per_round=budget.per_call // 2, warmup=20
            )
            for c in made:
                c.close()
    except Exception as exc:
        return f"stand-in calibration failed: {type(exc).__name__}: {exc}"
    standin, fixed = rows["standin"]["median_us"], rows["fixed"]["median_us"]
    return (
        f"Server choice: raw httpx takes {standin:.0f} µs per call against the stand-in gateway "
        f"and {fixed:.0f} µs against the fixed-answer server, so the stand-in's own work would be "
        f"~{standin - fixed:.0f} µs of every call and hide client overhead: the fixed server "
        "is used."
    )


# --- main ----------------------------------------------------------------------------------


def meta(args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    versions = {}
    for name in VERSIONS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "quick": args.quick,
        "chunks": args.chunks,
        "concurrency": args.concurrency,
        "budget": asdict(budget),
        "versions": versions,
        "server": "bench/server.py (fixed answers, raw ASGI on uvicorn + httptools, own process)",
        "notes": [],
    }


def fixed_server_scenarios(
    wanted: set[str], budget: Budget, args: argparse.Namespace, step: Callable[[str], None]
) -> dict[str, Any]:
    """Everything measured against ``bench/server.py`` (fixed answers, its own process)."""
    results: dict[str, Any] = {}
    with bench_server(args.chunks) as base:
        if wanted & {"call", "stream"}:
            step("sequential calls and streams")
            results.update(sync_scenarios(base, budget, args.chunks, wanted))
        if "async" in wanted:
            step(f"async throughput, {args.concurrency} in flight")
            results["async"] = asyncio.run(async_scenario(base, budget, args.concurrency))
        if "routing" in wanted:
            step("routing")
            results["routing"] = routing_scenario(base, budget)
        if "tracing" in wanted:
            step("tracing overhead")
            results["tracing"] = tracing_scenario(base, budget)
        if "embed" in wanted:
            step(f"embedding throughput, {len(embed.TEXTS):,} texts")
            results["embed"] = embed.scenario(base, budget.embed_rounds)
        if "limiter" in wanted:
            step("the rate limiter shared through Redis")
            results["limiter"] = shared.scenario(base, budget.limiter_calls, budget.rounds)
    return results


def live_scenarios(wanted: set[str], budget: Budget, step: Callable[[str], None]) -> dict[str, Any]:
    """The live-signal scenarios, against the stand-in in its own process."""
    results: dict[str, Any] = {}
    if wanted & {"health", "latency"}:
        with live_server() as base:
            if "health" in wanted:
                step(f"a dead primary, {budget.health_calls} calls per arm")
                results["health"] = live.health_scenario(base, budget.health_calls)
            if "latency" in wanted:
                step(f"latency routing, {budget.latency_calls} streamed calls")
                results["latency"] = live.latency_scenario(base, budget.latency_calls)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute version")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per stream")
    parser.add_argument("--concurrency", type=int, default=100, help="async requests in flight")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.md/.json go")
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    budget = QUICK if args.quick else Budget()
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": meta(args, budget)}

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {name}", flush=True)

    results.update(fixed_server_scenarios(wanted, budget, args, step))
    results.update(live_scenarios(wanted, budget, step))
    if "import" in wanted:
        step("import times")
        results["import"] = import_scenario(budget)
    if "call" in wanted:
        step("stand-in calibration")
        results["meta"]["notes"].append(standin_calibration(budget))
    results["meta"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["meta"]["seconds"] = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["meta"]["max_rss_mib"] = rss
    results["meta"]["notes"].append(
        f"Peak KiB columns: tracemalloc peak of Python allocations during a short run of that "
        f"client alone. The benchmark process, with every library loaded, peaked at {rss:.0f} MiB "
        "RSS."
    )
    report.write(results, args.out)
    step(f"wrote {args.out / 'results.md'}")
    for verdict in results["targets"]:
        shown = f"{verdict['value']:.3g}" if "value" in verdict else verdict["why"]
        if verdict.get("cpu") is not None:
            shown += f" (CPU time: {verdict['cpu']:.3g})"
        print(f"  {verdict['status']:4}  {verdict['target']}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
