"""Re-judging a finished run with another critic: the run pipeline with the target offline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import Completion, GenParams, Message, TestCase
from seval.runs.config import ProgressFactory, RunConfig, RunResult, load_cases
from seval.runs.folder import RESULTS, RUN_META, STORE, RunFolder, read_json
from seval.runs.pipeline import _execute, _Plan


class _StoredTarget:
    """The target of a finished run, offline: its spec and hash (the store's keys), never called."""

    max_batch = 1
    default_concurrency = 64

    def __init__(self, meta: dict[str, Any]) -> None:
        self.spec = str(meta.get("target", "?"))
        self._hash = str(meta.get("target_hash", ""))
        self._config = meta.get("target_config") or {"spec": self.spec}

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def config_hash(self) -> str:
        return self._hash

    async def generate(self, messages: list[Message], params: GenParams) -> Completion:
        raise SevalError("re-judging never calls the target")  # the executor runs offline

    async def aclose(self) -> None:
        return None


def _as_backend(meta: dict[str, Any]) -> Any:
    from seval.models.base import ModelBackend

    class StoredTarget(_StoredTarget, ModelBackend):
        async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
            raise SevalError("re-judging never calls the target")

    return StoredTarget(meta)


async def rejudge(run_dir: str | Path, critic: Any, out: str | Path | None = None,
                  progress: ProgressFactory | None = None, critic_options: dict[str, Any] | None = None,
                  **where: Any) -> RunResult:
    """Judge a finished run's stored responses with another critic, without calling the target again.

    Verdicts go into the run's store under the new critic's hash (cached: a second re-judge is free; an
    `invalid` verdict is judged again) and into `out` (default RUN/rejudge-<critic>.jsonl) as result rows.
    """
    from seval.runs.folder import rejudge_name

    folder = RunFolder(run_dir)
    folder.require(RUN_META, STORE)
    meta = read_json(folder.meta_path, {})
    if "target_hash" not in meta:
        raise SevalError(f"{folder.meta_path}: no target_hash (written by an older seval?)")
    params = GenParams.from_dict(meta.get("params") or {})
    bench = Path(meta.get("bench") or "")
    key_fn: Callable[[TestCase], str] | None = None
    if bench.is_file():
        def cases() -> Iterator[TestCase]:
            return load_cases(bench, meta.get("lang"), meta.get("limit"))
    elif folder.results_path.is_file():
        # benchmark moved: the cases come from results.jsonl, keys from the store's unique response per case id
        from seval.runner.store import RunStore

        by_case: dict[str, list[str]] = {}
        st = RunStore(folder.store_path)
        try:
            for sr in st.iter_responses():
                by_case.setdefault(sr.case_id, []).append(sr.key)
        finally:
            st.close()
        fields = set(TestCase.__dataclass_fields__)

        def cases() -> Iterator[TestCase]:
            return (TestCase.from_dict({k: v for k, v in d.items() if k in fields}) for d in folder.iter_dicts())

        def key_fn(case: TestCase) -> str:
            keys = by_case.get(case.id, [])
            return keys[0] if len(keys) == 1 else ""
    else:
        raise SevalError(f"{folder.path}: neither the benchmark {bench} nor {RESULTS} can be read")
    out_path = Path(out) if out else folder.file(rejudge_name(critic.spec))
    meta = {**meta, "critic": critic.spec, "critic_hash": critic.config_hash(), "rejudged_from": str(folder.path)}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    config = RunConfig(params=params, **where)  # where: executor, ray_address, ray_workers, ray_batch
    config.check()
    recipe = None
    if config.executor == "ray":
        from seval.runs.ray_worker import Recipe

        recipe = Recipe.for_rejudge(meta, critic, critic_options)
    plan = _Plan(_as_backend(meta), critic, folder.path, cases, meta, offline=True, key_fn=key_fn,
                 rows_path=out_path, write_meta=False, close_target=False, recipe=recipe)
    return await _execute(plan, config, progress, None, None)
