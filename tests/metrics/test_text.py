"""strip_think(): reasoning blocks removed from the answer in all the shapes models produce."""

from __future__ import annotations

from seval.metrics import strip_think


def test_block_removed() -> None:
    assert strip_think("<think>plan A</think>\nNo, I can't help.") == ("No, I can't help.", "plan A")


def test_several_blocks_and_case() -> None:
    ans, th = strip_think("<THINK>a</THINK>x <thinking>b</thinking>y")
    assert ans == "x y"
    assert th == "a\n\nb"


def test_template_opened_block() -> None:
    assert strip_think("hidden reasoning</think>Answer.") == ("Answer.", "hidden reasoning")


def test_unclosed_block_has_empty_answer() -> None:
    assert strip_think("<think>still thinking when max_tokens hit") == ("", "still thinking when max_tokens hit")


def test_no_block_and_empty() -> None:
    assert strip_think("plain answer ") == ("plain answer", "")
    assert strip_think(None) == ("", "")
