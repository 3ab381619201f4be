"""PAIR (Chao et al. 2023, Jailbreaking Black Box Large Language Models in Twenty Queries).

The attacker proposes a prompt; the target answers it (alone, single turn); the critic scores the answer; the
attacker sees the target's actual reply and the score and improves its prompt. Up to `max_turns` iterations,
stopping at the first unsafe verdict.
"""

from __future__ import annotations

from seval.records import Message
from seval.redteam.attacker import render
from seval.redteam.base import REDTEAM_METHODS, Attempt, RedteamMethod, clip, score10

#: attacker memory: the system prompt plus this many latest (proposal, feedback) rounds (small models, short context)
KEEP_ROUNDS = 2


def feedback(att: Attempt, prompt: str, reply: str, verdict: str, score: int, explanation: str) -> str:
    """What the attacker is told after a try: the target's reply, the critic's score and note, its last prompt."""
    return render(att.lang, "pair", "feedback", goal=att.goal, prompt=clip(prompt), response=clip(reply),
                  score=score, verdict=verdict, explanation=clip(explanation, 300))


def window(system: Message, rounds: list[Message]) -> list[Message]:
    return [system, *rounds[-(2 * KEEP_ROUNDS + 1):]]


@REDTEAM_METHODS.register("pair")
class Pair(RedteamMethod):
    name = "pair"
    uses = ("max_turns",)

    async def run(self, att: Attempt) -> None:
        system: Message = {"role": "system", "content": render(att.lang, "pair", "system", goal=att.goal)}
        rounds: list[Message] = [{"role": "user", "content": render(att.lang, "pair", "first", goal=att.goal)}]
        for i in range(1, self.settings.max_turns + 1):
            step = str(i)
            prop = await att.attack(step, window(system, rounds))
            att.add_turn("attacker", prop.note, iteration=i, parsed=prop.how)
            att.add_turn("user", prop.prompt, iteration=i)
            reply = await att.target(step, prop.prompt)
            v = await att.judge(step, prop.prompt, reply)
            att.add_reply(reply, v, iteration=i)
            att.note_best(prop.prompt, v)
            if v.label == "unsafe":
                att.succeed(prop.prompt, v)
                return
            rounds.append({"role": "assistant", "content": prop.as_json()})
            rounds.append({"role": "user", "content": feedback(att, prop.prompt, reply, v.label, score10(v),
                                                               v.explanation)})
        att.stopped = "max_turns"

