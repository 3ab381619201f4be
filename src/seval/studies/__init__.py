"""Studies over several runs: decoding parameters, language (zh vs en) and reasoning (chain of thought)."""
