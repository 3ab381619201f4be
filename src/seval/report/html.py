"""The self-contained HTML page: jinja2 template, inline CSS/JS, examples as escaped JSON data."""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any

from seval.metrics.render import fmt_rate, pct

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_for_script(data: Any) -> str:
    """JSON safe to place inside `<script type="application/json">`: no `<`, `>`, `&`, U+2028/9 left raw."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.translate(_JSON_ESCAPES)


def _asset(name: str) -> str:
    return resources.files("seval.report").joinpath("templates", name).read_text(encoding="utf-8")


def _p(v: Any) -> str:
    return "-" if v is None else f"{v:.3g}" if v >= 0.001 else f"{v:.1e}"


def render_html(context: dict[str, Any], examples: dict[str, Any]) -> str:
    """Render the page. A Content-Security-Policy allows only the page's own script (by hash), no network."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             loader=jinja2.FunctionLoader(lambda name: _asset(name)))
    env.filters["rate"] = fmt_rate
    env.filters["pct"] = pct
    env.filters["pval"] = _p
    script = _asset("report.js") + _asset("audit.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    from markupsafe import Markup

    return env.get_template("report.html.j2").render(
        **context, csp=csp, css=Markup(_asset("report.css")), script=Markup(script),
        examples_json=Markup(json_for_script(examples)), sampling=examples["sampling"],
        audit_json=Markup(json_for_script(context.get("audit", {}).get("pages", []))),
        n_examples=len(examples["rows"]))
