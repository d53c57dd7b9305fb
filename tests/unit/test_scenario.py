"""Scenario files: the shared contract's format, and errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recobro.domain.errors import ValidationError
from recobro.telephony.sim.distributions import parse_duration
from recobro.telephony.sim.scenario import load_scenario, scenario_from_dict

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"


def base() -> dict[str, Any]:
    return {
        "run": {"seed": 7, "hours": 1.0},
        "agents": {"count": 3, "talk_seconds": 60, "wrap_seconds": {"dist": "uniform", "low": 5, "high": 10}},
        "numbers": {"count": 1000, "human_answer_rate": 0.3, "ring_seconds": {"dist": "lognormal", "mean": 9, "sd": 5}},
    }


def test_every_shared_scenario_loads() -> None:
    files = sorted(SHARED.glob("*.toml"))
    assert files, f"no scenarios in {SHARED}"
    for path in files:
        scenario = load_scenario(path)
        assert scenario.name == path.stem
        assert scenario.hours > 0 and scenario.max_agents() >= 1


def test_defaults_fill_optional_sections() -> None:
    scenario = scenario_from_dict(base(), "t")
    assert scenario.target_abandon == 0.03 and scenario.connect_within == 2.0
    assert not scenario.amd.enabled
    assert scenario.numbers.no_answer_timeout == 25


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"run": {"hours": 1.0, "sedd": 3}}, "run.sedd"),
        ({"extra": {"a": 1}}, "extra"),
        ({"amd": {"enabled": True, "human_as_machin": 0.1}}, "amd.human_as_machin"),
        ({"campaign": {"target": 0.02}}, "campaign.target"),
        (
            {"numbers": {"count": 10, "human_answer_rate": 0.3, "ring_seconds": {"dist": "gamma", "mean": 3}}},
            "numbers.ring_seconds.dist",
        ),
        (
            {"numbers": {"count": 10, "human_answer_rate": 0.3, "ring_seconds": {"dist": "lognormal", "mean": 3}}},
            "numbers.ring_seconds.sd",
        ),
        ({"numbers": {"count": 10, "human_answer_rate": 0.8, "machine_rate": 0.3, "ring_seconds": 5}}, "numbers"),
        ({"numbers": {"count": 10, "human_answer_rate": [[1.0, 0.3]], "ring_seconds": 5}}, "numbers.human_answer_rate"),
        ({"numbers": {"count": 10, "human_answer_rate": 1.5, "ring_seconds": 5}}, "numbers.human_answer_rate"),
        ({"numbers": {"count": 0, "human_answer_rate": 0.3, "ring_seconds": 5}}, "numbers.count"),
        ({"agents": {"talk_seconds": 60, "wrap_seconds": 5}}, "agents.count"),
        ({"agents": {"count": 2, "schedule": [[0.0, 2]], "talk_seconds": 60, "wrap_seconds": 5}}, "agents.count"),
        ({"agents": {"schedule": [[0.0, 2.5]], "talk_seconds": 60, "wrap_seconds": 5}}, "agents.schedule"),
        ({"agents": {"count": 3, "talk_seconds": -4, "wrap_seconds": 5}}, "agents.talk_seconds"),
        ({"agents": {"count": 3, "talk_seconds": "long", "wrap_seconds": 5}}, "agents.talk_seconds"),
        ({"run": {"hours": 0}}, "run.hours"),
        ({"run": {}}, "run.hours"),
    ],
)
def test_bad_scenarios_name_the_key(patch: dict[str, Any], key: str) -> None:
    data = base() | patch
    with pytest.raises(ValidationError) as err:
        scenario_from_dict(data, "t")
    assert str(err.value).startswith(key), str(err.value)
    assert err.value.field == key


def test_unreadable_or_invalid_toml_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nhours = 1", encoding="utf-8")
    with pytest.raises(ValidationError, match="invalid TOML"):
        load_scenario(bad)


def test_schedules_switch_at_their_hours() -> None:
    data = base()
    data["numbers"]["human_answer_rate"] = [[0.0, 0.30], [4.0, 0.12]]
    data["agents"] = {"schedule": [[0.0, 30], [3.0, 20]], "talk_seconds": 60, "wrap_seconds": 5}
    scenario = scenario_from_dict(data, "t")
    assert scenario.numbers.human_answer_rate.at(3.99) == 0.30
    assert scenario.numbers.human_answer_rate.at(4.0) == 0.12
    assert scenario.agents.schedule.at(3.5) == 20 and scenario.max_agents() == 30


@pytest.mark.parametrize(
    ("table", "mean"),
    [
        ({"dist": "lognormal", "mean": 140, "sd": 80}, 140),
        ({"dist": "exponential", "mean": 30}, 30),
        ({"dist": "uniform", "low": 1.5, "high": 3.5}, 2.5),
        ({"dist": "empirical", "values": [12, 30, 45, 300]}, 96.75),
        (25, 25),
    ],
)
def test_durations_have_the_mean_the_file_says(table: Any, mean: float) -> None:
    duration = parse_duration(table, "x")
    draws = duration.sample(np.random.Generator(np.random.PCG64(1)), 200_000)
    assert draws.mean() == pytest.approx(mean, rel=0.02)
    if isinstance(table, dict) and table["dist"] == "lognormal":
        assert draws.std() == pytest.approx(80, rel=0.05)  # sd of the value, not of its log


def test_shared_format_example_parses() -> None:
    text = (Path(__file__).resolve().parents[2].parent / "shared" / "scenario-format.md").read_text(encoding="utf-8")
    block = text.split("```toml", 1)[1].split("```", 1)[0]
    scenario = scenario_from_dict(tomllib.loads(block), "example")
    assert scenario.amd.enabled and scenario.numbers.count == 200000
