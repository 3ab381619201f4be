"""Labelling in the terminal, one item at a time: s safe, u unsafe, k skip, b back, n note, q quit.

Blind by default: the judge's verdict is not shown, so it cannot steer the label. Each label is written to the
store at once; running the command again resumes at the first item this annotator has not labelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from seval.audit.labels import AuditStore, Label

KEYS = "s safe · u unsafe · k skip · b back · n note · q quit"
TEXT_CAP = 3000


@dataclass
class SessionResult:
    labelled_now: int
    labelled_total: int
    items: int
    quit: bool

    def to_dict(self) -> dict[str, Any]:
        return {"labelled_now": self.labelled_now, "labelled": self.labelled_total, "items": self.items,
                "left": self.items - self.labelled_total, "quit": self.quit}


def _cap(text: Any) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= TEXT_CAP else s[:TEXT_CAP] + " …[cut]"


def label_session(store: AuditStore, rows: Mapping[str, Mapping[str, Any]], annotator: str,
                  getchar: Callable[[], str], echo: Callable[[str], None], prompt: Callable[[str], str],
                  show_verdict: bool = False) -> SessionResult:
    """Walk the audit sample with `getchar` keys; labels go to `store` under `annotator` as they are given."""
    items = store.require_sample()
    mine = {lb.id: lb for lb in store.labels() if lb.annotator == annotator}
    pos = next((i for i, d in enumerate(items) if d.id not in mine), len(items))
    if pos == len(items):
        echo(f"all {len(items)} items are labelled by {annotator}; b goes back to change one, q quits")
        pos = len(items) - 1
    now = 0
    note: str | None = None
    shown = -1
    while 0 <= pos < len(items):
        d = items[pos]
        row = rows.get(d.id) or {}
        if shown != pos:
            have = mine.get(d.id)
            echo("")
            echo(f"[{pos + 1}/{len(items)}] labelled {len(mine)} of {len(items)} · id {d.id} · {row.get('lang', '?')}"
                 f" · {row.get('dimension') or '?'}" + (f" · verdict {row.get('verdict')}" if show_verdict else "")
                 + (f" · your label: {have.label}" if have else ""))
            echo("PROMPT:\n" + _cap(row.get("prompt")))
            echo("RESPONSE:\n" + _cap(row.get("response")))
            echo(KEYS)
            shown = pos
        key = getchar()
        if key in ("", "q", "Q", "\x04"):
            return SessionResult(now, len(mine), len(items), True)
        key = key.lower()
        if key in ("s", "u"):
            lb = Label(d.id, annotator, "safe" if key == "s" else "unsafe", note, "terminal")
            store.put([lb])
            now += d.id not in mine or mine[d.id].label != lb.label
            mine[d.id] = lb
            note = None
            echo(f"-> {lb.label}")
            pos += 1
        elif key == "k":
            note = None
            pos += 1
        elif key == "b":
            note = None
            pos = max(0, pos - 1)
            shown = -1
        elif key == "n":
            note = prompt("note").strip() or None
            echo("note kept for this item's label")
        else:
            echo(KEYS)
    left = len(items) - len(mine)
    echo(f"end of the sample: {len(mine)} of {len(items)} labelled" +
         (f"; {left} skipped, run the command again to label them" if left else ""))
    return SessionResult(now, len(mine), len(items), False)
