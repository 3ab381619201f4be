"""Records round-trip through dicts; stable hashes ignore key order."""

from __future__ import annotations

from seval.records import Completion, ErrorKind, GenParams, TestCase, Usage, Verdict, md5_hex, stable_hash


def test_round_trips() -> None:
    c = TestCase(id="a", prompt="p", lang="zh", attack="x", base_id="b", meta={"k": 1})
    assert TestCase.from_dict({**c.to_dict(), "unknown_future_field": 3}) == c
    comp = Completion(text="t", usage=Usage(3, 4), first_token_logprobs={"safe": -0.1})
    assert Completion.from_dict(comp.to_dict()) == comp
    v = Verdict(label="unsafe", score=0.9, tags=["CI"])
    assert Verdict.from_dict(v.to_dict()) == v and v.is_valid
    assert not Verdict(label="invalid").is_valid


def test_hashes() -> None:
    assert md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72"
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash(GenParams(temperature=0.0).to_dict()) != stable_hash(GenParams(temperature=0.7).to_dict())


def test_error_kinds_transient() -> None:
    assert ErrorKind.RATE_LIMITED.transient and ErrorKind.SERVER_ERROR.transient
    assert not ErrorKind.CONTENT_FILTER.transient and not ErrorKind.BAD_REQUEST.transient
