"""People waiting for an agent: priority, overflow, deadlines. Pure; time comes in as ``now``.

Theory of operation. A call that finds no agent it may take waits here. The queue is ordered by
priority (higher first), then by the time the call started waiting (oldest first), then by
arrival order, so two calls never compare equal. Three things happen to a waiting call:

* an agent becomes ready: ``take_for_agent`` gives them the first call in that order whose
  requirements *at this moment* they meet (the other ready agents already had their chance);
* time passes: a campaign's overflow steps relax a call's requirements after so many seconds
  of waiting (``requirements_at``), so a call that no ready agent could take may now be taken:
  ``next_change`` says when to look again and ``dispatch`` matches calls with a ``ReadyPool``;
* its deadline passes: ``expire`` removes it. A predictive call's deadline is its connect
  deadline (``PREDICTIVE_CONNECT_SECONDS`` after the answer unless the caller says sooner): a
  person the dialer called never waits longer, the dialer plays the abandon message instead.
  Inbound and IVR-transfer calls wait until the caller hangs up, unless given a deadline.

Overflow format (``CampaignRow.overflow``, a JSON list, steps in increasing ``after_seconds``)::

    [{"after_seconds": 20, "relax": ["segment"]},
     {"after_seconds": 40, "relax": ["language"], "min_level": 1}]

``relax`` drops requirements: any of ``language``, ``segment``, ``campaign``, ``skills``.
``min_level`` (1-10) lowers the required skill level. At least one of the two is needed. The
steps are cumulative: after 40 s both segment and language are gone.
"""

from __future__ import annotations

import enum
import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from acd.routing import MAX_LEVEL, ReadyAgent, ReadyPool, Requirements, RoutingRule, meets
from recobro.domain.errors import ValidationError

#: The longest a person the dialer called may wait for an agent (see the pacing issue).
PREDICTIVE_CONNECT_SECONDS = 2.0

RELAXABLE = ("language", "segment", "campaign", "skills")
_STEP_FIELDS = frozenset({"after_seconds", "relax", "min_level"})


class CallKind(enum.StrEnum):
    PREDICTIVE = "predictive"
    INBOUND = "inbound"
    IVR_TRANSFER = "ivr_transfer"


@dataclass(frozen=True, slots=True)
class OverflowStep:
    """After ``after_seconds`` of waiting, drop ``relax`` and lower the level to ``min_level``."""

    after_seconds: float
    relax: frozenset[str] = frozenset()
    min_level: int | None = None

    def apply(self, need: Requirements) -> Requirements:
        out = need
        if "language" in self.relax:
            out = replace(out, language=None)
        if "segment" in self.relax:
            out = replace(out, segment=None)
        if "campaign" in self.relax:
            out = replace(out, campaign_id=None)
        if "skills" in self.relax:
            out = replace(out, skills=())
        if self.min_level is not None and self.min_level < out.min_level:
            out = replace(out, min_level=self.min_level)
        return out


def _step_error(index: int, name: str, problem_es: str, problem_en: str, value: object) -> ValidationError:
    return ValidationError(
        f"Desbordamiento, paso {index + 1}, campo '{name}': {problem_es} / "
        f"Overflow step {index + 1}, field '{name}': {problem_en}",
        field=f"overflow[{index}].{name}",
        value=value,
    )


def parse_overflow(raw: object) -> tuple[OverflowStep, ...]:
    """A campaign's ``overflow`` JSON as steps, or a ``ValidationError`` naming the step and field."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationError(
            "El desbordamiento debe ser una lista de pasos / Overflow must be a list of steps",
            field="overflow",
            value=raw,
        )
    steps: list[OverflowStep] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationError(
                f"Desbordamiento, paso {i + 1}: debe ser un objeto / Overflow step {i + 1}: must be an object",
                field=f"overflow[{i}]",
                value=item,
            )
        steps.append(_parse_step(i, item, steps[-1].after_seconds if steps else None))
    return tuple(steps)


def _parse_step(i: int, item: dict[str, Any], previous: float | None) -> OverflowStep:
    unknown = sorted(set(item) - _STEP_FIELDS)
    if unknown:
        raise _step_error(i, unknown[0], "campo desconocido", "unknown field", item[unknown[0]])
    if "after_seconds" not in item:
        raise _step_error(i, "after_seconds", "falta el campo", "missing field", None)
    after = item["after_seconds"]
    if isinstance(after, bool) or not isinstance(after, int | float) or not 0 <= after < float("inf"):
        raise _step_error(i, "after_seconds", "debe ser un número >= 0", "must be a number >= 0", after)
    if previous is not None and after <= previous:
        raise _step_error(
            i,
            "after_seconds",
            f"debe ser mayor que el del paso anterior ({previous:g})",
            f"must be greater than the previous step's ({previous:g})",
            after,
        )
    relax = item.get("relax", [])
    if not isinstance(relax, list) or not all(isinstance(r, str) for r in relax):
        raise _step_error(i, "relax", "debe ser una lista de nombres", "must be a list of names", relax)
    bad = [r for r in relax if r not in RELAXABLE]
    if bad:
        names = ", ".join(RELAXABLE)
        raise _step_error(
            i, "relax", f"{bad[0]!r} no se puede relajar (se acepta: {names})",
            f"cannot relax {bad[0]!r} (accepted: {names})", bad[0],
        )  # fmt: skip
    level = item.get("min_level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_LEVEL):
        raise _step_error(
            i, "min_level", f"debe ser un entero de 1 a {MAX_LEVEL}", f"must be an integer 1-{MAX_LEVEL}", level
        )
    if not relax and level is None:
        raise _step_error(i, "relax", "el paso no relaja nada", "the step relaxes nothing", relax)
    return OverflowStep(after_seconds=float(after), relax=frozenset(relax), min_level=level)


def relaxed(need: Requirements, steps: Sequence[OverflowStep], waited: float) -> Requirements:
    """``need`` after ``waited`` seconds in the queue: every step already reached, in order."""
    for step in steps:
        if waited < step.after_seconds:
            break
        need = step.apply(need)
    return need


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A person waiting for an agent."""

    call_id: str
    kind: CallKind
    requirements: Requirements  # before any overflow
    enqueued_at: float
    priority: int = 0  # higher is served first
    deadline: float | None = None  # leaves the queue then; None: until the caller hangs up
    overflow: tuple[OverflowStep, ...] = ()
    rule: RoutingRule = RoutingRule.SKILL_THEN_IDLE
    # The requirements after 0, 1, 2... steps, worked out once: a decision only indexes.
    _stages: tuple[Requirements, ...] = field(init=False, repr=False, compare=False)
    _times: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stages = [self.requirements]
        for step in self.overflow:
            stages.append(step.apply(stages[-1]))
        object.__setattr__(self, "_stages", tuple(stages))
        object.__setattr__(self, "_times", tuple(self.enqueued_at + s.after_seconds for s in self.overflow))

    def requirements_at(self, now: float) -> Requirements:
        """The requirements after every overflow step reached by ``now``."""
        return self._stages[bisect_right(self._times, now)]

    def next_relaxation(self, now: float) -> float | None:
        """When the requirements next change (None: they never will again)."""
        i = bisect_right(self._times, now)
        return self._times[i] if i < len(self._times) else None


class CallQueue:
    """The waiting calls of one ACD, in service order; see the module docstring."""

    def __init__(self, *, predictive_connect_seconds: float = PREDICTIVE_CONNECT_SECONDS) -> None:
        self._connect = predictive_connect_seconds
        self._calls: dict[str, tuple[tuple[int, float, int], WaitingCall]] = {}
        self._order: list[tuple[int, float, int, str]] = []  # (-priority, enqueued_at, seq, call_id)
        self._deadlines: list[tuple[float, int, str]] = []  # heap; entries of removed calls linger
        self._seq = 0

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def __iter__(self) -> Iterator[WaitingCall]:
        """The waiting calls in service order."""
        return (self._calls[entry[3]][1] for entry in list(self._order))

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting call has waited (0 when empty), for the supervisor."""
        return max((now - c.enqueued_at for _, c in self._calls.values()), default=0.0)

    def push(
        self,
        call_id: str,
        kind: CallKind,
        requirements: Requirements,
        now: float,
        *,
        priority: int = 0,
        deadline: float | None = None,
        overflow: Sequence[OverflowStep] = (),
        rule: RoutingRule = RoutingRule.SKILL_THEN_IDLE,
    ) -> WaitingCall:
        """Queue a call; a predictive call's deadline is at most ``now`` + the connect deadline."""
        if call_id in self._calls:
            raise ValueError(f"call {call_id} is already waiting")
        if kind is CallKind.PREDICTIVE:
            limit = now + self._connect
            deadline = limit if deadline is None else min(deadline, limit)
        call = WaitingCall(call_id, kind, requirements, now, priority, deadline, tuple(overflow), rule)
        self._seq += 1
        key = (-priority, now, self._seq)
        self._calls[call_id] = (key, call)
        insort(self._order, (*key, call_id))
        if deadline is not None:
            heapq.heappush(self._deadlines, (deadline, self._seq, call_id))
        return call

    def remove(self, call_id: str) -> WaitingCall | None:
        """The call leaves (taken, or the caller hung up); None if it was not waiting."""
        found = self._calls.pop(call_id, None)
        if found is None:
            return None
        key, call = found
        entry = (*key, call_id)
        i = bisect_left(self._order, entry)
        if i < len(self._order) and self._order[i] == entry:
            del self._order[i]
        return call

    def expire(self, now: float) -> list[WaitingCall]:
        """Remove and return the calls whose deadline has come (``deadline <= now``), earliest first."""
        gone: list[WaitingCall] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, seq, call_id = heapq.heappop(self._deadlines)
            found = self._calls.get(call_id)
            if found is not None and found[0][2] == seq:  # not a stale entry of a removed call
                call = self.remove(call_id)
                assert call is not None
                gone.append(call)
        return gone

    def next_change(self, now: float) -> float | None:
        """The next moment something happens by itself: a deadline or an overflow step."""
        times: list[float] = []
        while self._deadlines and self._deadlines[0][2] not in self._calls:
            heapq.heappop(self._deadlines)  # drop the stale head so it cannot be reported
        if self._deadlines:
            times.append(self._deadlines[0][0])
        for _, call in self._calls.values():
            at = call.next_relaxation(now)
            if at is not None:
                times.append(at)
        return min(times, default=None)

    def best_for(self, agent: ReadyAgent, now: float) -> WaitingCall | None:
        """The first call in service order that ``agent`` may take now (expired calls skipped)."""
        for entry in self._order:
            call = self._calls[entry[3]][1]
            if call.deadline is not None and call.deadline <= now:
                continue
            if meets(agent, call.requirements_at(now)):
                return call
        return None

    def take_for_agent(self, agent: ReadyAgent, now: float) -> WaitingCall | None:
        """An agent became ready: the best call they may take, removed from the queue."""
        call = self.best_for(agent, now)
        if call is not None:
            self.remove(call.call_id)
        return call

    def dispatch(self, pool: ReadyPool, now: float) -> list[tuple[WaitingCall, ReadyAgent]]:
        """Match waiting calls (in service order) with ready agents; both leave their containers.

        For when requirements relaxed or several agents became ready at once: each call, best
        first, gets the best agent its rule picks among those still unmatched.
        """
        matches: list[tuple[WaitingCall, ReadyAgent]] = []
        for call in list(self):
            if not pool:
                break
            if call.deadline is not None and call.deadline <= now:
                continue
            agent = pool.choose(call.requirements_at(now), call.rule)
            if agent is None:
                continue
            pool.remove(agent.id)
            self.remove(call.call_id)
            matches.append((call, agent))
        return matches
