"""Agents and their skills."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from recobro.domain.ids import AgentId


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class Skill:
    """A named skill (``es``, ``en``, ``segment:retail``, ``campaign:mx-early``) and a level 1-10."""

    name: str
    level: int = 5


@dataclass(frozen=True, slots=True)
class Agent:
    username: str
    display_name: str
    role: Role = Role.AGENT
    skills: tuple[Skill, ...] = ()
    languages: tuple[str, ...] = ("es",)
    extension: str | None = None  # the agent's SIP endpoint, where one is used
    id: AgentId | None = None

    def level(self, skill: str) -> int:
        """The agent's level in a skill, 0 when the agent does not have it."""
        for s in self.skills:
            if s.name == skill:
                return s.level
        return 0
