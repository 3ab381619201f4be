"""The price table (packaged YAML, file overrides, lookups) and the per-model meter behind --max-cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from seval.errors import SevalError
from seval.models.budget import Meter, Price, PriceTable, is_in_process, model_name
from seval.models.retry import BudgetReached


def test_packaged_table_lookups() -> None:
    t = PriceTable.default()
    assert t.lookup("gpt-4o-mini") == Price(0.15, 0.60)
    assert t.lookup("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60)  # longest prefix, not gpt-4o
    assert t.lookup("gpt-4o-2024-08-06") == Price(2.50, 10.00)
    assert t.lookup("openai/GPT-4o-mini") == Price(0.15, 0.60)  # provider prefix, case
    assert t.lookup("my-local-finetune") is None


def test_file_overrides_and_bad_files(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("models:\n  gpt-4o-mini: {input: 1, output: 2}\n  house-model: {input: 0.5, output: 0.5}\n")
    t = PriceTable.load(f)
    assert t.lookup("gpt-4o-mini") == Price(1, 2) and t.lookup("house-model-v2") == Price(0.5, 0.5)
    assert t.lookup("gpt-4o") == Price(2.5, 10)  # the rest of the packaged table stays
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  x: {input: 1}\n")
    with pytest.raises(SevalError, match="needs 'input' and 'output'"):
        PriceTable.load(bad)
    with pytest.raises(SevalError, match="price file not found"):
        PriceTable.load(tmp_path / "missing.yaml")


def test_meter_costs_and_budgets() -> None:
    m = Meter(max_requests=3)
    m.register("a", Price(1.0, 2.0))
    m.register("b", None)
    for name in ("a", "b", "a"):
        m.check()
        m.sent(name)
        m.answered(name, 1000, 500)
    with pytest.raises(BudgetReached, match="max-requests 3"):
        m.check()
    d = m.to_dict()
    assert d["models"]["a"] == {"requests": 2, "prompt_tokens": 2000, "completion_tokens": 1000,
                                "cost_usd": pytest.approx(0.004), "retries": 0, "errors": 0}
    assert d["models"]["b"]["cost_usd"] is None and d["cost_usd"] is None  # unknown price: not a fake 0
    assert d["prompt_tokens"] == 3000
    priced = Meter(max_cost=0.01)
    with pytest.raises(SevalError, match="needs a price"):
        priced.register("b", None)


def test_max_cost_counts_requests_in_flight() -> None:
    m = Meter(max_cost=0.010)
    m.register("a", Price(1.0, 1.0))
    m.sent("a")
    m.answered("a", 2000, 0)  # $0.002 per request
    m.check()
    for _ in range(4):
        m.sent("a")  # 4 in flight: expected to cost another $0.008
    with pytest.raises(BudgetReached, match="max-cost"):
        m.check()


def test_model_names_through_wrappers() -> None:
    class Inner:
        spec = "openai:gpt-4o-mini"
        model = "gpt-4o-mini"

    class Wrapped:
        spec = "defended"
        inner = Inner()

    class Local:
        spec = "local:smollm2"

    assert model_name(Wrapped()) == "gpt-4o-mini" and model_name(Local()) == "local:smollm2"
    assert is_in_process(Local()) and not is_in_process(Wrapped())
