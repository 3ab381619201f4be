"""The drill-down script, run by node against a tiny DOM stand-in: a red-team example shows its conversation
turn by turn, as text only (no browser needed; skipped without node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from seval.report.load import EXAMPLE_COLUMNS

DOM = r"""
function Node(tag) { this.tag = tag; this.children = []; this.className = ""; this.textContent = "";
  this.attrs = {}; this.value = "\u0000all"; this.disabled = false; }
Node.prototype.appendChild = function (c) { if (c.tag === "#frag") { c.children.forEach(x => this.children.push(x)); }
  else { this.children.push(c); } return c; };
Node.prototype.removeChild = function (c) { this.children.splice(this.children.indexOf(c), 1); };
Object.defineProperty(Node.prototype, "firstChild", { get() { return this.children[0] || null; } });
Node.prototype.addEventListener = function () {};
Node.prototype.setAttribute = function (k, v) { this.attrs[k] = v; };
Node.prototype.getAttribute = function (k) { return this.attrs[k]; };
Object.defineProperty(Node.prototype, "innerHTML", { set() { throw new Error("innerHTML used"); } });
const ids = {};
global.document = {
  getElementById(id) { return ids[id] || (ids[id] = new Node("div")); },
  createElement(tag) { return new Node(tag); },
  createDocumentFragment() { return new Node("#frag"); },
};
ids["seval-examples"] = new Node("script");
ids["seval-examples"].textContent = require("fs").readFileSync(process.argv[2], "utf8");
require(process.argv[3]);
function walk(n, out) { out.push([n.tag, n.className, n.textContent]); n.children.forEach(c => walk(c, out)); return out; }
process.stdout.write(JSON.stringify(walk(ids["ex-list"], [])));
"""


def test_red_team_conversation_is_rendered_turn_by_turn(tmp_path: Path) -> None:
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    turns = [["user", "<b>first message</b>", "iteration 1"], ["assistant", "a reply", "iteration 1, verdict safe"]]
    row = [0, "b0::pair", "en", "CI", "CI.x", "CI.x.y", "redteam:pair", "safe", 0.2, "first message", "a reply",
           "fake", None, turns]
    assert len(row) == len(EXAMPLE_COLUMNS)
    data = {"columns": EXAMPLE_COLUMNS, "runs": ["m (red team)"], "rows": [row], "sampling": []}
    (tmp_path / "data.json").write_text(json.dumps(data), "utf-8")
    (tmp_path / "dom.js").write_text(DOM, "utf-8")
    script = tmp_path / "report.js"
    script.write_text(resources.files("seval.report").joinpath("templates", "report.js").read_text("utf-8"), "utf-8")
    out = subprocess.run([node, str(tmp_path / "dom.js"), str(tmp_path / "data.json"), str(script)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    texts = [t for _, _, t in nodes]
    assert any(t.startswith("Conversation, turn by turn (2 turns)") for t in texts)
    assert "user (iteration 1)" in texts and "assistant (iteration 1, verdict safe)" in texts
    assert ["pre", "turn", "<b>first message</b>"] in nodes  # model text as text, never markup
