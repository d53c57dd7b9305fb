"""Which agent takes a person: pure choice over the agents ready now.

Theory of operation. A person who needs an agent carries ``Requirements`` (language, segment or
balance tier, campaign, skills at a minimum level). An agent *meets* them when every stated
requirement is satisfied; an agent who lists no campaigns (or no segments) works them all, an
agent must list a language to be given a caller who needs it. Among the agents who meet the
requirements the campaign's ``RoutingRule`` ranks them:

* ``skill_then_idle``: the highest level in the call's first required skill (the skill that
  ranks; the others are gates), then the longest idle;
* ``longest_idle``: the longest idle only, which spreads idle time evenly on a floor whose
  agents are interchangeable.

Every tie ends on the agent id, so a decision never depends on dict or set order. ``rank_key``
is that order written down; ``choose`` applies it to any iterable (the reference, and what a
small floor needs); ``ReadyPool`` keeps the ready agents indexed so that one decision on a floor
of a thousand walks a few entries, not the whole floor (see ``ReadyPool.choose``).
"""

from __future__ import annotations

import enum
import itertools
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from recobro.domain.errors import ValidationError

AgentKey = TypeVar("AgentKey")

#: The highest skill level an agent can have; levels run 1..MAX_LEVEL.
MAX_LEVEL = 10


def longest_idle(ready_since: Mapping[AgentKey, float]) -> AgentKey:
    """The agent ready the longest (ties: the first listed). ``ready_since`` must not be empty."""
    if not ready_since:
        raise ValueError("no agent is ready")
    best_key = None
    best_since = float("inf")
    for key, since in ready_since.items():
        if since < best_since:
            best_key, best_since = key, since
    assert best_key is not None
    return best_key


class RoutingRule(enum.StrEnum):
    SKILL_THEN_IDLE = "skill_then_idle"
    LONGEST_IDLE = "longest_idle"


def parse_rule(value: object) -> RoutingRule:
    """A campaign's ``routing_rule`` column, or a ``ValidationError`` naming the accepted values."""
    try:
        return RoutingRule(str(value))
    except ValueError:
        accepted = ", ".join(r.value for r in RoutingRule)
        raise ValidationError(
            f"Regla de ruteo desconocida {value!r}; se acepta: {accepted} / "
            f"Unknown routing rule {value!r}; accepted: {accepted}",
            field="routing_rule",
            value=value,
        ) from None


@dataclass(frozen=True, slots=True)
class Requirements:
    """What an agent must have to take one call.

    ``None`` (or no skills) means "any". ``segment`` is the account's segment or balance-tier
    label, whichever the campaign routes on. ``skills`` are all required at ``min_level`` or
    better; the first one ranks agents under ``skill_then_idle``.
    """

    campaign_id: int | None = None
    language: str | None = None
    segment: str | None = None
    skills: tuple[str, ...] = ()
    min_level: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_level <= MAX_LEVEL:
            raise ValidationError(
                f"Nivel mínimo fuera de rango 1-{MAX_LEVEL}: {self.min_level} / "
                f"Minimum level out of range 1-{MAX_LEVEL}: {self.min_level}",
                field="min_level",
                value=self.min_level,
            )


@dataclass(frozen=True, slots=True, eq=False)
class ReadyAgent:
    """A ready agent as routing sees them; ``ready_since`` in the caller's monotonic seconds."""

    id: int
    ready_since: float
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level 1..MAX_LEVEL
    languages: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()  # empty: every segment
    campaigns: frozenset[int] = frozenset()  # empty: every campaign


RankKey = tuple[int, float, int]
Entry = TypeVar("Entry", tuple[float, int], RankKey)
Key = TypeVar("Key", str, int)


def meets(agent: ReadyAgent, need: Requirements) -> bool:
    """Whether ``agent`` satisfies every stated requirement of ``need``."""
    if need.language is not None and need.language not in agent.languages:
        return False
    if need.campaign_id is not None and agent.campaigns and need.campaign_id not in agent.campaigns:
        return False
    if need.segment is not None and agent.segments and need.segment not in agent.segments:
        return False
    skills = agent.skills
    return all(skills.get(s, 0) >= need.min_level for s in need.skills)


def rank_key(agent: ReadyAgent, need: Requirements, rule: RoutingRule) -> RankKey:
    """The order of preference: the smallest key wins (level negated, then ready time, then id)."""
    if rule is RoutingRule.SKILL_THEN_IDLE and need.skills:
        return (-agent.skills.get(need.skills[0], 0), agent.ready_since, agent.id)
    return (0, agent.ready_since, agent.id)


def choose(agents: Iterable[ReadyAgent], need: Requirements, rule: RoutingRule) -> ReadyAgent | None:
    """The best agent of ``agents`` for ``need`` under ``rule`` (None when nobody meets it)."""
    best: ReadyAgent | None = None
    best_key: RankKey | None = None
    for agent in agents:
        if not meets(agent, need):
            continue
        key = rank_key(agent, need, rule)
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best


class ReadyPool:
    """The ready agents, indexed for routing; ``choose`` gives the same answer as ``choose()``.

    Indexes: every agent in idle order ``(ready_since, id)``; per skill, the agents who have it
    in rank order ``(-level, ready_since, id)``; per language, campaign and segment, the set of
    agents (plus the sets of agents who work every campaign or segment). They are sorted lists
    kept with ``bisect`` (a thousand agents move in microseconds) and sets.

    A decision walks the list already in the rule's order (the first required skill's list, or
    the idle list) and stops at the first agent who meets the requirements, which is the best
    one. A walk is cut after as many entries as the smallest index bucket that must contain
    every eligible agent; then that bucket is scanned whole. So a decision costs at most twice
    the smallest bucket, and one step when eligible agents are common.
    """

    def __init__(self, agents: Iterable[ReadyAgent] = ()) -> None:
        self._agents: dict[int, ReadyAgent] = {}
        self._idle: list[tuple[float, int]] = []
        self._by_skill: dict[str, list[RankKey]] = {}
        self._by_language: dict[str, set[int]] = {}
        self._by_campaign: dict[int, set[int]] = {}
        self._any_campaign: set[int] = set()
        self._by_segment: dict[str, set[int]] = {}
        self._any_segment: set[int] = set()
        for agent in agents:
            self.add(agent)

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def get(self, agent_id: int) -> ReadyAgent | None:
        return self._agents.get(agent_id)

    def agents(self) -> list[ReadyAgent]:
        """Every ready agent, longest idle first."""
        return [self._agents[i] for _, i in self._idle]

    def add(self, agent: ReadyAgent) -> None:
        """The agent became ready (or ready again with a new ``ready_since``: the old entry goes)."""
        if agent.id in self._agents:
            self.remove(agent.id)
        self._agents[agent.id] = agent
        insort(self._idle, (agent.ready_since, agent.id))
        for skill, level in agent.skills.items():
            if level > 0:
                insort(self._by_skill.setdefault(skill, []), (-level, agent.ready_since, agent.id))
        for lang in agent.languages:
            self._by_language.setdefault(lang, set()).add(agent.id)
        if agent.campaigns:
            for c in agent.campaigns:
                self._by_campaign.setdefault(c, set()).add(agent.id)
        else:
            self._any_campaign.add(agent.id)
        if agent.segments:
            for s in agent.segments:
                self._by_segment.setdefault(s, set()).add(agent.id)
        else:
            self._any_segment.add(agent.id)

    def remove(self, agent_id: int) -> ReadyAgent | None:
        """The agent is no longer ready (reserved, on a break, logged out); None if not here."""
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            return None
        _discard_sorted(self._idle, (agent.ready_since, agent.id))
        for skill, level in agent.skills.items():
            if level > 0:
                ranked = self._by_skill[skill]
                _discard_sorted(ranked, (-level, agent.ready_since, agent.id))
                if not ranked:
                    del self._by_skill[skill]
        for lang in agent.languages:
            _discard_set(self._by_language, lang, agent.id)
        for c in agent.campaigns:
            _discard_set(self._by_campaign, c, agent.id)
        for s in agent.segments:
            _discard_set(self._by_segment, s, agent.id)
        self._any_campaign.discard(agent.id)
        self._any_segment.discard(agent.id)
        return agent

    def choose(self, need: Requirements, rule: RoutingRule) -> ReadyAgent | None:
        """The best ready agent for ``need`` under ``rule``, or None; the pool is not changed."""
        walk: Iterator[int]
        if rule is RoutingRule.SKILL_THEN_IDLE and need.skills:
            ranked = self._by_skill.get(need.skills[0])
            if ranked is None:
                return None
            walk, length = (entry[2] for entry in ranked), len(ranked)
        else:
            walk, length = (entry[1] for entry in self._idle), len(self._idle)
        smallest = self._smallest_bucket(need)
        if smallest is None:
            return None
        size, bucket = smallest
        agents = self._agents
        for agent_id in itertools.islice(walk, size):
            agent = agents[agent_id]
            if meets(agent, need):
                return agent
        if length <= size:
            return None  # the walk covered every candidate
        return choose((agents[i] for part in bucket for i in part), need, rule)

    def _smallest_bucket(self, need: Requirements) -> tuple[int, tuple[Collection[int], ...]] | None:
        """The smallest set of agent ids sure to hold every eligible agent (None: nobody can be)."""
        options: list[tuple[Collection[int], ...]] = [(self._agents.keys(),)]
        if need.language is not None:
            options.append((self._by_language.get(need.language, ()),))
        if need.campaign_id is not None:
            options.append((self._by_campaign.get(need.campaign_id, ()), self._any_campaign))
        if need.segment is not None:
            options.append((self._by_segment.get(need.segment, ()), self._any_segment))
        for skill in need.skills:
            ranked = self._by_skill.get(skill)
            if ranked is None:
                return None
            options.append((_ids(ranked),))
        best = min(options, key=_total)
        return _total(best), best


class _ids(Collection[int]):
    """The agent ids of a rank list, as a collection (its size is the list's, no copy)."""

    __slots__ = ("_ranked",)

    def __init__(self, ranked: list[RankKey]) -> None:
        self._ranked = ranked

    def __len__(self) -> int:
        return len(self._ranked)

    def __iter__(self) -> Iterator[int]:
        return (entry[2] for entry in self._ranked)

    def __contains__(self, item: object) -> bool:
        return any(entry[2] == item for entry in self._ranked)


def _total(parts: tuple[Collection[int], ...]) -> int:
    return sum(len(p) for p in parts)


def _discard_sorted(items: list[Entry], entry: Entry) -> None:
    i = bisect_left(items, entry)
    if i < len(items) and items[i] == entry:
        del items[i]


def _discard_set(index: dict[Key, set[int]], key: Key, agent_id: int) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(agent_id)
        if not members:
            del index[key]
