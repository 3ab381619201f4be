"""M_c, the safety critique: critics that turn (prompt, response) into a verdict, score and explanation."""

from seval.critic.base import DEFAULT_CRITIC, Critic, resolve_critic

__all__ = ["DEFAULT_CRITIC", "Critic", "resolve_critic"]
