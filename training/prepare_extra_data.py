"""Rebuild the extra critic training files from pinned git mirrors of public data sets.

Why: the critic's development data (../shared/data) has almost no helpful answers to harmless questions
and few Chinese sources. This script turns permissively licensed public sets (see training/DATA_SOURCES.md)
into the same JSONL row format, one file per source and language, deterministically: every source is
read at a fixed commit, sampling is seeded, and XSTest prompts (reserved for measurement) are dropped.

    python training/prepare_extra_data.py --mirrors /work/.mirror --out training/cache/extra
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seval.defense.lang import detect_lang as seval_detect_lang  # one language check for all of seval

MAX_ROWS = 20_000
SEED = 20261202
XSTEST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prompts_xstest_prompts.jsonl"

Row = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """One public data set at one commit, and the function that turns its files into rows."""

    key: str  # short name used in file names and ids
    repo: str  # owner/name on GitHub
    commit: str  # pinned commit (40 hex)
    licence: str  # SPDX id, checked by hand in the licence file named below
    licence_file: str
    kind: str  # "judge" (prompt, response) or "prompts" (prompt-only)
    parse: Callable[[Source, Mirror], Iterator[Row]]
    description: str
    max_rows: int = MAX_ROWS


class Mirror:
    """Read-only access to one bare git mirror at one commit."""

    def __init__(self, root: Path, repo: str, commit: str) -> None:
        self.git_dir = root / repo.replace("/", "+") / "repo"
        self.commit = commit
        if not self.git_dir.is_dir():
            raise SystemExit(f"mirror missing: {self.git_dir} (fetch github:{repo} first)")

    def read(self, path: str) -> str:
        """Text of one file at the pinned commit."""
        return self.read_bytes(path).decode("utf-8-sig")

    def read_bytes(self, path: str) -> bytes:
        """Raw bytes of one file at the pinned commit; an LFS pointer is refused."""
        out = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "show", f"{self.commit}:{path}"],
            capture_output=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(
                f"{self.git_dir}: cannot read {path}@{self.commit[:7]}: {out.stderr.decode().strip()}"
            )
        if out.stdout.startswith(b"version https://git-lfs"):
            raise SystemExit(f"{path} is a Git LFS pointer, not data")
        return out.stdout

    def read_many(self, paths: list[str]) -> Iterator[tuple[str, bytes]]:
        """Raw bytes of many files at the pinned commit, through one `git cat-file --batch`."""
        request = "".join(f"{self.commit}:{p}\n" for p in paths).encode()
        out = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "cat-file", "--batch"],
            input=request,
            capture_output=True,
            check=True,
        ).stdout
        pos = 0
        for path in paths:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].split()
            if len(header) != 3:
                raise SystemExit(f"{self.git_dir}: cannot read {path}@{self.commit[:7]}")
            size = int(header[2])
            yield path, out[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1

    def jsonl(self, path: str) -> Iterator[dict[str, Any]]:
        for line in self.read(path).split("\n"):
            if line.strip():
                yield json.loads(line)

    def json(self, path: str) -> Any:
        return json.loads(self.read(path))

    def ls(self, prefix: str) -> list[str]:
        out = subprocess.run(
            [
                "git",
                f"--git-dir={self.git_dir}",
                "ls-tree",
                "-r",
                "--name-only",
                self.commit,
                *([prefix] if prefix else []),
            ],
            capture_output=True,
            check=True,
        )
        return sorted(out.stdout.decode().splitlines())


# ---------------------------------------------------------------- helpers

_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_OTHER_SCRIPT = re.compile(r"[\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0e7f]")


def detect_lang(text: str) -> str | None:
    """'zh' or 'en' (seval's own detector), or None for text in another script (Japanese, Korean, Cyrillic...)."""
    letters = sum(1 for ch in text if ch.isalpha())
    if not letters or _KANA_HANGUL.search(text) or len(_OTHER_SCRIPT.findall(text)) > 0.05 * letters:
        return None
    return seval_detect_lang(text)


def norm_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def clean(text: Any) -> str:
    return text.strip() if isinstance(text, str) else ""


def pair(
    src: Source,
    mirror: Mirror,
    path: str,
    prompt: str,
    response: str | None,
    *,
    label: str,
    category: str,
    label_kind: str,
    label_origin: str,
    lang: str | None = None,
    **extra: Any,
) -> Row:
    return {
        "source": f"{src.repo}:{path}@{mirror.commit[:7]}",
        "lang": lang,
        "prompt": prompt,
        "response": response,
        "label": label,
        "category": category,
        "label_kind": label_kind,
        "label_origin": label_origin,
        **extra,
    }


def benign(
    src: Source, mirror: Mirror, path: str, prompt: str, response: str, category: str, **extra: Any
) -> Row:
    """A helpful answer to a harmless question: safe by construction of the source (a benign task)."""
    return pair(
        src,
        mirror,
        path,
        prompt,
        response,
        label="safe",
        category=category,
        label_kind="response_harmful",
        label_origin="benign-task",
        **extra,
    )


# ---------------------------------------------------------------- parsers: benign Q&A (safe)


def parse_mtbench(src: Source, m: Mirror) -> Iterator[Row]:
    """MT-bench and Vicuna-bench first turns with their GPT-4 reference answers (single turn only)."""
    for bench in ("mt_bench", "vicuna_bench"):
        base = f"fastchat/llm_judge/data/{bench}"
        questions = {q["question_id"]: q for q in m.jsonl(f"{base}/question.jsonl")}
        path = f"{base}/reference_answer/gpt-4.jsonl"
        for ref in m.jsonl(path):
            q = questions.get(ref["question_id"])
            if q is None:
                continue
            answer = ref["choices"][0]["turns"][0]
            yield benign(
                src, m, path, q["turns"][0], answer, q["category"], orig_id=f"{bench}-{ref['question_id']}"
            )


_CALC = re.compile(r"<<[^>]*>>")


def parse_gsm8k(src: Source, m: Mirror) -> Iterator[Row]:
    """GSM8K maths word problems with their human-written worked solutions (calculator marks removed)."""
    for split in ("train", "test"):
        path = f"grade_school_math/data/{split}.jsonl"
        for i, d in enumerate(m.jsonl(path)):
            solution, _, final = d["answer"].rpartition("####")
            answer = _CALC.sub("", solution).strip() + f"\nThe answer is {final.strip()}."
            yield benign(src, m, path, d["question"], answer, "maths", orig_id=f"{split}-{i}")


def parse_self_instruct(src: Source, m: Mirror) -> Iterator[Row]:
    """Self-Instruct's human-written seed tasks and user-oriented tasks, each instance with its human output."""
    for path in ("data/seed_tasks.jsonl", "human_eval/user_oriented_instructions.jsonl"):
        for d in m.jsonl(path):
            for j, inst in enumerate(d["instances"]):
                prompt = d["instruction"].strip()
                if clean(inst.get("input")):
                    prompt += "\n\n" + inst["input"].strip()
                category = d.get("motivation_app") or d.get("name") or "instruction"
                yield benign(
                    src, m, path, prompt, clean(inst.get("output")), category, orig_id=f"{d['id']}-{j}"
                )


def _arena_answer(msg: dict[str, Any]) -> str:
    content = msg["content"]
    return clean(content.get("answer")) if isinstance(content, dict) else clean(content)


def parse_arena_hard(src: Source, m: Mirror) -> Iterator[Row]:
    """Arena-Hard: real Chatbot Arena user questions (coding, maths, writing...) with answers of several models."""
    files = {
        "arena-hard-v0.1": ["gpt-3.5-turbo-0125", "gpt-4-0314", "gpt-4-0613"],
        "arena-hard-v2.0": ["o3-mini-2025-01-31"],
    }
    for version, models in files.items():
        questions = {q["uid"]: q for q in m.jsonl(f"data/{version}/question.jsonl")}
        for model in models:
            path = f"data/{version}/model_answer/{model}.jsonl"
            for d in m.jsonl(path):
                msgs = d["messages"]
                if len(msgs) != 2 or msgs[0]["role"] != "user":
                    continue
                q = questions.get(d["uid"], {})
                category = q.get("subcategory") or q.get("cluster") or q.get("category") or "chat"
                yield benign(
                    src,
                    m,
                    path,
                    clean(msgs[0]["content"]),
                    _arena_answer(msgs[1]),
                    category,
                    orig_id=f"{version}-{d['uid']}-{model}",
                    model=model,
                )


def parse_ruozhiba(src: Source, m: Mirror) -> Iterator[Row]:
    """Ruozhiba (弱智吧) trick questions, odd-sounding but harmless, answered by GPT-4o and GPT-4-turbo."""
    for model, path in (
        ("gpt-4o", "data/ruozhiba_qa2449_gpt4o.json"),
        ("gpt-4-turbo", "data/ruozhiba_qa2449_gpt4t.json"),
    ):
        for i, d in enumerate(m.json(path)):
            prompt = clean(d["instruction"]) + ("\n" + clean(d["input"]) if clean(d.get("input")) else "")
            yield benign(
                src,
                m,
                path,
                prompt,
                clean(d["output"]),
                "trick_question",
                orig_id=f"{model}-{i}",
                model=model,
            )


def parse_gaokao(src: Source, m: Mirror) -> Iterator[Row]:
    """GAOKAO-Bench: Chinese national exam questions with the official answers and worked analysis."""
    for path in m.ls("Data/"):
        if not path.endswith(".json") or "English" in path:
            continue  # English-exam items are passages in English with Chinese glue: not clean zh or en
        data = m.json(path)
        subject = data["keywords"].split("_", 1)[1]
        for d in data["example"]:
            answer = d["answer"]
            answer = "、".join(answer) if isinstance(answer, list) else clean(answer)
            analysis = clean(d.get("analysis"))
            response = (analysis + "\n" if analysis else "") + (f"答案：{answer}" if answer else "")
            yield benign(
                src,
                m,
                path,
                clean(d["question"]),
                response.strip(),
                subject,
                lang="zh",
                orig_id=f"{subject}-{d.get('index', '')}-{d.get('year', '')}",
            )


def parse_kdconv(src: Source, m: Mirror) -> Iterator[Row]:
    """KdConv: human-human Chinese knowledge-grounded chats (film, music, travel); the opening question and reply."""
    for domain in ("film", "music", "travel"):
        for split in ("dev", "test"):
            path = f"data/{domain}/{split}.json"
            for i, d in enumerate(m.json(path)):
                msgs = [clean(x.get("message")) for x in d["messages"]]
                # the opening turn, then up to two later questions ("...？") with their replies
                turns = [0, *[t for t in range(2, len(msgs) - 1, 2) if msgs[t].endswith(("？", "?"))][:2]]
                for t in turns:
                    if t + 1 < len(msgs):
                        yield benign(
                            src, m, path, msgs[t], msgs[t + 1], domain, orig_id=f"{domain}-{split}-{i}-{t}"
                        )


def parse_humaneval(src: Source, m: Mirror) -> Iterator[Row]:
    """HumanEval: Python function signatures with docstrings, and the hand-written canonical solutions."""
    path = "data/HumanEval.jsonl.gz"
    for line in gzip.decompress(m.read_bytes(path)).decode().split("\n"):
        if line.strip():
            d = json.loads(line)
            prompt = "Complete this Python function:\n\n" + d["prompt"]
            answer = "```python\n" + d["prompt"] + d["canonical_solution"].rstrip() + "\n```"
            yield benign(src, m, path, prompt, answer, "coding", orig_id=d["task_id"])


def parse_gpteacher_code(src: Source, m: Mirror) -> Iterator[Row]:
    """GPTeacher Codegen-Instruct: programming tasks with GPT-4 answers."""
    path = "Codegen/codegen-instruct.json"
    for i, d in enumerate(m.json(path)):
        prompt = clean(d["instruction"]) + ("\n\n" + clean(d["input"]) if clean(d.get("input")) else "")
        yield benign(src, m, path, prompt, clean(d["response"]), "coding", orig_id=str(i))


_WS = re.compile(r"[ \t]+")


def parse_medquad(src: Source, m: Mirror) -> Iterator[Row]:
    """MedQuAD: consumer health questions with answers from NIH websites (collections with answers only)."""
    paths = [
        p
        for p in m.ls("")
        if p.endswith(".xml") and not p.startswith(("10_MPlus_ADAM", "11_MPlusDrugs", "12_MPlusHerbs"))
    ]
    for path, blob in m.read_many(paths):
        doc = ET.fromstring(blob)
        for qa in doc.iter("QAPair"):
            q, a = qa.find("Question"), qa.find("Answer")
            if q is None or a is None or not (a.text or "").strip():
                continue
            answer = "\n".join(_WS.sub(" ", line).strip() for line in a.text.strip().splitlines())
            answer = re.sub(r"\n{3,}", "\n\n", answer)
            yield benign(
                src,
                m,
                path,
                clean(q.text),
                answer,
                q.get("qtype") or "health",
                lang="en",
                orig_id=q.get("qid"),
                collection=path.split("/", 1)[0],
            )


def parse_crosswoz(src: Source, m: Mirror) -> Iterator[Row]:
    """CrossWOZ: Chinese Wizard-of-Oz travel dialogues; each user turn with the human wizard's reply."""
    for split in ("val", "test"):
        path = f"data/crosswoz/{split}.json.zip"
        with zipfile.ZipFile(io.BytesIO(m.read_bytes(path))) as z:
            dialogues = json.loads(z.read(f"{split}.json"))
        for key, d in dialogues.items():
            msgs = d["messages"]
            for t in range(len(msgs) - 1):
                if msgs[t]["role"] == "usr" and msgs[t + 1]["role"] == "sys":
                    yield benign(
                        src,
                        m,
                        path,
                        clean(msgs[t]["content"]),
                        clean(msgs[t + 1]["content"]),
                        d.get("type", "travel"),
                        orig_id=f"{split}-{key}-{t}",
                    )


def parse_cmedqa_toyhom(src: Source, m: Mirror) -> Iterator[Row]:
    """Chinese medical dialogue data (内科 sample): patient questions with doctors' answers from an online site."""
    path = "样例_内科5000-6000.csv"
    text = m.read_bytes(path).decode("gb18030", errors="replace")
    for i, d in enumerate(csv.DictReader(io.StringIO(text))):
        question = clean(d.get("ask"))
        title = clean(d.get("title"))
        prompt = question if title and title in question else f"{title}\n{question}".strip()
        yield benign(
            src,
            m,
            path,
            prompt,
            clean(d.get("answer")),
            clean(d.get("department")) or "medical",
            lang="zh",
            orig_id=str(i),
        )


# ---------------------------------------------------------------- parsers: prompt sets with risk categories


def parse_flames(src: Source, m: Mirror) -> Iterator[Row]:
    """Flames: adversarial Chinese prompts built to elicit harm, with the authors' dimension and subcomponent."""
    path = "Flames_1k_Chinese.jsonl"
    for i, d in enumerate(m.jsonl(path)):
        yield pair(
            src,
            m,
            path,
            clean(d["prompt"]),
            None,
            label="unsafe",
            category=f"{d['dimension']}/{d['subcomponent']}",
            label_kind="prompt_harmful",
            label_origin="authors",
            orig_id=str(i),
            label_note="risk probe written to elicit a harmful answer; many read as innocent questions",
        )


def parse_cvalues_prompts(src: Source, m: Mirror) -> Iterator[Row]:
    """CValues responsibility prompts: expert-written Chinese questions that need a responsible answer."""
    path = "dataset/cvalues_responsibility_prompts.jsonl"
    for d in m.jsonl(path):
        yield pair(
            src,
            m,
            path,
            clean(d["prompt"]),
            None,
            label="unsafe",
            category=d["domain_en"],
            label_kind="prompt_harmful",
            label_origin="authors",
            orig_id=str(d["id_"]),
            label_note="risk probe: a sensitive question needing a responsible answer, not always a harmful request",
        )


def parse_catqa_harmfulqa(src: Source, m: Mirror) -> Iterator[Row]:
    """CatQA (en, zh: 11 harm categories x 5 subcategories) and HarmfulQA (en, by academic topic) questions."""
    files = {
        "harmful_questions/catqa_english.json": ("en", "CatQA"),
        "harmful_questions/catqa_chinese.json": ("zh", "CatQA"),
        "harmful_questions/harmfulqa.json": ("en", "HarmfulQA"),
    }
    for path, (lang, name) in files.items():
        for top, subs in m.json(path).items():
            for sub, questions in subs.items():
                for i, q in enumerate(questions):
                    yield pair(
                        src,
                        m,
                        path,
                        clean(q),
                        None,
                        label="unsafe",
                        category=f"{top}/{sub.rstrip(':')}",
                        label_kind="prompt_harmful",
                        label_origin="authors",
                        lang=lang,
                        orig_id=f"{name}-{top}-{sub}-{i}",
                        subset=name,
                        label_note="harmful question"
                        if name == "CatQA"
                        else "harmful question about an academic topic",
                    )


AILUMINATE_HAZARDS = {
    "cse": "child sexual exploitation",
    "dfm": "defamation",
    "hte": "hate",
    "ipv": "intellectual property",
    "iwp": "indiscriminate weapons (CBRNE)",
    "ncr": "non-violent crimes",
    "prv": "privacy",
    "src": "sex-related crimes",
    "ssh": "suicide and self-harm",
    "sxc_prn": "sexual content",
    "vcr": "violent crimes",
    "spc_fin": "specialized advice: financial",
    "spc_hlt": "specialized advice: health",
    "spc_ele": "specialized advice: elections",
    "spc_lgl": "specialized advice: legal",
}


def parse_ailuminate(src: Source, m: Mirror) -> Iterator[Row]:
    """AILuminate v1.0 demo prompts (en_US): hazardous prompts across 12 hazards and 4 specialised-advice areas."""
    path = "airr_official_1.0_demo_en_us_prompt_set_release.csv"
    for d in csv.DictReader(io.StringIO(m.read(path))):
        hazard = d["hazard"]
        advice = hazard.startswith("spc_")
        yield pair(
            src,
            m,
            path,
            clean(d["prompt_text"]),
            None,
            label="unsafe",
            category=AILUMINATE_HAZARDS.get(hazard, hazard),
            label_kind="prompt_harmful",
            label_origin="authors",
            lang="en",
            orig_id=d["release_prompt_id"],
            hazard=hazard,
            persona=d["persona"],
            label_note="risk probe: asks for specialised advice that needs care, not a harmful request"
            if advice
            else "hazardous prompt; 'skilled' persona prompts may carry jailbreak wording",
        )


SOURCES: list[Source] = [
    Source(
        "mtbench",
        "lm-sys/FastChat",
        "0e6d3e4beaab66f4d3f93db72541a4abab8af28d",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_mtbench,
        "MT-bench + Vicuna-bench first-turn questions with GPT-4 reference answers",
    ),
    Source(
        "gsm8k",
        "openai/grade-school-math",
        "3101c7d5072418e28b9008a6636bde82a006892c",
        "MIT",
        "LICENSE",
        "judge",
        parse_gsm8k,
        "GSM8K maths word problems with human-written solutions",
        max_rows=3000,
    ),
    Source(
        "selfinstruct",
        "yizhongw/self-instruct",
        "0b26ccaa415992100fa32df62d41b994cf928e23",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_self_instruct,
        "Self-Instruct human-written seed and user-oriented tasks",
    ),
    Source(
        "humaneval",
        "openai/human-eval",
        "6d43fb980f9fee3c892a914eda09951f772ad10d",
        "MIT",
        "LICENSE",
        "judge",
        parse_humaneval,
        "HumanEval Python problems with hand-written canonical solutions",
    ),
    Source(
        "arenahard",
        "lmarena/arena-hard-auto",
        "196f6b826783b3da7310e361a805fa36f0be83f3",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_arena_hard,
        "Arena-Hard real user questions with GPT-3.5/GPT-4/o3-mini answers",
    ),
    Source(
        "gpteacher",
        "teknium1/GPTeacher",
        "481075123c29854bddb82655badeef6a438f2436",
        "MIT",
        "LICENSE",
        "judge",
        parse_gpteacher_code,
        "GPTeacher Codegen-Instruct programming tasks with GPT-4 answers",
        max_rows=2000,
    ),
    Source(
        "medquad",
        "abachaa/MedQuAD",
        "577bd37b96c02d1833b2c9eed2de9f96964e96cb",
        "CC-BY-4.0",
        "LICENSE.txt",
        "judge",
        parse_medquad,
        "MedQuAD consumer health questions with NIH answers",
        max_rows=4000,
    ),
    Source(
        "ruozhiba",
        "ymcui/Chinese-LLaMA-Alpaca-3",
        "58a4b6c10d44d7350e9f198088cf1e9271b666f5",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_ruozhiba,
        "Ruozhiba trick questions with GPT-4o / GPT-4-turbo answers",
    ),
    Source(
        "gaokao",
        "OpenLMLab/GAOKAO-Bench",
        "6dbb24f8d8439041e5431c4c184a582182a6ce9c",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_gaokao,
        "Chinese gaokao exam questions with official answers and analysis",
    ),
    Source(
        "kdconv",
        "thu-coai/KdConv",
        "653db76432de09a004ba708a68f8bbd5500e6bec",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_kdconv,
        "KdConv human-human Chinese chats: opening turn and later questions, with the human reply",
    ),
    Source(
        "crosswoz",
        "thu-coai/CrossWOZ",
        "df82c9fdff91b9b130f2d6b89110d3870ba6260e",
        "Apache-2.0",
        "LICENSE",
        "judge",
        parse_crosswoz,
        "CrossWOZ Chinese travel dialogues: user turn and the human wizard's reply",
        max_rows=4000,
    ),
    Source(
        "cmedical",
        "Toyhom/Chinese-medical-dialogue-data",
        "26724a4357fcd142f0cab81188cacf1a2dd8a827",
        "MIT",
        "LICENSE",
        "judge",
        parse_cmedqa_toyhom,
        "Chinese medical Q&A (内科 sample): patient question, doctor's answer",
        max_rows=4000,
    ),
    Source(
        "flames",
        "AIFlames/Flames",
        "234bcb7a4a9da44c4177d2c2005e3bf8a582a5fc",
        "Apache-2.0",
        "LICENSE",
        "prompts",
        parse_flames,
        "Flames adversarial Chinese prompts with harm dimension",
    ),
    Source(
        "catqa",
        "declare-lab/red-instruct",
        "73c759c93d2f6b1d8c7b058ab7bcec5fb0c28fa2",
        "Apache-2.0",
        "LICENSE",
        "prompts",
        parse_catqa_harmfulqa,
        "CatQA (en/zh) and HarmfulQA (en) harmful questions with categories",
    ),
    Source(
        "ailuminate",
        "mlcommons/ailuminate",
        "769cc2be9d20c8d4fb26ce53b68865ed41dfb8e2",
        "CC-BY-4.0",
        "README.md",
        "prompts",
        parse_ailuminate,
        "AILuminate v1.0 demo hazardous prompts (en_US) with hazard category",
    ),
    Source(
        "cvalues",
        "X-PLUG/CValues",
        "3018d3886890d04c95c9051c7055fb19e36ef592",
        "Apache-2.0",
        "LICENSE",
        "prompts",
        parse_cvalues_prompts,
        "CValues responsibility prompts with domain",
    ),
]


NOTES = [
    "Every `judge_extra_*` file is the safe class only (`benign-task`): helpful answers to harmless questions, "
    "and (ruozhiba, medical, arena-hard) safe answers to risky-sounding ones. Mix them with the labelled unsafe "
    "rows of ../shared/data, or the critic learns 'new source = safe'.",
    "`prompts_extra_*` rows are risk probes (`label` unsafe, `label_kind` prompt_harmful, no response); Flames, "
    "CValues and AILuminate specialised-advice prompts often read as innocent questions (see `label_note`), "
    "CatQA/HarmfulQA are plainly harmful.",
    "Capped by seeded sampling so no domain dominates: GSM8K 3,000, GPTeacher 2,000, MedQuAD, CrossWOZ and "
    "Chinese medical 4,000 each. GAOKAO answers are exam-style (analysis + '答案：X'); KdConv and CrossWOZ replies "
    "are short human turns; arena-hard and GPTeacher are mostly coding.",
    "No new (prompt, response, label) set with human harmfulness labels could be had: do-not-answer (no "
    "snapshot), Safety-Prompts and CValues comparison files (over 4 MiB), hh-rlhf helpful-base (Git LFS), "
    "Chinese Do-Not-Answer (NC). See training/DATA_SOURCES.md.",
]


# ---------------------------------------------------------------- pipeline


def load_reserved_prompts() -> set[str]:
    if not XSTEST.is_file():
        raise SystemExit(f"XSTest prompts not found at {XSTEST}: needed to drop reserved prompts")
    return {norm_key(json.loads(line)["prompt"]) for line in XSTEST.read_text().splitlines() if line.strip()}


def build(src: Source, mirror_root: Path, reserved: set[str]) -> tuple[dict[str, list[Row]], Counter[str]]:
    """All rows of one source, split by language, cleaned, deduplicated and capped."""
    mirror = Mirror(mirror_root, src.repo, src.commit)
    mirror.read(src.licence_file)  # the licence file must be there at the pinned commit
    dropped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    by_lang: dict[str, list[Row]] = {}
    for row in src.parse(src, mirror):
        prompt, response = clean(row["prompt"]), row["response"]
        if response is not None:
            response = clean(response)
        if not prompt or (src.kind == "judge" and not response):
            dropped["empty"] += 1
            continue
        if norm_key(prompt) in reserved:
            dropped["xstest_prompt"] += 1
            continue
        key = (norm_key(prompt), norm_key(response or ""))
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        # a language fixed by the parser is trusted (exam maths is zh with many Latin letters); otherwise the
        # prompt decides and a reply in the other language (a translation task, a mixed thread) is dropped
        lang = row["lang"] or detect_lang(prompt)
        mixed = row["lang"] is None and response is not None and detect_lang(response) not in (lang, None)
        if lang not in ("en", "zh") or mixed:
            dropped["other_language"] += 1
            continue
        digest = hashlib.sha1(f"{src.key}\0{prompt}\0{response or ''}".encode()).hexdigest()[:12]
        row.update(id=f"extra-{src.key}-{digest}", lang=lang, prompt=prompt, response=response)
        by_lang.setdefault(lang, []).append(row)
    for lang, rows in by_lang.items():
        if len(rows) > src.max_rows:
            dropped[f"sampled_out_{lang}"] += len(rows) - src.max_rows
            rng = random.Random(f"{SEED}-{src.key}-{lang}")
            keep = sorted(rng.sample(range(len(rows)), src.max_rows))
            by_lang[lang] = [rows[i] for i in keep]
    return by_lang, dropped


def file_name(src: Source, lang: str) -> str:
    prefix = "judge_extra" if src.kind == "judge" else "prompts_extra"
    return f"{prefix}_{src.key}_{lang}.jsonl"


def write_ready(out: Path, manifest: list[dict[str, Any]]) -> None:
    lines = [
        "# Extra critic training data (rebuilt by training/prepare_extra_data.py)",
        "",
        "Row format as ../shared/data; `label_origin` says where the label comes from (`benign-task`: a helpful",
        "answer to a harmless question, safe by construction; `authors`/`human`: the data set's own labels).",
        "Sources, licences and label mapping: training/DATA_SOURCES.md.",
        "",
        "| file | rows | labels | lang | what it is | licence | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in manifest:
        labels = ", ".join(f"{k} {v}" for k, v in sorted(e["labels"].items()))
        lines.append(
            f"| {e['file']} | {e['rows']} | {labels} | {e['lang']} | {e['description']} | {e['licence']} "
            f"| {e['repo']}@{e['commit'][:7]} |"
        )
    lines += ["", "## Notes for the trainer", ""] + [f"- {n}" for n in NOTES]
    (out / "READY.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("training/cache/extra"))
    ap.add_argument("--only", nargs="*", help="source keys to rebuild (default: all)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    reserved = load_reserved_prompts()
    manifest_path = args.out / "MANIFEST.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else []
    manifest = [e for e in old if args.only and e["key"] not in args.only]
    for src in SOURCES:
        if args.only and src.key not in args.only:
            continue
        by_lang, dropped = build(src, args.mirrors, reserved)
        for lang, rows in sorted(by_lang.items()):
            name = file_name(src, lang)
            with (args.out / name).open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            entry = {
                "key": src.key,
                "file": name,
                "rows": len(rows),
                "lang": lang,
                "labels": dict(Counter(r["label"] for r in rows)),
                "label_origin": dict(Counter(r["label_origin"] for r in rows)),
                "repo": src.repo,
                "commit": src.commit,
                "licence": src.licence,
                "licence_file": src.licence_file,
                "description": src.description,
                "dropped": dict(dropped),
            }
            manifest.append(entry)
            print(f"{name}: {len(rows)} rows {entry['labels']} dropped {dict(dropped)}", file=sys.stderr)
    if not args.only:  # a full rebuild: files of sources or languages no longer produced are stale
        wanted = {e["file"] for e in manifest}
        for stale in sorted(args.out.glob("*_extra_*.jsonl")):
            if stale.name not in wanted:
                stale.unlink()
                print(f"removed stale {stale.name}", file=sys.stderr)
    order = {s.key: i for i, s in enumerate(SOURCES)}
    manifest.sort(key=lambda e: (order.get(e["key"], 99), e["lang"]))
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    write_ready(args.out, manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
