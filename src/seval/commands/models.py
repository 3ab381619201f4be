"""`seval models`: the registered backends and how to name a model."""

from __future__ import annotations

import click

EXAMPLES = {
    "local": "local:smollm2  (embedded SmolLM2-135M-Instruct, offline)",
    "llama-cpp": "llama-cpp:/path/to/model.gguf  (in-process llama.cpp)",
    "openai-compatible": "openai-compatible:http://127.0.0.1:8000/v1#<model>  (vLLM, llama.cpp server, any API; "
                         "key from $SEVAL_API_KEY or $OPENAI_API_KEY)",
    "openai": "openai:gpt-4o-mini  (key from $OPENAI_API_KEY; $OPENAI_BASE_URL to override)",
    "ollama": "ollama:qwen2.5  ($OLLAMA_HOST, default http://127.0.0.1:11434)",
}


@click.command("models")
def models_cmd() -> None:
    """List model backends with an example model string each."""
    from seval.models.base import MODELS

    for name in MODELS.names():
        click.echo(f"{name:18} {EXAMPLES.get(name, '')}")
