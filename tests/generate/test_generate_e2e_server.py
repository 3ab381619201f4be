"""The generate pipeline end to end with the embedded model (SmolLM2-135M) behind a real llama.cpp server.

The tiny model writes weak prompts; the point is that selection rejects the junk instead of passing it on.
"""

from __future__ import annotations

import itertools

import pytest

from seval.generate.dedup import normalise
from seval.generate.embeddings import Embedder
from seval.generate.generator import GenerateConfig
from seval.generate.harm import harm_scores
from seval.generate.pipeline import run_generate
from seval.generate.selection import SelectionConfig, on_topic_verdicts
from seval.generate.templates import starter_cases
from seval.generate.textchecks import language_ok, quality_ok, selection_config
from seval.models.base import resolve_model
from seval.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow


async def test_generate_with_embedded_model_through_server(llama_server: str) -> None:
    tax = load_taxonomy()
    risks = [tax.category("CI.drug_crimes").risks[0], tax.category("HS.cyberbullying").risks[0]]
    backend = resolve_model(f"openai-compatible:{llama_server}#smollm2", timeout=300.0)
    gcfg = GenerateConfig(per_risk=5, batch_size=5, max_attempts=2, max_tokens=200, seed=0, concurrency=1)
    emb = Embedder("chargram")
    scfg = SelectionConfig(embedding="chargram")
    starter = list(starter_cases())
    try:
        res = await run_generate(backend, tax, risks, ["en"], gcfg, scfg, existing=starter)
    finally:
        await backend.aclose()
    st = res.stats
    assert st.jobs == 2 and st.requested == 10
    assert 2 <= st.calls <= 4
    assert st.generated + st.dropped == st.requested
    # every failed attempt is a refusal, a ramble or a typed error (a timeout on a loaded machine)
    assert st.calls == 2 + st.retries and st.refusals + st.rambles + st.errors == st.retries + st.failed_jobs
    assert len(res.raw) == st.generated
    for c in res.raw:
        assert c.meta["generator"].startswith("openai-compatible:") and c.meta["template"].startswith("en.")
        assert c.risk in {r.id for r in risks}
    # the report chains and adds up
    rep = res.report
    assert rep is not None and rep.n_in == len(res.raw) and rep.n_out == len(res.kept)
    n = len(res.raw)
    for s in rep.steps:
        assert s.n_in == n and s.kept + s.dropped == n
        n = s.kept
    # everything kept passes the filters' own checks
    kept = res.kept
    starter_keys = {normalise(c.prompt) for c in starter}
    for c in kept:
        assert language_ok(c.prompt, c.lang)[0], c.prompt
        assert quality_ok(c.prompt, c.lang)[0], c.prompt
        assert normalise(c.prompt) not in starter_keys
    assert all(ok for ok, _ in on_topic_verdicts(kept, tax, emb, scfg))
    assert all(s >= scfg.harm_threshold for s in harm_scores(kept, tax, emb)[0])
    th = selection_config()["dedup"]["chargram"]["en"]
    if len(kept) > 1:
        sims = emb.sim_matrices([c.prompt for c in kept], [c.prompt for c in kept], "en")["chargram"]
        assert all(sims[i, j] < th for i, j in itertools.combinations(range(len(kept)), 2))
