"""A contact center in virtual time: the simulated PBX, its agents, and the clock that drives them.

Discrete-event simulation: a heap of timed events (an answer, an AMD verdict, the end of a talk)
and a pacing tick every ``tick`` seconds that asks the strategy how many calls to launch. The
strategy and the choice of agent are passed in (the runtime wires the dialer's strategies and
the ACD's routing), so this module knows no subsystem. Eight hours of fifty agents take seconds.

Accounting follows shared/scenario-format.md: a person AMD hangs up on, or who waits longer than
``connect_within`` for an agent, is abandoned; machines AMD passes as people take agent time.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from recobro.domain.floor import FloorSnapshot, Observation, Seen
from recobro.telephony.sim.population import Answer, Fate, Population, needs_agent
from recobro.telephony.sim.scenario import Scenario


class Pacer(Protocol):
    def launches(self, floor: FloorSnapshot) -> int: ...

    def observe(self, seen: Observation) -> None: ...

    def machines_to_agents(self) -> bool: ...


#: Picks the agent for a person from the ready agents (id -> ready since).
AgentChooser = Callable[[Mapping[int, float]], int]

_TICK, _RESOLVE, _ANSWER, _VERDICT, _DEADLINE, _TALK_END, _WRAP_END, _MACHINE_END, _SCHEDULE = range(9)
_OFF, _READY, _TALK, _WRAP, _MACHINE = range(5)


@dataclass(slots=True)
class _Call:
    fate: Fate
    dialed_at: float
    needs: bool
    need_at: float = 0.0


@dataclass(slots=True)
class _Agent:
    id: int
    state: int = _OFF
    since: float = 0.0
    login_at: float = 0.0
    leaving: bool = False
    call: _Call | None = None


@dataclass
class SimResult:
    dials: int = 0
    live_answers: int = 0
    machine_answers: int = 0
    connects: int = 0
    abandoned: int = 0
    amd_abandoned: int = 0
    machines_at_agents: int = 0
    busy_seconds: float = 0.0
    talk_seconds: float = 0.0
    ready_seconds: float = 0.0
    logged_seconds: float = 0.0
    agent_calls: int = 0
    max_dial_ratio: float = 0.0
    list_exhausted: bool = False
    wall_seconds: float = 0.0
    live_by_hour: list[int] = field(default_factory=list)
    abandoned_by_hour: list[int] = field(default_factory=list)


class ContactCenter:
    """Runs one scenario with one pacer; ``run()`` returns the counts."""

    def __init__(self, scenario: Scenario, pacer: Pacer, choose_agent: AgentChooser, *, tick: float = 0.25) -> None:
        self.s = scenario
        self.pacer = pacer
        self.choose_agent = choose_agent
        self.tick = tick
        self.population = Population(scenario)
        self.end = scenario.hours * 3600.0
        self.now = 0.0
        self.result = SimResult()
        self._heap: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self._next_number = 0
        self._agents: list[_Agent] = []
        self._ready: dict[int, float] = {}
        self._talk: dict[int, float] = {}
        self._wrap: dict[int, float] = {}
        self._machine: dict[int, float] = {}
        self._leaving = 0
        self._logged_in = 0
        self._ringing: dict[int, float] = {}
        self._analysing: dict[int, float] = {}
        self._waiting: dict[int, _Call] = {}
        self._calls: dict[int, _Call] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def _at(self, when: float, kind: int, obj: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, obj))

    def _hourly(self, counts: list[int]) -> None:
        hour = int(self.now // 3600)
        while len(counts) <= hour:
            counts.append(0)
        counts[hour] += 1

    def _see(self, kind: Seen, seconds: float = 0.0) -> None:
        self.pacer.observe(Observation(kind, self.now, seconds))

    def run(self) -> SimResult:
        started = time.perf_counter()
        self._set_agents(int(self.s.agents.schedule.at(0.0)))
        for hour, count in self.s.agents.schedule.points[1:]:
            self._at(hour * 3600.0, _SCHEDULE, int(count))
        self._at(0.0, _TICK, None)
        handlers = {
            _TICK: self._on_tick,
            _RESOLVE: self._on_resolve,
            _ANSWER: self._on_answer,
            _VERDICT: self._on_verdict,
            _DEADLINE: self._on_deadline,
            _TALK_END: self._on_talk_end,
            _WRAP_END: self._on_wrap_end,
            _MACHINE_END: self._on_machine_end,
            _SCHEDULE: self._on_schedule,
        }
        heap = self._heap
        while heap and heap[0][0] < self.end:
            when, _, kind, obj = heapq.heappop(heap)
            self.now = when
            handlers[kind](obj)
        self.now = self.end
        self._close_books()
        self.result.wall_seconds = time.perf_counter() - started
        return self.result

    # -- agents -----------------------------------------------------------------------------
    def _leave_state(self, agent: _Agent) -> None:
        spent = max(0.0, min(self.now, self.end) - agent.since)
        if agent.state == _READY:
            self.result.ready_seconds += spent
            self._ready.pop(agent.id, None)
        elif agent.state in (_TALK, _WRAP, _MACHINE):
            self.result.busy_seconds += spent
            if agent.state == _TALK:
                self.result.talk_seconds += spent
            {_TALK: self._talk, _WRAP: self._wrap, _MACHINE: self._machine}[agent.state].pop(agent.id, None)

    def _enter(self, agent: _Agent, state: int) -> None:
        self._leave_state(agent)
        agent.state, agent.since = state, self.now
        if state == _READY:
            self._ready[agent.id] = self.now
        elif not agent.leaving:
            if state == _TALK:
                self._talk[agent.id] = self.now
            elif state == _WRAP:
                self._wrap[agent.id] = self.now
            elif state == _MACHINE:
                self._machine[agent.id] = self.now

    def _log_out(self, agent: _Agent) -> None:
        self._leave_state(agent)
        self.result.logged_seconds += max(0.0, min(self.now, self.end) - agent.login_at)
        if agent.leaving:
            self._leaving -= 1
        self._logged_in -= 1
        agent.state, agent.leaving, agent.call = _OFF, False, None

    def _set_agents(self, wanted: int) -> None:
        active = [a for a in self._agents if a.state != _OFF and not a.leaving]
        if wanted > len(active):
            need = wanted - len(active)
            for agent in self._agents:  # those about to leave stay after all
                if need and agent.leaving:
                    agent.leaving = False
                    self._leaving -= 1
                    need -= 1
                    group = {_TALK: self._talk, _WRAP: self._wrap, _MACHINE: self._machine}.get(agent.state)
                    if group is not None:
                        group[agent.id] = agent.since
            for agent in self._agents:
                if need and agent.state == _OFF:
                    agent.login_at = self.now
                    self._logged_in += 1
                    self._enter(agent, _READY)
                    need -= 1
            while need:
                agent = _Agent(id=len(self._agents), login_at=self.now)
                self._agents.append(agent)
                self._logged_in += 1
                self._enter(agent, _READY)
                need -= 1
            self._serve_waiting()
        elif wanted < len(active):
            extra = len(active) - wanted
            ready = [a for a in active if a.state == _READY]
            for agent in ready[:extra]:
                self._log_out(agent)
            extra -= min(extra, len(ready))
            for agent in [a for a in active if a.state != _READY][:extra]:
                agent.leaving = True
                self._leaving += 1
                for group in (self._talk, self._wrap, self._machine):
                    group.pop(agent.id, None)

    def _agent_free(self, agent: _Agent) -> None:
        agent.call = None
        if agent.leaving:
            self._log_out(agent)
            return
        self._enter(agent, _READY)
        self._serve_waiting()

    def _serve_waiting(self) -> None:
        while self._waiting and self._ready:
            cid = next(iter(self._waiting))
            call = self._waiting.pop(cid)
            self._connect(cid, call)

    def _connect(self, cid: int, call: _Call) -> None:
        agent = self._agents[self.choose_agent(self._ready)]
        self.result.agent_calls += 1
        agent.call = call
        self._see(Seen.CONNECTED, self.now - call.need_at)
        self._calls.pop(cid, None)
        if call.fate.answer is Answer.HUMAN:
            self.result.connects += 1
            self._enter(agent, _TALK)
            self._at(self.now + call.fate.talk, _TALK_END, agent)
        else:
            self.result.machines_at_agents += 1
            self._enter(agent, _MACHINE)
            self._at(self.now + call.fate.machine_at_agent, _MACHINE_END, agent)

    # -- calls ------------------------------------------------------------------------------
    def _launch(self) -> bool:
        index = self._next_number
        if index >= self.population.count:
            self.result.list_exhausted = True
            return False
        self._next_number += 1
        fate = self.population.fate(index, self.now / 3600.0)
        call = _Call(fate, self.now, needs_agent(fate, self.s.amd.enabled))
        call.need_at = self.now + fate.ring + fate.analysis
        self._calls[index] = call
        self._ringing[index] = self.now
        self.result.dials += 1
        if fate.answer in (Answer.BUSY, Answer.INVALID):
            self._at(self.now + fate.quick, _RESOLVE, index)
        elif fate.answer is Answer.NO_ANSWER:
            self._at(self.now + self.s.numbers.no_answer_timeout, _RESOLVE, index)
        else:
            self._at(self.now + fate.ring, _ANSWER, index)
        return True

    def _on_resolve(self, cid: object) -> None:
        assert isinstance(cid, int)
        self._ringing.pop(cid, None)
        call = self._calls.pop(cid)
        quick = call.fate.answer in (Answer.BUSY, Answer.INVALID)
        self._see(Seen.QUICK_FAIL if quick else Seen.NO_ANSWER)

    def _on_answer(self, cid: object) -> None:
        assert isinstance(cid, int)
        self._ringing.pop(cid, None)
        call = self._calls[cid]
        self._see(Seen.ANSWERED, call.fate.ring)
        if call.fate.answer is Answer.HUMAN:
            self.result.live_answers += 1
            self._hourly(self.result.live_by_hour)
        else:
            self.result.machine_answers += 1
        if self.s.amd.enabled:
            self._analysing[cid] = self.now
            self._at(self.now + call.fate.analysis, _VERDICT, cid)
        else:
            self._on_verdict(cid)

    def _on_verdict(self, cid: object) -> None:
        assert isinstance(cid, int)
        self._analysing.pop(cid, None)
        call = self._calls[cid]
        if not call.needs and call.fate.answer in (Answer.HUMAN, Answer.MACHINE) and self.pacer.machines_to_agents():
            call.needs = True  # the dialer does not hang up on AMD's machines: an agent takes them
        self._see(Seen.NEEDS_AGENT if call.needs else Seen.NO_AGENT_NEEDED, call.fate.analysis)
        if not call.needs:
            self._calls.pop(cid)
            if call.fate.answer is Answer.HUMAN:  # AMD hung up on a person
                self.result.abandoned += 1
                self._hourly(self.result.abandoned_by_hour)
                self.result.amd_abandoned += 1
            return
        call.need_at = self.now
        if self._ready:
            self._connect(cid, call)
        else:
            self._waiting[cid] = call
            self._at(self.now + self.s.connect_within, _DEADLINE, cid)

    def _on_deadline(self, cid: object) -> None:
        assert isinstance(cid, int)
        call = self._waiting.pop(cid, None)
        if call is None:
            return
        self._calls.pop(cid, None)
        self._see(Seen.ABANDONED, self.s.connect_within)
        if call.fate.answer is Answer.HUMAN:
            self.result.abandoned += 1
            self._hourly(self.result.abandoned_by_hour)

    def _on_talk_end(self, agent: object) -> None:
        assert isinstance(agent, _Agent)
        call = agent.call
        assert call is not None
        self._see(Seen.TALK, call.fate.talk)
        self._enter(agent, _WRAP)
        self._at(self.now + call.fate.wrap, _WRAP_END, agent)

    def _on_wrap_end(self, agent: object) -> None:
        assert isinstance(agent, _Agent)
        assert agent.call is not None
        self._see(Seen.WRAP, agent.call.fate.wrap)
        self._agent_free(agent)

    def _on_machine_end(self, agent: object) -> None:
        assert isinstance(agent, _Agent)
        assert agent.call is not None
        self._see(Seen.MACHINE_AT_AGENT, agent.call.fate.machine_at_agent)
        self._agent_free(agent)

    def _on_schedule(self, count: object) -> None:
        assert isinstance(count, int)
        self._set_agents(count)

    # -- pacing -----------------------------------------------------------------------------
    def snapshot(self) -> FloorSnapshot:
        return FloorSnapshot(
            now=self.now,
            logged_in=self._logged_in,
            ready=len(self._ready),
            leaving=self._leaving,
            talk_started=tuple(self._talk.values()),
            wrap_started=tuple(self._wrap.values()),
            machine_started=tuple(self._machine.values()),
            ringing_since=tuple(self._ringing.values()),
            analysing_since=tuple(self._analysing.values()),
            waiting=len(self._waiting),
        )

    def _on_tick(self, _: object) -> None:
        floor = self.snapshot()
        count = self.pacer.launches(floor)
        if count > 0:
            ratio = (floor.in_flight + count) / max(floor.ready, 1)
            self.result.max_dial_ratio = max(self.result.max_dial_ratio, ratio)
            for _i in range(count):
                if not self._launch():
                    break
        self._at(self.now + self.tick, _TICK, None)

    def _close_books(self) -> None:
        for agent in self._agents:
            if agent.state != _OFF:
                self._leave_state(agent)
                agent.since = self.end
                self.result.logged_seconds += max(0.0, self.end - agent.login_at)

    # -- what an oracle may see (benchmarks only) -------------------------------------------
    def peek(self, offset: int) -> tuple[bool, float, float] | None:
        """The next numbers' fates if dialed now: (needs an agent, seconds to that, agent seconds)."""
        index = self._next_number + offset
        if index >= self.population.count:
            return None
        fate = self.population.fate(index, self.now / 3600.0)
        work = fate.talk + fate.wrap if fate.answer is Answer.HUMAN else fate.machine_at_agent
        return needs_agent(fate, self.s.amd.enabled), fate.ring + fate.analysis, work

    def agent_free_times(self) -> list[float]:
        """When each agent who is staying will be free, from the calls they are on."""
        times = []
        for agent in self._agents:
            if agent.state == _OFF or agent.leaving:
                continue
            call = agent.call
            if agent.state == _READY or call is None:
                times.append(self.now)
            elif agent.state == _TALK:
                times.append(agent.since + call.fate.talk + call.fate.wrap)
            elif agent.state == _WRAP:
                times.append(agent.since + call.fate.wrap)
            else:
                times.append(agent.since + call.fate.machine_at_agent)
        return times

    def pending_needs(self) -> list[tuple[float, float]]:
        """Calls in flight that will need an agent: (when, agent seconds), waiting ones first."""
        needs = []
        for call in self._calls.values():
            if not call.needs:
                continue
            work = call.fate.talk + call.fate.wrap if call.fate.answer is Answer.HUMAN else call.fate.machine_at_agent
            needs.append((call.need_at, work))
        needs.sort()
        return needs
