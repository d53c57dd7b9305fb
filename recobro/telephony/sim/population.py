"""The fate of every number in a simulated list, drawn in advance from the scenario's seed.

Fates are drawn in fixed blocks from one seeded generator, in list order, so number i has the
same fate whichever strategy dials it and whenever: strategies are compared on the same people
(common random numbers). The kind of answer depends on the hour it is dialed (rates may follow a
schedule), so a fate keeps a uniform draw and the kind is decided at dial time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from recobro.telephony.sim.scenario import Scenario

BLOCK = 8192


class Answer(enum.IntEnum):
    HUMAN = 0
    MACHINE = 1
    BUSY = 2
    INVALID = 3
    NO_ANSWER = 4


@dataclass(frozen=True, slots=True)
class Fate:
    index: int
    answer: Answer
    ring: float  # seconds until a person or machine answers (ignored when it rings out)
    quick: float  # seconds until busy or invalid is known
    analysis: float  # AMD listening time
    amd_wrong: bool  # AMD takes the person for a machine, or the machine for a person
    talk: float
    wrap: float
    machine_at_agent: float


class Population:
    """The numbers of a scenario's list, in order."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._rng = np.random.Generator(np.random.PCG64(scenario.seed))
        self._blocks: list[dict[str, np.ndarray]] = []
        self.count = scenario.numbers.count

    def _block(self, number: int) -> dict[str, np.ndarray]:
        while len(self._blocks) <= number:
            rng, s = self._rng, self.scenario
            self._blocks.append(
                {
                    "kind": rng.random(BLOCK),
                    "ring": s.numbers.ring.sample(rng, BLOCK),
                    "quick": rng.uniform(0.3, 2.5, BLOCK),
                    "analysis": s.amd.analysis.sample(rng, BLOCK),
                    "wrong": rng.random(BLOCK),
                    "talk": s.agents.talk.sample(rng, BLOCK),
                    "wrap": s.agents.wrap.sample(rng, BLOCK),
                    "machine": s.amd.machine_agent_seconds.sample(rng, BLOCK),
                }
            )
        return self._blocks[number]

    def fate(self, index: int, hour: float) -> Fate:
        """The fate of number ``index`` when it is dialed at ``hour`` of the run."""
        block = self._block(index // BLOCK)
        i = index % BLOCK
        n, amd = self.scenario.numbers, self.scenario.amd
        u = float(block["kind"][i])
        human, machine = n.human_answer_rate.at(hour), n.machine_rate.at(hour)
        busy, invalid = n.busy_rate.at(hour), n.invalid_rate.at(hour)
        if u < human:
            answer = Answer.HUMAN
        elif u < human + machine:
            answer = Answer.MACHINE
        elif u < human + machine + busy:
            answer = Answer.BUSY
        elif u < human + machine + busy + invalid:
            answer = Answer.INVALID
        else:
            answer = Answer.NO_ANSWER
        ring = float(block["ring"][i])
        if answer in (Answer.HUMAN, Answer.MACHINE) and ring >= n.no_answer_timeout:
            answer = Answer.NO_ANSWER
        wrong_rate = amd.human_as_machine if answer is Answer.HUMAN else amd.machine_as_human
        return Fate(
            index=index,
            answer=answer,
            ring=ring,
            quick=float(block["quick"][i]),
            analysis=float(block["analysis"][i]) if amd.enabled else 0.0,
            amd_wrong=amd.enabled and float(block["wrong"][i]) < wrong_rate,
            talk=float(block["talk"][i]),
            wrap=float(block["wrap"][i]),
            machine_at_agent=float(block["machine"][i]),
        )


def needs_agent(fate: Fate, amd_enabled: bool) -> bool:
    """Whether the call ends up in front of an agent: a person AMD let through, or a machine
    AMD took for a person (or every answer, without AMD)."""
    if fate.answer is Answer.HUMAN:
        return not fate.amd_wrong
    if fate.answer is Answer.MACHINE:
        return fate.amd_wrong or not amd_enabled
    return False
