"""Results people compare show as tables in Jupyter and as DataFrames, and stay lists."""

from __future__ import annotations

import pandas as pd

from aisa_core import AISAClient, AsyncAISAClient
from aisa_core.display import Comparison, ModelList, html_table
from aisa_core.standin import Fault, StandIn
from aisa_core.types import CompareResult, ModelInfo
from tests.without_pandas import tables_without_pandas

A, B = "gpt-4.1", "claude-haiku-4-5-20251001"


def test_compare_models_is_a_list_that_shows_a_table(aisa_standin: StandIn) -> None:
    aisa_standin.fail_model(B, Fault(status=503))
    client = AISAClient(api_key="k", base_url=aisa_standin.base_url, max_retries=0)
    results = client.compare_models("2+2?", [A, B])
    assert isinstance(results, Comparison) and isinstance(results, list)
    assert [r.model for r in results] == [A, B] and results[0].ok and not results[1].ok
    page = results._repr_html_()
    assert page.count("<tr>") == 3 and "<th" in page and "latency_s" in page
    assert "You said: 2+2?" in page and "UnknownModelError: " in page
    frame = results.to_pandas()
    assert list(frame["model"]) == [A, B] and list(frame["status"]) == ["ok", "error"]
    assert frame.loc[0, "completion_tokens"] == results[0].completion_tokens
    assert frame.loc[0, "answer"] == results[0].text


async def test_the_async_client_returns_the_same_shapes(aisa_standin: StandIn) -> None:
    aclient = AsyncAISAClient(api_key="k", base_url=aisa_standin.base_url)
    assert isinstance(await aclient.compare_models("hi", [A]), Comparison)
    models = await aclient.list_models()
    assert isinstance(models, ModelList) and models
    await aclient.aclose()


def test_the_model_list_is_a_table_with_prices(aisa_standin: StandIn) -> None:
    models = AISAClient(api_key="k", base_url=aisa_standin.base_url).list_models()
    assert isinstance(models, ModelList) and all(isinstance(m, ModelInfo) for m in models)
    frame = models.to_pandas()
    assert list(frame.columns)[:3] == ["id", "family", "context_window"]
    assert list(frame["id"]) == [m.id for m in models]
    assert models._repr_html_().count("<tr>") == len(models) + 1


def test_everything_in_a_table_is_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    row = CompareResult(model=hostile, ok=False, latency_s=0.1, error=hostile, error_type="E&Co")
    page = Comparison([row])._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "E&amp;Co" in page
    page = ModelList([ModelInfo(id=hostile)])._repr_html_()
    assert "<script>" not in page
    page = html_table(["<b>"], [["<i>", None, 3, True]], caption="<u>")
    assert "<b>" not in page and "<i>" not in page and "<u>" not in page
    assert ">yes<" in page and 'text-align:right">3<' in page


def test_pandas_is_never_required() -> None:
    setup = """
        from aisa_core.display import ModelList
        from aisa_core.types import ModelInfo
    """
    shown = tables_without_pandas(setup, "[ModelList([ModelInfo(id='m')])]")
    assert shown == ["to_pandas() needs pandas: pip install pandas"]
    assert pd.__name__ == "pandas"  # installed here, for the tests above
