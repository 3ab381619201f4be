"""TAP (Mehrotra et al. 2023, Tree of Attacks: Jailbreaking Black-Box LLMs Automatically).

A tree of PAIR-style attacker conversations: each round every leaf asks the attacker for `branching`
refinements; refinements that drifted off topic are pruned before they reach the target (seval.redteam.topic);
the rest are sent to the target and judged, stopping at the first unsafe verdict; then only the `width`
highest-scoring ones stay as leaves, each carrying the target's reply and its score in its attacker history.
`depth` rounds at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from seval.records import Message
from seval.redteam.attacker import ParsedAttack, render
from seval.redteam.base import REDTEAM_METHODS, Attempt, RedteamMethod, score10
from seval.redteam.methods.pair import feedback, window
from seval.redteam.topic import similarities, threshold


@dataclass
class Node:
    id: str
    rounds: list[Message]  # the attacker conversation after the system prompt
    parent: str = ""
    prop: ParsedAttack | None = None
    score: float = 0.0


@REDTEAM_METHODS.register("tap")
class Tap(RedteamMethod):
    name = "tap"
    uses = ("width", "depth", "branching", "on_topic")

    async def run(self, att: Attempt) -> None:
        s = self.settings
        system: Message = {"role": "system", "content": render(att.lang, "pair", "system", goal=att.goal)}
        leaves = [Node("root", [{"role": "user", "content": render(att.lang, "pair", "first", goal=att.goal)}])]
        for d in range(1, s.depth + 1):
            children: list[Node] = []
            for j, leaf in enumerate(leaves):
                for b in range(s.branching):
                    node = Node(f"{d}.{j}.{b}", leaf.rounds, parent=leaf.id)
                    node.prop = await att.attack(node.id, window(system, leaf.rounds))
                    children.append(node)
            sims, method = similarities(att.goal, [c.prop.prompt for c in children if c.prop], att.lang)
            cut = threshold(method, s.on_topic)
            kept: list[Node] = []
            for c, sim in zip(children, sims, strict=True):
                assert c.prop is not None
                off = sim < cut
                att.add_turn("attacker", c.prop.note, node=c.id, parent=c.parent, depth=d, parsed=c.prop.how)
                att.add_turn("user", c.prop.prompt, node=c.id, depth=d, on_topic=round(sim, 3),
                             pruned="off_topic" if off else None)
                if not off:
                    kept.append(c)
            if not kept:
                att.stopped = "all_off_topic"
                return
            for c in kept:
                assert c.prop is not None
                reply = await att.target(c.id, c.prop.prompt)
                v = await att.judge(c.id, c.prop.prompt, reply)
                att.add_reply(reply, v, node=c.id, depth=d)
                att.note_best(c.prop.prompt, v)
                if v.label == "unsafe":
                    att.succeed(c.prop.prompt, v)
                    return
                c.score = v.score or 0.0
                c.rounds = [*c.rounds, {"role": "assistant", "content": c.prop.as_json()},
                            {"role": "user", "content": feedback(att, c.prop.prompt, reply, v.label, score10(v),
                                                                 v.explanation)}]
            ranked = sorted(range(len(kept)), key=lambda i: (-kept[i].score, i))
            leaves = [kept[i] for i in ranked[: s.width]]
            for i in ranked[s.width:]:
                att.add_turn("prune", f"pruned after depth {d}: score below the best {s.width}", node=kept[i].id,
                             pruned="low_score")
        att.stopped = "max_depth"
