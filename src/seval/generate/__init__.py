"""The expert testing LLM (M_t): taxonomy-driven base risk prompts and test selection.

    templates.py   generation requests (framings, personas, scenarios, question types, few-shot) from data/templates.yaml
    parse.py       the generator's answer -> a list of prompts (JSON, numbered fallback)
    generator.py   async generation with refusal/ramble retries and dropped counts; translation (from_id links)
    selection.py   the selection steps and their report (report.py); thresholds in data/selection.yaml
    dedup.py, textchecks.py, topic.py, harm.py, sampling.py   one filter each; embeddings.py: MiniLM or char n-grams
    pipeline.py    generate + select, as the CLI (`seval generate`) runs it; io.py: benchmark files
"""
