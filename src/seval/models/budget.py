"""Tokens, cost and budgets: a price table (data/prices.yaml, overridable), a per-model usage meter, and
the `--max-requests` / `--max-cost` limits that stop a run cleanly and resumably.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.retry import BudgetReached


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M input (prompt) and output (completion) tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


FREE = Price(0.0, 0.0)


class PriceTable:
    """Model name -> Price; exact name, then without a provider/ prefix, then the longest matching prefix."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = {k.lower(): v for k, v in prices.items()}

    @classmethod
    def from_yaml_text(cls, text: str, where: str) -> PriceTable:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise SevalError(f"{where}: not valid YAML: {exc}") from None
        models = data.get("models", data) if isinstance(data, dict) else None
        if not isinstance(models, dict):
            raise SevalError(f"{where}: expected a mapping 'models: {{name: {{input: USD, output: USD}}}}'")
        out: dict[str, Price] = {}
        for name, p in models.items():
            if not isinstance(p, dict) or "input" not in p or "output" not in p:
                raise SevalError(f"{where}: model {name!r} needs 'input' and 'output' prices (USD per 1M tokens)")
            try:
                out[str(name)] = Price(float(p["input"]), float(p["output"]))
            except (TypeError, ValueError):
                raise SevalError(f"{where}: model {name!r}: prices must be numbers") from None
        return cls(out)

    @classmethod
    def default(cls) -> PriceTable:
        text = resources.files("seval.models").joinpath("data/prices.yaml").read_text("utf-8")
        return cls.from_yaml_text(text, "seval/models/data/prices.yaml")

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """The packaged table, with the entries of `path` (same format) on top."""
        table = cls.default()
        if path:
            p = Path(path)
            if not p.is_file():
                raise SevalError(f"price file not found: {p}")
            table.prices.update(cls.from_yaml_text(p.read_text("utf-8"), str(p)).prices)
        return table

    def lookup(self, model: str) -> Price | None:
        name = model.lower().strip()
        if name in self.prices:
            return self.prices[name]
        short = name.rsplit("/", 1)[-1].split(":", 1)[0]
        if short in self.prices:
            return self.prices[short]
        best = max((k for k in self.prices if short.startswith(k)), key=len, default=None)
        return self.prices[best] if best else None


def model_name(backend: Any) -> str:
    """The name a price is looked up by: the API model name, through wrappers (defenses)."""
    b = backend
    for _ in range(5):
        name = getattr(b, "model", None)
        if isinstance(name, str) and name:
            return name
        inner = getattr(b, "inner", None)
        if inner is None:
            break
        b = inner
    return str(getattr(backend, "spec", "model"))


def is_in_process(backend: Any) -> bool:
    spec = str(getattr(backend, "spec", ""))
    b = backend
    for _ in range(5):
        spec = str(getattr(b, "spec", spec))
        if spec.startswith(("local:", "llama-cpp:", "hf:", "transformers:")):
            return True
        if getattr(b, "inner", None) is None:
            break
        b = b.inner
    return False


@dataclass
class ModelUsage:
    requests: int = 0  # calls sent (retries included)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # None: no price known for this model
    retries: int = 0  # extra sends after a transient error
    errors: int = 0  # sends that ended in an error

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
                "retries": self.retries, "errors": self.errors}


@dataclass
class Meter:
    """Per-model and per-role usage and cost for one run (this invocation), and the budget that stops it.

    Every model call of the run is counted here, whatever its role (target, judge, generator, rewriter,
    router, defense), so `--max-requests` and `--max-cost` bound the whole run.
    """

    max_requests: int | None = None
    max_cost: float | None = None
    models: dict[str, ModelUsage] = field(default_factory=dict)
    prices: dict[str, Price | None] = field(default_factory=dict)
    roles: dict[str, ModelUsage] = field(default_factory=dict)
    role_of: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    cost_usd: float = 0.0
    in_flight: int = 0

    def register(self, name: str, price: Price | None, role: str = "target") -> None:
        self.prices[name] = price
        self.role_of[name] = role
        usage = self.models.setdefault(name, ModelUsage())
        role_usage = self.roles.setdefault(role, ModelUsage())
        if price is None:
            usage.cost_usd = None
            role_usage.cost_usd = None
        if price is None and self.max_cost is not None:
            raise SevalError(f"--max-cost needs a price for model {name!r}, which the price table does not "
                             "know: give --price-in/--price-out (USD per 1M tokens) or --prices FILE")

    def _usages(self, name: str) -> tuple[ModelUsage, ModelUsage]:
        return self.models[name], self.roles[self.role_of.get(name, "target")]

    def check(self) -> None:
        """Raise BudgetReached when no further request may be sent."""
        if self.max_requests is not None and self.requests >= self.max_requests:
            raise BudgetReached(f"reached --max-requests {self.max_requests}")
        if self.max_cost is not None:
            answered = self.requests - self.in_flight
            avg = self.cost_usd / answered if answered else 0.0  # what each request in flight will likely cost
            if self.cost_usd + avg * self.in_flight >= self.max_cost:
                raise BudgetReached(f"reached --max-cost ${self.max_cost:g} (spent ${self.cost_usd:.4f})")

    def sent(self, name: str) -> None:
        self.requests += 1
        self.in_flight += 1
        for u in self._usages(name):
            u.requests += 1

    def answered(self, name: str, prompt_tokens: int, completion_tokens: int, error: bool = False) -> None:
        self.in_flight -= 1
        price = self.prices.get(name)
        c = price.cost(prompt_tokens, completion_tokens) if price is not None else 0.0
        for u in self._usages(name):
            u.prompt_tokens += prompt_tokens
            u.completion_tokens += completion_tokens
            u.errors += error
            if price is not None and u.cost_usd is not None:
                u.cost_usd += c
        if price is not None:
            self.cost_usd += c

    def retried(self, name: str) -> None:
        for u in self._usages(name):
            u.retries += 1

    @property
    def tokens(self) -> tuple[int, int]:
        return (sum(u.prompt_tokens for u in self.models.values()),
                sum(u.completion_tokens for u in self.models.values()))

    @property
    def cost_known(self) -> bool:
        return all(u.cost_usd is not None for u in self.models.values())

    def usage_by_role(self) -> dict[str, dict[str, float | int | None]]:
        """{role: {requests, prompt_tokens, completion_tokens, cost_usd, retries, errors}} for the summary."""
        return {role: u.to_dict() for role, u in sorted(self.roles.items())}

    def to_dict(self) -> dict[str, Any]:
        pt, ct = self.tokens
        return {"requests": self.requests, "prompt_tokens": pt, "completion_tokens": ct,
                "cost_usd": round(self.cost_usd, 6) if self.cost_known else None,
                "models": {k: v.to_dict() for k, v in self.models.items()},
                "roles": self.usage_by_role(),
                "max_requests": self.max_requests, "max_cost": self.max_cost}
