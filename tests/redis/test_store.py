"""``RedisStore`` does what ``MemoryStore`` does, operation by operation (each test runs on
both), with its own promises on top: prefixed keys that all expire, the server's clock, awaited
twins, pickling, and no password in anything it prints."""

from __future__ import annotations

import asyncio
import math
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aisa_core import Budget, CostLedger, ModelHealth, RateLimiter
from aisa_core.attempts import AttemptInfo, AttemptReport
from aisa_core.errors import ConfigurationError, RateLimitError, StoreUnavailableError
from aisa_core.stores import MemoryStore, RateRule, RedisStore, Store, default_store, run_ops

Expiry = Callable[[str], float | None]


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest, redis_url: str) -> Iterator[tuple[Store, Expiry]]:
    """Each store, with a way to read how long a key has left (seconds; None: no expiry)."""
    if request.param == "memory":
        memory = MemoryStore()

        def left(key: str) -> float | None:
            expires = memory._data[key][1]
            return None if expires is None else expires - time.time()

        yield memory, left
        return
    import redis

    store = RedisStore(redis_url)
    client = redis.Redis.from_url(redis_url)

    def pttl(key: str) -> float | None:
        ms = client.pttl("aisa:" + key)
        return None if ms == -1 else ms / 1000

    yield store, pttl
    store.close()
    client.close()


def test_values_come_back_as_they_went_in(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    store.set("i", 7)
    store.set("f", 0.1 + 0.2)
    store.set("s", "123")  # a string that looks like a number stays a string
    store.set("t", "a token")
    assert store.get_many(["i", "f", "s", "t", "absent"]) == [7, 0.1 + 0.2, "123", "a token", None]
    assert store.get_many([]) == []


def test_add_sets_only_an_absent_key(any_store: tuple[Store, Expiry]) -> None:
    store, left = any_store
    assert store.add("k", "first", ttl=60) is True
    assert store.add("k", "second", ttl=60) is False
    assert store.get_many(["k"]) == ["first"]
    assert 0 < (left("k") or 0) <= 60


def test_a_key_expires_after_its_ttl(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    store.set("short", 1, ttl=0.05)
    store.set("long", 1, ttl=60)
    time.sleep(0.2)
    assert store.get_many(["short", "long"]) == [None, 1]


def test_incr_sets_its_ttl_when_the_key_is_made_only(any_store: tuple[Store, Expiry]) -> None:
    store, left = any_store
    assert store.incr("n", 1, ttl=100) == 1
    time.sleep(0.05)
    assert store.incr("n", 2, ttl=100) == 3
    assert store.incr("n", 0.5, ttl=100) == 3.5
    remaining = left("n")
    assert remaining is not None and remaining <= 99.96  # not pushed back by later increments


def test_incr_within_refuses_what_would_go_over(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    assert store.incr_within("b", 0.03, 0.05, ttl=60) == pytest.approx(0.03)
    assert store.incr_within("b", 0.03, 0.05, ttl=60) == pytest.approx(-1 - 0.03)  # refused
    assert store.incr_within("b", 0.02, 0.05, ttl=60) == 0.03 + 0.02  # exactly the same float
    assert store.get_many(["b"]) == [0.03 + 0.02]


def test_ewma_starts_at_the_first_value(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    assert store.ewma("e", 10.0, 0.5, ttl=60) == 10.0
    assert store.ewma("e", 20.0, 0.5, ttl=60) == 15.0
    assert store.ewma("e", 0.1, 0.2, ttl=60) == 15.0 + 0.2 * (0.1 - 15.0)


def test_delete(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    store.set("a", 1)
    store.set("b", 2)
    store.delete(["a", "b", "never"])
    store.delete([])
    assert store.get_many(["a", "b"]) == [None, None]


def test_counters_in_a_map(any_store: tuple[Store, Expiry]) -> None:
    store, left = any_store
    assert store.get_fields("m") == {}
    assert store.incr_field("m", "x", 0.1, ttl=100) == 0.1
    assert store.incr_field("m", "x", 0.2, ttl=100) == 0.1 + 0.2
    assert store.incr_field("m", "y|z", 3, ttl=100) == 3
    assert store.get_fields("m") == {"x": 0.1 + 0.2, "y|z": 3}
    assert 0 < (left("m") or 0) <= 100


def test_rate_admit_takes_a_slot_and_a_turn_or_neither(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    second = 1_000_000  # one request a second, in microseconds
    assert store.rate_admit("r", "a", RateRule(2, 60, second, 1)) == 0.0
    wait = store.rate_admit("r", "b", RateRule(2, 60, second, 1))
    assert 0.9 < wait <= 1.0  # its turn is a second away...
    assert store.rate_in_flight("r") == 1  # ...and it took no slot meanwhile
    assert store.rate_admit("r", "c", RateRule(2, 60, 0, 1)) == 0.0  # no rate: only the slot
    full = store.rate_admit("r", "d", RateRule(2, 60, 0, 1))
    assert -60 <= full < 0  # every slot held: minus the time until the first lease expires
    store.rate_release("r", ["a"])
    assert store.rate_in_flight("r") == 1
    assert store.rate_admit("r", "d", RateRule(2, 60, 0, 1)) == 0.0


def test_leases_given_back_with_the_next_ask(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    assert store.rate_admit("r", "a", RateRule(1, 60, 0, 1)) == 0.0
    assert store.rate_admit("r", "b", RateRule(1, 60, 0, 1)) < 0  # full
    assert (
        store.rate_admit("r", "b", RateRule(1, 60, 0, 1), ["a"]) == 0.0
    )  # "a" goes first, "b" fits
    assert store.rate_in_flight("r") == 1
    assert store.rate_admit("r", "c", RateRule(1, 60, 10**9, 1), ["b"]) == 0.0
    assert (
        store.rate_admit("r", "d", RateRule(1, 60, 10**9, 1), ["c"]) > 0
    )  # refused for its turn...
    assert store.rate_in_flight("r") == 0  # ...but "c" was given back all the same
    store.rate_release("r", [])


def test_a_burst_lets_that_many_go_back_to_back(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    waits = [store.rate_admit("r", "", RateRule(0, 60, 1_000_000, 3)) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] > 0.9


def test_a_lease_expires_unless_renewed(any_store: tuple[Store, Expiry]) -> None:
    store, _ = any_store
    assert store.rate_admit("r", "kept", RateRule(2, 1.0, 0, 1)) == 0.0
    assert store.rate_admit("r", "lost", RateRule(2, 1.0, 0, 1)) == 0.0
    for _ in range(4):
        time.sleep(0.3)
        assert store.rate_renew("r", ["kept", "never-held"], 1.0) == 1
    assert store.rate_in_flight("r") == 1  # "lost" expired (1.2 s > 1 s); "kept" lives on
    assert store.rate_renew("r", ["lost"], 1.0) == 0
    assert store.rate_admit("r", "new", RateRule(2, 1.0, 0, 1)) == 0.0


def test_redis_keys_are_prefixed_and_all_expire(store: RedisStore, raw: Any) -> None:
    """A workload of every object that keeps state: nothing is left without an expiry."""
    health = ModelHealth(store=store, failure_threshold=1)
    ticket = health.admit(AttemptInfo("chat", "m"))
    health.record(ticket, AttemptReport("chat", "m", "error", 0, 0.1, error=RateLimitError("x")))
    budget = Budget(1.0, per="total", store=store, prices={"m": (1.0, 1.0)})
    budget.reserve(AttemptInfo("chat", "m", prompt_tokens=10, max_output_tokens=10))
    limiter = RateLimiter(600, 5, store=store)
    limiter.release(limiter.acquire())
    CostLedger(store, label="team").record("m", 0.5)
    store.set("plain", 1)
    keys = sorted(k.decode() for k in raw.keys("*"))
    assert len(keys) >= 6 and all(k.startswith("aisa:") for k in keys)
    assert [k for k in keys if raw.pttl(k) == -1] == []  # -1: no expiry (-2: gone since)


def test_redis_time_is_the_servers(store: RedisStore, raw: Any) -> None:
    seconds, micros = raw.time()
    assert abs(store.now() - (seconds + micros / 1e6)) < 1.0
    budget = Budget(1.0, per="day", store=store)
    assert budget._key(store.now()).startswith("budget:default:")


async def test_awaited_twins_match_the_blocking_calls(astore: RedisStore) -> None:
    assert await astore.aincr("n", 2, ttl=60) == 2
    assert astore.incr("n", 1, ttl=60) == 3
    assert await astore.aget_many(["n", "none"]) == [3, None]
    assert await astore.aadd("a", "x", ttl=60) is True
    await astore.aset("s", 1.5, ttl=60)
    assert await astore.aincr_within("b", 2, 1, ttl=60) == -1
    assert await astore.aewma("e", 4.0, 0.5) == 4.0
    assert await astore.aincr_field("m", "f", 1.25) == 1.25
    assert await astore.aget_fields("m") == {"f": 1.25}
    assert await astore.arate_admit("r", "t", RateRule(1, 60, 0, 1)) == 0.0
    assert await astore.arate_renew("r", ["t"], 60) == 1
    assert await astore.arate_in_flight("r") == 1
    await astore.arate_release("r", ["t"])
    await astore.adelete(["n", "a"])
    assert await astore.aget_many(["n", "a", "s"]) == [None, None, 1.5]
    assert abs(await astore.anow() - time.time()) < 5


async def test_arun_ops_awaits_the_twins(astore: RedisStore) -> None:
    """The logic of ``ModelHealth`` and ``Budget`` runs awaited on a ``RedisStore``: the
    blocking methods are never called (they would block the event loop)."""

    def refuse(*args: Any) -> None:
        raise AssertionError("a blocking store method was called from async code")

    for name in ("now", "get_many", "add", "set", "incr", "incr_within", "delete"):
        setattr(astore, name, refuse)
    health = ModelHealth(store=astore, failure_threshold=1)
    ticket = await health.aadmit(AttemptInfo("chat", "m"))
    report = AttemptReport("chat", "m", "error", 0, 0.1, error=RateLimitError("x"))
    await health.arecord(ticket, report)
    budget = Budget(1.0, store=astore, prices={"m": (1.0, 1.0)})
    reserved = await budget.areserve(AttemptInfo("chat", "m", max_output_tokens=100))
    await budget.asettle(reserved, AttemptReport("chat", "m", "ok", 0, 0.1, cost_usd=0.00005))
    for name in ("now", "get_many", "add", "set", "incr", "incr_within", "delete"):
        delattr(astore, name)  # the state, read back blocking
    assert health.state("m") == "cooling" and budget.spent() == pytest.approx(0.00005)


def test_the_same_logic_runs_on_both_stores(redis_url: str) -> None:
    memory, shared = MemoryStore(), RedisStore(redis_url)
    try:
        for store in (memory, shared):
            health = ModelHealth(store=store, failure_threshold=2)
            for _ in range(2):
                ticket = run_ops(health.admit_ops(AttemptInfo("chat", "m")))
                error = AttemptReport("chat", "m", "error", 0, 0.1, error=RateLimitError("x"))
                run_ops(health.record_ops(ticket, error))
        assert ModelHealth(store=memory).state("m") == ModelHealth(store=shared).state("m")
        assert ModelHealth(store=shared).state("m") == "cooling"
    finally:
        shared.close()


def test_a_pickled_store_points_at_the_same_server(store: RedisStore) -> None:
    store.set("k", "v")
    again = pickle.loads(pickle.dumps(store))
    assert isinstance(again, RedisStore) and again.url == store.url
    assert again.get_many(["k"]) == ["v"]
    again.close()
    health = pickle.loads(pickle.dumps(ModelHealth(store=store)))
    assert isinstance(health.store, RedisStore) and health.store.url == store.url


def test_no_password_in_anything_it_prints(caplog: pytest.LogCaptureFixture) -> None:
    url = "redis://:s3cret-pass@127.0.0.1:1/0"
    store = RedisStore(url, socket_timeout=0.2)
    assert "s3cret" not in repr(store) and ":***@" in repr(store)
    assert "s3cret" not in repr(RateLimiter(60, 2, store=store))
    with pytest.raises(StoreUnavailableError) as info:
        RedisStore(url, check=True, socket_timeout=0.2)
    assert "s3cret" not in str(info.value) and "127.0.0.1:1" in str(info.value)
    store.get_many(["k"])  # unreachable: carries on locally, with a warning
    assert caplog.records and all("s3cret" not in r.getMessage() for r in caplog.records)


def test_check_pings_the_server(redis_url: str) -> None:
    RedisStore(redis_url, check=True).close()
    with pytest.raises(StoreUnavailableError) as info:
        RedisStore("redis://127.0.0.1:1/0", check=True)
    assert not info.value.retryable and "AISA_REDIS_URL" in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"url": "http://127.0.0.1:6379"},
        {"url": "127.0.0.1:6379"},
        {"url": 6379},
        {"url": "redis://h", "on_store_error": "ignore"},
        {"url": "redis://h", "socket_timeout": 0},
        {"url": "redis://h", "default_ttl": -1},
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RedisStore(**options)


def test_default_store_follows_the_environment(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISA_REDIS_URL", raising=False)
    assert isinstance(default_store(), MemoryStore)
    assert default_store() is not default_store()  # in-process state is per object
    monkeypatch.setenv("AISA_REDIS_URL", redis_url)
    shared = default_store()
    assert isinstance(shared, RedisStore) and shared.url == redis_url
    assert default_store() is shared  # one client per URL and process
    assert RedisStore.from_url(redis_url).url == redis_url
    monkeypatch.setenv("AISA_REDIS_URL", "localhost:6379")
    with pytest.raises(ConfigurationError, match="AISA_REDIS_URL"):
        ModelHealth()  # a bad URL is refused when the object is made, naming the variable


def test_ttls_are_whole_milliseconds_at_least_one(store: RedisStore, raw: Any) -> None:
    store.set("k", 1, ttl=0.0001)
    assert raw.pttl("aisa:k") in (-2, 0, 1)
    store.incr("n", 1)  # no ttl: the default, renewed by each write
    assert math.isclose(raw.pttl("aisa:n") / 1000, store.default_ttl or 0, rel_tol=0.01)


def test_an_unrelated_event_loop_gets_its_own_client(store: RedisStore) -> None:
    async def one() -> float:
        value = await store.aincr("n")
        await store.aclose()
        return value

    assert asyncio.run(one()) == 1
    assert asyncio.run(one()) == 2


def test_a_forked_child_makes_its_own_connections(store: RedisStore) -> None:
    """A child made by ``fork`` must not share the parent's sockets (their replies would
    interleave): it opens its own, and the parent's keep working."""
    import os

    assert store.incr("n") == 1  # the parent's client is connected
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if its increments are right
        code = 0 if [store.incr("n") for _ in range(50)][-1] >= 51 else 1
        os._exit(code)
    parent = [store.incr("n") for _ in range(50)]
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent == sorted(parent) and store.get_many(["n"]) == [101]
