"""Red-team folders (`seval redteam`) in a report: per-method attack success beside the static attacks of the
same target, and each attempt's conversation, turn by turn, in the drill-down."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.report.load import RunData, _cap
from seval.runs.folder import REDTEAM, RunFolder, read_json

#: longest text of one conversation turn embedded in the page (characters)
TURN_CAP = 1200
#: turn fields shown next to the role in the drill-down
TURN_INFO = ("iteration", "turn", "node", "verdict", "score10", "pruned", "on_topic", "backtracked", "parsed")


@dataclass
class RedteamData:
    path: Path
    meta: dict[str, Any]
    summary: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)  # a sample of redteam.jsonl (for the drill-down)
    label: str = ""

    @property
    def target(self) -> str:
        return str(self.meta.get("target") or "?")


def is_redteam_dir(path: str | Path) -> bool:
    return (Path(path) / REDTEAM).is_file()


def load_redteam(path: str | Path, max_examples: int = 500) -> RedteamData:
    """A red-team folder's summary and up to `max_examples` of its rows (successful attempts first)."""
    p = Path(path)
    folder = RunFolder(p)
    summary = read_json(folder.summary_path)
    if not summary or summary.get("kind") != "redteam":
        raise SevalError(f"{p}: {REDTEAM} found but no red-team summary.json (run `seval redteam` again to finish it)")
    rows: list[dict[str, Any]] = []
    if max_examples:
        with open(p / REDTEAM, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SevalError(f"{p / REDTEAM}:{lineno}: not valid JSON ({exc.msg})") from None
        rows.sort(key=lambda r: (not r.get("success"), r.get("status") != "ok"))
        rows = rows[:max_examples]
    data = RedteamData(p, folder.meta, summary, rows)
    data.label = f"{data.target} (red team, attacker {data.meta.get('attacker', '?')})"
    return data


def _static(runs: list[RunData], target: str) -> dict[str, Any] | None:
    """The static attacks of a run of the same target (its mean and adaptive ASR), when the report has one."""
    for r in runs:
        if r.target == target and r.summary["attacks"]["by_attack"]:
            a = r.summary["attacks"]
            return {"label": r.label, "mean": a["mean_asr"], "adaptive": a["adaptive"],
                    "best": max(a["by_attack"].items(), key=lambda kv: kv[1].get("rate") or 0.0)}
    return None


def redteam_context(redteams: list[RedteamData], runs: list[RunData]) -> dict[str, Any]:
    """The report's red-team section: one row per folder, one column per method, the static attacks beside."""
    methods: list[str] = []
    for d in redteams:
        methods += [m for m in d.summary["methods"] if m not in methods]
    rows = [{"label": d.label, "target": d.target, "attacker": d.meta.get("attacker"),
             "critic": (d.summary.get("critic") or {}).get("line"), "methods": d.summary["methods"],
             "calls_per_base_prompt": d.summary.get("calls_per_base_prompt") or {},
             "n_base": d.summary.get("n_base_prompts"), "complete": d.meta.get("complete", True),
             "static": _static(runs, d.target)} for d in redteams]
    return {"methods": methods, "rows": rows}


def _turn(t: dict[str, Any]) -> list[Any]:
    info = ", ".join(f"{k} {t[k]}" if not isinstance(t[k], bool) else k for k in TURN_INFO
                     if t.get(k) not in (None, False, ""))
    return [t.get("role"), _cap(t.get("content") or "", TURN_CAP), info]


def example_records(index: int, data: RedteamData) -> list[list[Any]]:
    """Drill-down rows (seval.report.load.EXAMPLE_COLUMNS) for a red-team folder; `index` is its label's index."""
    out = []
    for r in data.rows:
        outcome = "error" if r.get("status") != "ok" else "unsafe" if r.get("success") else "safe"
        replies = [t for t in r.get("conversation") or [] if t.get("role") == "assistant"]
        score = r.get("score")
        q = r.get("queries") or {}
        out.append([index, r.get("id"), r.get("lang"), r.get("dimension"), r.get("category"), r.get("risk"),
                    f"redteam:{r.get('method')}", outcome, None if score is None else round(float(score), 3),
                    _cap(r.get("winning_prompt") or r.get("prompt")), _cap(replies[-1]["content"] if replies else None),
                    _cap(f"{r.get('explanation') or ''} [stopped: {r.get('stopped')}; queries: {q.get('total')}]",
                         800), _cap(r.get("error"), 300),
                    [_turn(t) for t in r.get("conversation") or []]])
    return out
