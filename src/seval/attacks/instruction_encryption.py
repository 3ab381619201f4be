"""instruction_encryption: the question encoded (URL, Base64 or Caesar) with an instruction to decode and answer."""

from __future__ import annotations

import base64
import random
import urllib.parse
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase

_CJK_LO, _CJK_HI = 0x4E00, 0x9FFF


def caesar(text: str, shift: int, cjk: bool = True) -> str:
    """Shift Latin letters within the alphabet and (when `cjk`) ideographs within U+4E00..U+9FFF; leave the rest."""
    out = []
    span = _CJK_HI - _CJK_LO + 1
    for ch in text:
        o = ord(ch)
        if "a" <= ch <= "z":
            out.append(chr((o - 97 + shift) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((o - 65 + shift) % 26 + 65))
        elif cjk and _CJK_LO <= o <= _CJK_HI:
            out.append(chr((o - _CJK_LO + shift) % span + _CJK_LO))
        else:
            out.append(ch)
    return "".join(out)


def encode(text: str, encoding: str, shift: int = 3, cjk: bool = True) -> str:
    if encoding == "url":
        return urllib.parse.quote(text, safe="")
    if encoding == "base64":
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    if encoding == "caesar":
        return caesar(text, shift, cjk)
    raise ValueError(f"unknown encoding {encoding!r}")


def decode(payload: str, encoding: str, shift: int = 3, cjk: bool = True) -> str:
    """The inverse of `encode` (used by tests and by anyone checking what an attack prompt asks)."""
    if encoding == "url":
        return urllib.parse.unquote(payload)
    if encoding == "base64":
        return base64.b64decode(payload).decode("utf-8")
    if encoding == "caesar":
        return caesar(payload, -shift, cjk)
    raise ValueError(f"unknown encoding {encoding!r}")


@ATTACKS.register("instruction_encryption")
class InstructionEncryption(Attack):
    name = "instruction_encryption"
    description = "Question encoded with URL encoding, Base64 or a Caesar shift (chosen per prompt); decode and answer."
    source = "Yuan et al. 2024, GPT-4 Is Too Smart To Be Safe: Stealthy Chat with LLMs via Cipher (CipherChat)"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("instruction_encryption.yaml")
        encoding = pick(rng, data["encodings"])
        shift = pick(rng, data["caesar_shifts"]) if encoding == "caesar" else 0
        # en templates promise that only letters move; zh templates also shift the Chinese characters
        cjk = lang_key(case.lang) == "zh"
        payload = encode(case.prompt, encoding, shift, cjk)
        tpl = pick_template(rng, data["templates"][encoding], case.lang)
        meta: dict[str, Any] = {"template": tpl["id"], "encoding": encoding}
        if encoding == "caesar":
            meta.update(shift=shift, shift_cjk=cjk)
        return fill(tpl["text"], payload=payload, shift=str(shift)), None, meta
