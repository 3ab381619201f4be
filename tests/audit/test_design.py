"""The sampling design: every stratum represented, more from uncertain strata, weights N_h / n_h, seeded."""

from __future__ import annotations

import pytest

from seval.audit.design import UNCERTAIN_BOOST, allocate, draw, parse_strata, stratum_of
from seval.errors import SevalError


def _rows(n: int) -> list[dict[str, object]]:
    return [{"id": f"r{i}", "verdict": "unsafe" if i % 4 == 0 else "safe", "lang": "zh" if i % 2 else "en",
             "flags": ["uncertain"] if i % 10 == 3 else [], "dimension": "CI"} for i in range(n)]


def test_every_stratum_is_represented_and_weights_invert_the_probability() -> None:
    rows = [*_rows(1000), {"id": "rare", "verdict": "unsafe", "lang": "zh", "flags": ["uncertain"]}]
    drawn = draw(rows, 60, ("verdict", "lang", "uncertain"), seed=1)
    assert len(drawn) == 60 and len({d.id for d in drawn}) == 60
    strata = {stratum_of(r, ("verdict", "lang", "uncertain")) for r in rows}
    assert {d.stratum for d in drawn} == strata
    assert "rare" in {d.id for d in drawn}
    for d in drawn:  # the weights of a stratum's draws add up to its size
        assert sum(x.weight for x in drawn if x.stratum == d.stratum) == pytest.approx(d.stratum_size)


def test_uncertain_strata_are_drawn_more_often_per_row() -> None:
    sizes, boosts = [900, 100], [1.0, UNCERTAIN_BOOST]
    got = allocate(sizes, boosts, 100)
    assert sum(got) == 100
    assert got[1] / sizes[1] > 2 * got[0] / sizes[0]


def test_the_same_seed_draws_the_same_sample_and_another_seed_another() -> None:
    rows = _rows(500)
    a, b, c = (draw(rows, 40, seed=s) for s in (7, 7, 8))
    assert [d.id for d in a] == [d.id for d in b] != [d.id for d in c]


def test_allocation_never_exceeds_a_stratum_and_too_small_a_sample_is_an_error() -> None:
    small, big = allocate([3, 1000], [1.0, 1.0], 50)
    assert 1 <= small <= 3 and small + big == 50
    assert allocate([2, 2], [1.0, 1.0], 10) == [2, 2]
    with pytest.raises(SevalError, match="3 strata"):
        allocate([5, 5, 5], [1.0] * 3, 2)
    with pytest.raises(SevalError, match="unknown stratum colour"):
        parse_strata("verdict,colour")
    with pytest.raises(SevalError, match="nothing to audit"):
        draw([{"id": "a", "verdict": "invalid"}, {"id": "b", "verdict": "unsafe", "attack": "x"}], 5)
