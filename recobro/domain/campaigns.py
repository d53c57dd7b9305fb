"""Campaigns: who is dialed, how, when, and within which limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import time

from recobro.domain.errors import ValidationError
from recobro.domain.ids import CampaignId


class CampaignMode(enum.StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    IVR = "ivr"


class HopperOrder(enum.StrEnum):
    """The order in which a campaign wants its numbers (after due callbacks)."""

    RISK_DESC = "risk_desc"
    BALANCE_DESC = "balance_desc"
    OLDEST_DUE = "oldest_due"
    SCORE = "score"  # custom score stored on the account's extra data


class RetryOutcome(enum.StrEnum):
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"
    ABANDONED = "abandoned"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """A campaign's own daily window in the debtor's local time (start inclusive, end exclusive)."""

    start: time = time(9, 0)
    end: time = time(20, 0)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError("calling window end must be after start", field="window")


DEFAULT_RETRY_SECONDS: dict[RetryOutcome, int] = {
    RetryOutcome.BUSY: 15 * 60,
    RetryOutcome.NO_ANSWER: 2 * 3600,
    RetryOutcome.MACHINE: 4 * 3600,
    RetryOutcome.ABANDONED: 72 * 3600,
    RetryOutcome.FAILED: 24 * 3600,
}


@dataclass(frozen=True, slots=True)
class RetryRules:
    """Delay before a number may be dialed again, by the outcome of its last attempt."""

    delay_seconds: dict[RetryOutcome, int] = field(default_factory=lambda: dict(DEFAULT_RETRY_SECONDS))
    max_attempts_per_number: int = 10
    max_attempts_per_number_per_day: int = 3

    def delay_for(self, outcome: RetryOutcome) -> int:
        return self.delay_seconds.get(outcome, DEFAULT_RETRY_SECONDS[outcome])


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    mode: CampaignMode = CampaignMode.PREDICTIVE
    target_abandon_rate: float = 0.03
    max_dial_ratio: float = 3.0
    window: CallingWindow = field(default_factory=CallingWindow)
    retry: RetryRules = field(default_factory=RetryRules)
    required_skills: tuple[str, ...] = ()
    hopper_order: HopperOrder = HopperOrder.RISK_DESC
    wrap_up_limit_seconds: int = 60
    promise_horizon_days: int = 30
    connect_within_seconds: float = 2.0
    no_answer_timeout_seconds: int = 25
    amd_enabled: bool = True
    company_name: str = "Recobro"
    callback_number: str = "+525555555555"
    paused: bool = False
    id: CampaignId | None = None

    def __post_init__(self) -> None:
        validate_pacing_limits(self.target_abandon_rate, self.max_dial_ratio)
        if self.no_answer_timeout_seconds < 15:
            raise ValidationError("no_answer_timeout must be >= 15 s (FTC rule)", field="no_answer_timeout")


def validate_pacing_limits(target_abandon_rate: float, max_dial_ratio: float) -> None:
    """The limits a supervisor may set: the legal abandon cap and a sane dial ratio."""
    if not 0.0 <= target_abandon_rate <= 0.03:
        raise ValidationError(
            f"target abandon rate must be between 0 and 0.03, got {target_abandon_rate}",
            field="target_abandon_rate",
        )
    if not 1.0 <= max_dial_ratio <= 10.0:
        raise ValidationError(
            f"max dial ratio must be between 1 and 10, got {max_dial_ratio}", field="max_dial_ratio"
        )
