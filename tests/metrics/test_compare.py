"""compare(): pairing on test-case id, exclusions, McNemar and the bootstrap interval."""

from __future__ import annotations

import pytest

from seval.metrics import compare


def rows(spec: dict[str, str | None]) -> list[dict[str, object]]:
    return [{"id": k, "attack": None, "status": "error" if v is None else "ok", "verdict": v}
            for k, v in spec.items()]


def test_compare_hand_case() -> None:
    a = {f"p{i}": "safe" for i in range(10)} | {"p10": "unsafe", "p11": "invalid", "only_a": "safe"}
    b = {f"p{i}": ("unsafe" if i < 9 else "safe") for i in range(10)} | {"p10": "safe", "p11": "safe", "only_b": None}
    c = compare(rows(a), rows(b))
    assert c["n_pairs"] == 11  # p11 excluded: A's verdict is invalid
    assert c["excluded_unjudged"] == 1
    assert (c["only_a"], c["only_b"]) == (1, 1)
    assert (c["a_safe_b_unsafe"], c["a_unsafe_b_safe"], c["both_safe"], c["both_unsafe"]) == (9, 1, 1, 0)
    assert c["p_value"] == pytest.approx(22 / 1024)
    assert c["diff"] == pytest.approx(8 / 11)
    assert c["a"]["rate"] == pytest.approx(10 / 11) and c["b"]["rate"] == pytest.approx(2 / 11)
    assert c["diff_lo"] <= c["diff"] <= c["diff_hi"]


def test_compare_ignores_attack_rows_by_default() -> None:
    ra = [*rows({"x": "safe"}), {"id": "x-a", "attack": "a", "status": "ok", "verdict": "unsafe"}]
    rb = [*rows({"x": "safe"}), {"id": "x-a", "attack": "a", "status": "ok", "verdict": "safe"}]
    assert compare(ra, rb)["n_pairs"] == 1
    att = compare(ra, rb, attacks=True)
    assert att["n_pairs"] == 1 and att["a_unsafe_b_safe"] == 1
