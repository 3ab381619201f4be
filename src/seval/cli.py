"""The `seval` command line: a thin layer over the Python API. Subcommands load lazily so --help is fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from seval import __version__

#: command name -> "module:attribute" of a click command; each lives in seval/commands/<x>.py
LAZY_COMMANDS: dict[str, str] = {
    "run": "seval.commands.run:run_cmd",
    "taxonomy": "seval.commands.taxonomy:taxonomy_cmd",
    "bench": "seval.commands.bench:bench_group",
    "models": "seval.commands.models:models_cmd",
    "critic": "seval.commands.critic:critic_group",
    "attack": "seval.commands.attack:attack_group",
    "generate": "seval.commands.generate:generate_cmd",
    "defend": "seval.commands.defend:defend_cmd",
    "report": "seval.commands.report:report_cmd",
    "study": "seval.commands.study:study_group",
    # adaptive red teaming (issue 15)
    "redteam": "seval.commands.redteam:redteam_cmd",
    "audit": "seval.commands.audit:audit_cmd",  # issue 24
}

_HELP = {
    "run": "Run a benchmark against a target model and judge the answers.",
    "taxonomy": "Print the risk taxonomy (8 dimensions, 25 categories, fine-grained risks).",
    "bench": "Inspect benchmark files (counts per language, dimension, attack).",
    "models": "List the model backends and how to name a model.",
    "critic": "Validate critics against human labels, judge pairs, re-judge runs, list critics.",
    "attack": "Derive attack prompts from base prompts (the ten S-Eval attacks and extensions).",
    "generate": "Generate base risk prompts from the taxonomy with a generator model.",
    "defend": "Measure the constitutional defense: safety gained vs. over-refusal and cost.",
    "report": "Build an HTML/JSON/CSV/Markdown report and leaderboard from run directories.",
    "study": "Decoding, language and reasoning studies.",
    "redteam": "Adaptive red teaming: PAIR, TAP and Crescendo attacks driven by an attacker model.",
    "audit": "Audit a run's verdicts by hand and correct its safety score for the judge's error.",
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or its own --help is asked)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("seval.commands"):
                return _missing(cmd_name)
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # top-level help lists commands from the static table: no subcommand module is imported
        rows = [(name, _HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _missing(name: str) -> click.Command:
    @click.command(name=name, help=_HELP.get(name, ""))
    def cmd() -> None:
        raise click.ClickException(f"`seval {name}` is not available in this build")

    return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seval")
def cli() -> None:
    """seval: automated safety evaluation of LLMs (S-Eval), offline-first.

    Quick start: `seval run` evaluates the embedded model on the starter benchmark with the default critic.
    """


_TERMINATED: list[int] = []  # set once SIGTERM arrived (click turns the interrupt into an Abort on the way)


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM takes Ctrl-C's path: raised as SIGINT, asyncio cancels the run's main task (store committed) instead
    of an exception landing in whichever task happens to be running (which asyncio then logs with a traceback)."""
    import signal

    _TERMINATED.append(signum)
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):  # e.g. a background job
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def _interrupted() -> None:
    if _TERMINATED:
        click.echo("terminated (SIGTERM): everything finished so far is saved; run the same command to resume",
                   err=True)
        sys.exit(143)
    click.echo("interrupted: everything finished so far is saved; run the same command to resume", err=True)
    sys.exit(130)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user errors print one line and exit 2; Ctrl-C exits 130 and SIGTERM 143, work saved."""
    import signal
    import threading

    from seval.errors import SevalError

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return cli.main(args=argv, prog_name="seval", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _interrupted()
    except SevalError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
