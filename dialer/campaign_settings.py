"""What a campaign's settings mean to the dialer: its pacing strategy, its abandon message, and
the fields a supervisor may change while it runs (validated here, before anything is stored).
"""

from __future__ import annotations

import math
from dataclasses import replace

from dialer.pacing import LinesStrategy, PacingStrategy, PreviewStrategy, predictive, progressive
from recobro.domain.campaigns import Campaign, CampaignMode, validate_pacing_limits
from recobro.domain.errors import ValidationError

#: Fields a supervisor may change while the campaign runs.
LIVE_FIELDS = ("mode", "target_abandon_rate", "max_dial_ratio", "paused")


def strategy_for(campaign: Campaign, *, amd_false_positive: float = 0.0) -> PacingStrategy:
    """The pacing strategy of the campaign's mode (preview: only the agents' own requests)."""
    if campaign.mode == CampaignMode.PREVIEW:
        return PreviewStrategy()
    if campaign.mode == CampaignMode.IVR:
        return LinesStrategy()
    if campaign.mode == CampaignMode.PROGRESSIVE:
        return progressive()
    if campaign.mode == CampaignMode.PREDICTIVE:
        return predictive(
            target=campaign.target_abandon_rate,
            amd_false_positive=amd_false_positive if campaign.amd_enabled else 0.0,
            ring_timeout=float(campaign.no_answer_timeout_seconds),
            connect_within=campaign.connect_within_seconds,
            max_dial_ratio=campaign.max_dial_ratio,
        )
    raise ValidationError(
        f"este motor no marca campañas en modo {campaign.mode.value} / "
        f"this engine does not dial {campaign.mode.value} campaigns",
        field="mode",
        value=campaign.mode.value,
    )


def abandon_text(campaign: Campaign) -> str:
    """The default abandon message: names the company and the number to call back (FTC/Reg F)."""
    return (
        f"Le llamamos de {campaign.company_name}. Por favor comuníquese al {campaign.callback_number}. "
        f"This is {campaign.company_name}; please call us back at {campaign.callback_number}."
    )


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, CampaignMode):
        return value.value
    return str(value)


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "si", "sí"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    raise ValidationError(f"se esperaba true o false / expected true or false, got {value!r}", field="paused")


def _parse_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"se esperaba un número / expected a number, got {value!r}", field=name)
    try:
        number = float(value)
    except ValueError as exc:
        raise ValidationError(f"se esperaba un número / expected a number, got {value!r}", field=name) from exc
    if not math.isfinite(number):
        raise ValidationError(f"número no finito / not a finite number: {value!r}", field=name)
    return number


def changed_campaign(campaign: Campaign, name: str, value: object) -> Campaign:
    """The campaign with one live field changed, validated; ValidationError names what is wrong."""
    if name == "mode":
        try:
            mode = CampaignMode(str(value))
        except ValueError as exc:
            raise ValidationError(f"modo desconocido / unknown mode {value!r}", field="mode") from exc
        return replace(campaign, mode=mode)
    if name == "paused":
        return replace(campaign, paused=_parse_bool(value))
    if name == "target_abandon_rate":
        target = _parse_float(value, name)
        validate_pacing_limits(target, campaign.max_dial_ratio)
        return replace(campaign, target_abandon_rate=target)
    if name == "max_dial_ratio":
        ratio = _parse_float(value, name)
        validate_pacing_limits(campaign.target_abandon_rate, ratio)
        return replace(campaign, max_dial_ratio=ratio)
    raise ValidationError(
        f"no se puede cambiar en vivo / not a live field: {name!r} ({', '.join(LIVE_FIELDS)})", field=name
    )
