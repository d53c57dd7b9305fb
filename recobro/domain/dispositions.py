"""What came of a conversation: dispositions and promises to pay."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from recobro.domain.errors import ValidationError


class DispositionCode(enum.StrEnum):
    PROMISE_TO_PAY = "promise_to_pay"
    PAID = "paid"
    REFUSED = "refused"
    WRONG_PARTY = "wrong_party"
    DISPUTE = "dispute"
    CALLBACK = "callback"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"
    ABANDONED = "abandoned"

    @property
    def is_conversation(self) -> bool:
        """A conversation with the debtor about the debt (starts the 7-day quiet period)."""
        return self in (
            DispositionCode.PROMISE_TO_PAY,
            DispositionCode.PAID,
            DispositionCode.REFUSED,
            DispositionCode.DISPUTE,
            DispositionCode.CALLBACK,
        )

    @property
    def is_right_party_contact(self) -> bool:
        return self.is_conversation


class PromiseStatus(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Disposition:
    code: DispositionCode
    notes: str = ""
    promise_amount: Decimal | None = None
    promise_date: date | None = None
    callback_at: datetime | None = None  # aware datetime


def validate_disposition(
    disp: Disposition, *, balance: Decimal, today: date, horizon_days: int, now: datetime
) -> Disposition:
    """Refuse a disposition whose promise or callback does not make sense; says what and why."""
    if len(disp.notes) > 2000:
        raise ValidationError(
            "las notas admiten hasta 2000 caracteres / notes must be at most 2000 characters", field="notes"
        )
    if disp.code == DispositionCode.PROMISE_TO_PAY:
        if disp.promise_amount is None or disp.promise_date is None:
            raise ValidationError(
                "una promesa de pago necesita monto y fecha / a promise to pay needs an amount and a date",
                field="promise_amount",
            )
        validate_promise(
            disp.promise_amount, disp.promise_date, balance=balance, today=today, horizon_days=horizon_days
        )
    elif disp.promise_amount is not None or disp.promise_date is not None:
        raise ValidationError(
            "monto y fecha de promesa solo van con promise_to_pay / promise amount/date only go with promise_to_pay",
            field="promise_amount",
        )
    if disp.code == DispositionCode.CALLBACK:
        if disp.callback_at is None:
            raise ValidationError(
                "una rellamada necesita fecha y hora / a callback needs a date and time", field="callback_at"
            )
        if disp.callback_at.tzinfo is None:
            raise ValidationError(
                "la hora de la rellamada debe llevar zona horaria / callback time must carry a time zone",
                field="callback_at",
            )
        if disp.callback_at <= now:
            raise ValidationError("la hora de la rellamada ya pasó / callback time is in the past", field="callback_at")
        if disp.callback_at > now + timedelta(days=horizon_days):
            raise ValidationError(
                f"la rellamada es a más de {horizon_days} días / callback is more than {horizon_days} days ahead",
                field="callback_at",
            )
    return disp


def validate_promise(amount: Decimal, when: date, *, balance: Decimal, today: date, horizon_days: int) -> None:
    if amount <= 0:
        raise ValidationError(
            "el monto prometido debe ser mayor que cero / promised amount must be positive",
            field="promise_amount",
            value=amount,
        )
    if amount > balance:
        raise ValidationError(
            f"el monto prometido {amount} supera el saldo {balance} / "
            f"promised amount {amount} is above the balance {balance}",
            field="promise_amount",
            value=amount,
        )
    if when < today:
        raise ValidationError(
            "la fecha de la promesa ya pasó / promise date is in the past", field="promise_date", value=when
        )
    if when > today + timedelta(days=horizon_days):
        raise ValidationError(
            f"la fecha de la promesa pasa del horizonte de {horizon_days} días de la campaña / "
            f"promise date is beyond the campaign's {horizon_days}-day horizon",
            field="promise_date",
            value=when,
        )
