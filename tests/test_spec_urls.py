"""Target URLs (seval.spec.check_url / redact_url): a port out of range or a URL without a host is a one-line
error when the target is parsed; userinfo (user:KEY@) never reaches a file or a message, but the request
still carries it (issue 23)."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from seval.cli import cli
from seval.errors import SevalError
from seval.models.base import resolve_model
from seval.runner.faultserver import SpawnedServer
from seval.spec import redact_url


@pytest.mark.parametrize(("url", "msg"), [
    ("http://127.0.0.1:99999/v1", "port 99999 is out of range"),
    ("http://127.0.0.1:0/v1", "port 0 is out of range"),
    ("http://127.0.0.1:abc/v1", "port 'abc' is not a number"),
    ("http:///v1", "no host"),
    ("ftp://127.0.0.1/v1", "must start with http:// or https://"),
])
def test_a_bad_target_url_is_rejected_when_parsed(url: str, msg: str) -> None:
    with pytest.raises(SevalError, match=msg) as err:
        resolve_model(f"openai-compatible:{url}#m")
    assert "\n" not in str(err.value)


def test_redact_url_strips_userinfo_anywhere_in_a_text() -> None:
    assert redact_url("http://user:KEY@h:8000/v1") == "http://h:8000/v1"
    assert redact_url("llm:openai-compatible:https://:sk-1@h/v1#m|ollama:x") == "llm:openai-compatible:https://h/v1#m|ollama:x"
    assert redact_url("no url here user:x@y") == "no url here user:x@y"


def test_userinfo_goes_in_the_request_but_not_in_the_spec_or_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEVAL_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    m = resolve_model("openai-compatible:http://alice:SECRETKEY@127.0.0.1:8000/v1#m")
    assert "SECRETKEY" not in m.spec and "SECRETKEY" not in repr(m.config()) and "SECRETKEY" not in repr(m)
    assert m.base_url == "http://127.0.0.1:8000/v1"  # type: ignore[attr-defined]
    auth = m._headers()["Authorization"]  # type: ignore[attr-defined]
    assert auth == "Basic " + base64.b64encode(b"alice:SECRETKEY").decode()
    with pytest.raises(SevalError) as err:
        resolve_model("openai-compatible:http://alice:SECRETKEY@127.0.0.1:8000/v1")  # no '#model'
    assert "SECRETKEY" not in str(err.value)


def test_no_file_of_a_run_holds_the_url_userinfo(fault: SpawnedServer, tmp_path: Path) -> None:
    from seval.io import starter_path

    url = fault.url.replace("http://", "http://alice:SECRETKEY@")
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["run", "--target", f"openai-compatible:{url}#fault", "--bench",
                                   str(starter_path()), "--limit", "5", "--critic", "rule", "--out", str(out),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    assert "SECRETKEY" not in res.output
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"results.jsonl", "summary.json", "run.json", "store.sqlite"} <= {p.name for p in files}
    for p in files:
        assert b"SECRETKEY" not in p.read_bytes(), p
    with sqlite3.connect(out / "store.sqlite") as db:
        assert all("SECRETKEY" not in t for (t,) in db.execute("SELECT target FROM responses"))
    assert fault.stats()["requests"] == 5
