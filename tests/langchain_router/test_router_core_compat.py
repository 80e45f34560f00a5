"""``{"key": ..., "input": ...}`` inputs behave exactly as with langchain-core's RouterRunnable.

Every test runs against both classes and compares what the caller sees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_core.runnables import RouterRunnable as CoreRouterRunnable
from langchain_core.runnables import RunnableGenerator, RunnableLambda

from langchain_aisa.router import RouterRunnable

Factory = Callable[[dict[str, Any]], Any]
FACTORIES: list[Factory] = [
    lambda runnables: CoreRouterRunnable(runnables),
    lambda runnables: RouterRunnable(runnables),
    lambda runnables: RouterRunnable(runnables=runnables),
]
IDS = ["core", "ours", "ours-runnables-kwarg"]


def _boom(x: int) -> int:
    raise ZeroDivisionError("boom")


def _chars(inputs: Iterator[str]) -> Iterator[str]:
    for text in inputs:
        yield from text


async def _achars(inputs: AsyncIterator[str]) -> AsyncIterator[str]:
    async for text in inputs:
        for char in text:
            yield char


@pytest.fixture(params=FACTORIES, ids=IDS)
def router(request: pytest.FixtureRequest) -> Any:
    make: Factory = request.param
    return make(
        {
            "add": RunnableLambda(lambda x: x + 1),
            "square": lambda x: x**2,
            "boom": _boom,
            "chars": RunnableGenerator(_chars, _achars),
        }
    )


def test_it_is_a_core_router() -> None:
    assert isinstance(RouterRunnable({"a": lambda x: x}), CoreRouterRunnable)


def test_invoke(router: Any) -> None:
    assert router.invoke({"key": "square", "input": 3}) == 9
    assert router.invoke({"key": "add", "input": 3}) == 4


async def test_ainvoke(router: Any) -> None:
    assert await router.ainvoke({"key": "square", "input": 4}) == 16


def test_batch_and_return_exceptions(router: Any) -> None:
    inputs = [{"key": "add", "input": 1}, {"key": "square", "input": 5}]
    assert router.batch(inputs) == [2, 25]
    assert router.batch(inputs, {"max_concurrency": 1}) == [2, 25]
    assert router.batch([]) == []
    mixed = router.batch([*inputs, {"key": "boom", "input": 0}], return_exceptions=True)
    assert mixed[:2] == [2, 25]
    assert isinstance(mixed[2], ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        router.batch([{"key": "boom", "input": 0}])


async def test_abatch(router: Any) -> None:
    inputs = [{"key": "add", "input": 1}, {"key": "square", "input": 5}]
    assert await router.abatch(inputs) == [2, 25]
    assert await router.abatch([]) == []
    mixed = await router.abatch([{"key": "boom", "input": 1}], return_exceptions=True)
    assert isinstance(mixed[0], ZeroDivisionError)


def test_stream(router: Any) -> None:
    assert list(router.stream({"key": "add", "input": 1})) == [2]
    assert list(router.stream({"key": "chars", "input": "abc"})) == ["a", "b", "c"]


async def test_astream(router: Any) -> None:
    assert [c async for c in router.astream({"key": "chars", "input": "ab"})] == ["a", "b"]


def test_unknown_key_raises_the_same_value_error(router: Any) -> None:
    message = "No runnable associated with key 'nope'"
    with pytest.raises(ValueError, match=message):
        router.invoke({"key": "nope", "input": 1})
    with pytest.raises(ValueError, match=message):
        list(router.stream({"key": "nope", "input": 1}))


async def test_unknown_key_raises_the_same_value_error_async(router: Any) -> None:
    message = "No runnable associated with key 'nope'"
    with pytest.raises(ValueError, match=message):
        await router.ainvoke({"key": "nope", "input": 1})
    with pytest.raises(ValueError, match=message):
        [c async for c in router.astream({"key": "nope", "input": 1})]


@pytest.mark.parametrize("make", FACTORIES, ids=IDS)
def test_batch_checks_every_key_before_running_any(make: Factory) -> None:
    seen: list[int] = []
    router = make({"record": RunnableLambda(lambda x: seen.append(x) or x)})
    inputs = [{"key": "record", "input": 1}, {"key": "nope", "input": 2}]
    with pytest.raises(ValueError, match="One or more keys do not have a corresponding runnable"):
        router.batch(inputs, return_exceptions=True)
    assert seen == []


async def test_abatch_checks_every_key_before_running_any(router: Any) -> None:
    with pytest.raises(ValueError, match="One or more keys do not have a corresponding runnable"):
        await router.abatch([{"key": "add", "input": 1}, {"key": "nope", "input": 2}])


def test_missing_input_is_a_key_error(router: Any) -> None:
    with pytest.raises(KeyError):
        router.invoke({"key": "add"})
    with pytest.raises(KeyError):
        router.batch([{"key": "add"}])


def test_config_specs_are_the_routes(router: Any) -> None:
    assert router.config_specs == []
