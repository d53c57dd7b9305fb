"""Scenario files (TOML) for the simulated PBX: the contract in shared/scenario-format.md.

A scenario describes a campaign's population (who answers, how fast), its agents (how many,
how long they talk) and AMD's errors. Every key is checked: an unknown key is an error that
names it, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recobro.domain.errors import ValidationError
from recobro.telephony.sim.distributions import Duration, Schedule, parse_duration, parse_schedule


@dataclass(frozen=True, slots=True)
class AgentsSpec:
    schedule: Schedule  # agents logged in, by hour
    talk: Duration
    wrap: Duration


@dataclass(frozen=True, slots=True)
class NumbersSpec:
    count: int
    human_answer_rate: Schedule
    machine_rate: Schedule
    busy_rate: Schedule
    invalid_rate: Schedule
    ring: Duration
    no_answer_timeout: float


@dataclass(frozen=True, slots=True)
class AmdSpec:
    enabled: bool
    analysis: Duration
    human_as_machine: float
    machine_as_human: float
    machine_agent_seconds: Duration


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    hours: float
    agents: AgentsSpec
    numbers: NumbersSpec
    amd: AmdSpec
    target_abandon: float
    connect_within: float

    def max_agents(self) -> int:
        return int(max(self.agents.schedule.values))


_SECTIONS: dict[str, set[str]] = {
    "run": {"seed", "hours"},
    "agents": {"count", "schedule", "talk_seconds", "wrap_seconds"},
    "numbers": {
        "count",
        "human_answer_rate",
        "machine_rate",
        "busy_rate",
        "invalid_rate",
        "ring_seconds",
        "no_answer_timeout",
    },
    "amd": {"enabled", "analysis_seconds", "human_as_machine", "machine_as_human", "machine_agent_seconds"},
    "campaign": {"target_abandon", "connect_within"},
}
_REQUIRED = {
    "run": {"hours"},
    "agents": {"talk_seconds", "wrap_seconds"},
    "numbers": {"count", "human_answer_rate", "ring_seconds"},
}


def _fail(key: str, message: str) -> ValidationError:
    return ValidationError(f"{key}: {message}", field=key)


def _int(value: Any, key: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"se esperaba un entero / expected an integer, got {value!r}")
    if value < low:
        raise _fail(key, f"debe ser >= {low} / must be >= {low}, got {value}")
    return value


def _float(value: Any, key: str, *, low: float, high: float | None = None, strict_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"se esperaba un número / expected a number, got {value!r}")
    number = float(value)
    too_low = number <= low if strict_low else number < low
    if too_low or (high is not None and number > high) or number != number:
        raise _fail(key, f"fuera de rango / out of range: {number}")
    return number


def _check_keys(data: dict[str, Any]) -> None:
    for section, body in data.items():
        if section not in _SECTIONS:
            raise _fail(section, "sección desconocida / unknown section")
        if not isinstance(body, dict):
            raise _fail(section, "debe ser una tabla / must be a table")
        for key in body:
            if key not in _SECTIONS[section]:
                raise _fail(f"{section}.{key}", "clave desconocida / unknown key")
    for section, keys in _REQUIRED.items():
        for key in keys:
            if key not in data.get(section, {}):
                raise _fail(f"{section}.{key}", "falta / missing")


def scenario_from_dict(data: dict[str, Any], name: str) -> Scenario:
    """Validate a parsed TOML document; raises ValidationError naming the offending key."""
    _check_keys(data)
    run, agents, numbers = data.get("run", {}), data.get("agents", {}), data.get("numbers", {})
    amd, campaign = data.get("amd", {}), data.get("campaign", {})
    if ("count" in agents) == ("schedule" in agents):
        raise _fail("agents.count", "usa count o schedule, uno de los dos / give exactly one of count or schedule")
    if "count" in agents:
        schedule = Schedule(((0.0, float(_int(agents["count"], "agents.count", low=0))),))
    else:
        schedule = parse_schedule(agents["schedule"], "agents.schedule", low=0, high=None)
        for hour, count in schedule.points:
            if count != int(count):
                raise _fail("agents.schedule", f"agentes enteros / whole agents, got {count} at hour {hour}")
    if max(schedule.values) < 1:
        raise _fail("agents", "hace falta al menos un agente / at least one agent is needed")
    rates = {
        key: parse_schedule(numbers.get(key, 0.0), f"numbers.{key}", low=0.0, high=1.0)
        for key in ("human_answer_rate", "machine_rate", "busy_rate", "invalid_rate")
    }
    hours = sorted({h for s in rates.values() for h, _ in s.points})
    for hour in hours:
        total = sum(s.at(hour) for s in rates.values())
        if total > 1.0 + 1e-9:
            raise _fail("numbers", f"las tasas suman {total:.3f} > 1 en la hora {hour} / rates add up to more than 1")
    enabled = amd.get("enabled", bool(amd))
    if not isinstance(enabled, bool):
        raise _fail("amd.enabled", "se esperaba true o false / expected true or false")
    return Scenario(
        name=name,
        seed=_int(run.get("seed", 1), "run.seed", low=0),
        hours=_float(run["hours"], "run.hours", low=0.0, high=24 * 31, strict_low=True),
        agents=AgentsSpec(
            schedule=schedule,
            talk=parse_duration(agents["talk_seconds"], "agents.talk_seconds"),
            wrap=parse_duration(agents["wrap_seconds"], "agents.wrap_seconds"),
        ),
        numbers=NumbersSpec(
            count=_int(numbers["count"], "numbers.count", low=1),
            ring=parse_duration(numbers["ring_seconds"], "numbers.ring_seconds"),
            no_answer_timeout=_float(
                numbers.get("no_answer_timeout", 25), "numbers.no_answer_timeout", low=1.0, high=300
            ),
            **rates,
        ),
        amd=AmdSpec(
            enabled=enabled,
            analysis=parse_duration(amd.get("analysis_seconds", 2.5), "amd.analysis_seconds"),
            human_as_machine=_float(amd.get("human_as_machine", 0.0), "amd.human_as_machine", low=0.0, high=1.0),
            machine_as_human=_float(amd.get("machine_as_human", 0.0), "amd.machine_as_human", low=0.0, high=1.0),
            machine_agent_seconds=parse_duration(amd.get("machine_agent_seconds", 6), "amd.machine_agent_seconds"),
        ),
        target_abandon=_float(campaign.get("target_abandon", 0.03), "campaign.target_abandon", low=0.0, high=1.0),
        connect_within=_float(campaign.get("connect_within", 2.0), "campaign.connect_within", low=0.0, high=60.0),
    )


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; errors say the file and the key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: no se puede leer / cannot read ({exc.strerror})", field="scenario") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: TOML inválido / invalid TOML: {exc}", field="scenario") from exc
    return scenario_from_dict(data, path.stem)
