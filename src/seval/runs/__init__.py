"""Runs: the run folder (file names, typed summary, loading) and the one pipeline every command shares."""

from seval.runs.folder import RESULTS, RUN_META, STORE, SUMMARY, RunFolder, read_results
from seval.runs.pipeline import RunConfig, RunResult, execute, load_cases
from seval.runs.rejudge import rejudge

__all__ = ["RESULTS", "RUN_META", "STORE", "SUMMARY", "RunConfig", "RunFolder", "RunResult", "execute",
           "load_cases", "read_results", "rejudge"]
