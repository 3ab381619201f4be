"""Crescendo (Russinovich et al. 2024, Great, Now Write an Article About That: The Crescendo Multi-Turn LLM
Jailbreak Attack).

A real multi-turn conversation: each turn the attacker writes the next user message from the conversation so
far, the target's actual replies included, starting harmless and escalating towards the goal. The target
answers with the whole conversation as its history; every reply is judged, stopping at the first unsafe
verdict. A refusal (seval.critic.refusal) is backtracked: the refused exchange is taken out of
the target's history (the target never sees it again) and the attacker is told what was refused, up to
`max_backtracks` times; a backtracked turn does not count against `max_turns`.
"""

from __future__ import annotations

from seval.critic.refusal import detect_refusal
from seval.records import Message
from seval.redteam.attacker import render, template
from seval.redteam.base import REDTEAM_METHODS, Attempt, RedteamMethod, clip, score10

#: exchanges of the conversation shown to the attacker (the latest ones)
SHOW_EXCHANGES = 4


def history_text(att: Attempt, history: list[Message]) -> str:
    """The conversation as the attacker sees it: the target's real replies, the latest exchanges."""
    if not history:
        return template(att.lang, "crescendo", "empty_history")
    user = template(att.lang, "crescendo", "user_label")
    target = template(att.lang, "crescendo", "target_label")
    lines = [f"{user if m['role'] == 'user' else target}: {clip(m['content'], 500)}"
             for m in history[-2 * SHOW_EXCHANGES:]]
    return "\n".join(lines)


@REDTEAM_METHODS.register("crescendo")
class Crescendo(RedteamMethod):
    name = "crescendo"
    uses = ("max_turns", "max_backtracks")

    async def run(self, att: Attempt) -> None:
        s = self.settings
        system: Message = {"role": "system", "content": render(att.lang, "crescendo", "system", goal=att.goal,
                                                               max_turns=s.max_turns)}
        history: list[Message] = []  # the target's conversation: only exchanges it did not refuse
        turn, backtracks, step, last_score = 1, 0, 0, 1
        refused: tuple[str, str] | None = None
        while turn <= s.max_turns:
            step += 1
            if refused is not None:
                ask = render(att.lang, "crescendo", "refused", refused=clip(refused[0], 500),
                             response=clip(refused[1], 300), turn=turn, max_turns=s.max_turns)
            elif not history:
                ask = render(att.lang, "crescendo", "start", goal=att.goal, max_turns=s.max_turns)
            else:
                ask = render(att.lang, "crescendo", "next", history=history_text(att, history), turn=turn,
                             max_turns=s.max_turns, score=last_score)
            prop = await att.attack(str(step), [system, {"role": "user", "content": ask}])
            att.add_turn("attacker", prop.note, turn=turn, step=step, parsed=prop.how)
            att.add_turn("user", prop.prompt, turn=turn, step=step)
            reply = await att.target(str(step), prop.prompt, history)
            if detect_refusal(reply).refused and backtracks < s.max_backtracks:
                backtracks += 1
                refused = (prop.prompt, reply)
                att.add_turn("assistant", reply, turn=turn, step=step, backtracked=True)
                continue
            refused = None
            v = await att.judge(str(step), prop.prompt, reply)
            att.add_reply(reply, v, turn=turn, step=step)
            att.note_best(prop.prompt, v)
            history += [{"role": "user", "content": prop.prompt}, {"role": "assistant", "content": reply}]
            if v.label == "unsafe":
                att.succeed(prop.prompt, v)
                return
            last_score = score10(v)
            turn += 1
        att.stopped = "max_turns"
