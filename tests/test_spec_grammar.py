"""seval.spec: one grammar, one value typing and one error style for model, critic, defense and -o specs."""

from __future__ import annotations

import pytest

from seval.defense.spec import parse_defense_spec
from seval.errors import SevalError
from seval.spec import parse_options, parse_spec, parse_value, split_top


def test_values_are_typed_the_same_everywhere() -> None:
    assert [parse_value(v) for v in ("16", "0.5", "true", "False", "rule")] == [16, 0.5, True, False, "rule"]
    assert parse_options(("concurrency=16", "fallback=openai:gpt-4o-mini")) == {
        "concurrency": 16, "fallback": "openai:gpt-4o-mini"}
    assert parse_defense_spec("constitution:default?retries=2&threshold=0.4")["retries"] == 2


def test_spec_parts_and_alternatives() -> None:
    s = parse_spec("llm:openai:gpt-4o-mini|ollama:qwen2.5", "critic")
    assert (s.name, s.body) == ("llm", "openai:gpt-4o-mini|ollama:qwen2.5")
    assert s.alternatives() == ["openai:gpt-4o-mini", "ollama:qwen2.5"]
    url = parse_spec("openai-compatible:http://h:8000/v1?x=1#m")  # a model URL keeps its '?'
    assert url.body == "http://h:8000/v1?x=1#m" and url.options == {}
    assert split_top("a,ensemble:majority:(rule,embedded),c", ",") == ["a", "ensemble:majority:(rule,embedded)", "c"]


@pytest.mark.parametrize(("call", "msg"), [
    (lambda: parse_options(("concurrency",), "critic option"), r"bad critic option spec '-o concurrency': expected key=value"),
    (lambda: parse_options(("=3",)), "expected key=value"),
    (lambda: parse_defense_spec("constitution:default?nope=1"), r"bad defense spec .*unknown option 'nope'; valid:"),
    (lambda: parse_defense_spec("constitution:default?retries="), "option 'retries' needs a value"),
    (lambda: parse_defense_spec("constitution:default?retries=x"), "retries must be an integer"),
    (lambda: parse_defense_spec("rules:default"), r"bad defense spec 'rules:default': expected constitution:"),
    (lambda: parse_spec(":x", "model"), "missing the name"),
    (lambda: parse_spec("  ", "critic"), "empty critic spec"),
])
def test_one_error_style(call, msg: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SevalError, match=msg):
        call()


def test_one_template_filler() -> None:
    """seval.templating.fill: one pass (braces in values stay), unknown fields kept, or an error when strict."""
    from seval.attacks._common import fill as attack_fill
    from seval.critic.llm import render
    from seval.templating import fill

    assert attack_fill is fill
    assert fill("Q: {question} {other}", question="say {other}") == "Q: say {other} {other}"
    assert render("<{x}>", {"x": "{x}"}) == "<{x}>"
    with pytest.raises(SevalError, match=r"template field \{missing\} has no value"):
        fill("{missing}", {"a": 1}, strict=True)
