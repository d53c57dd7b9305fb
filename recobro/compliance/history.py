"""The attempts already made, as plain values, and an index of them by account and by number.

The rules are pure functions of this history: storage turns call rows into ``Attempt``s and
the hopper indexes them once per batch, so that checking 100,000 candidates costs one dict
look-up each instead of a scan of the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from recobro.domain.campaigns import RetryOutcome
from recobro.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Attempt:
    """One dial of ``number`` for the account ``account_ref`` at ``at`` (aware).

    ``outcome`` is the retry outcome, or None when a person answered and the call was handled;
    ``conversation`` is True when the debtor talked with us about this debt (it starts Reg F's
    seven quiet days).
    """

    number: str
    account_ref: str
    at: datetime
    outcome: RetryOutcome | None = None
    conversation: bool = False

    def __post_init__(self) -> None:
        # A naive time cannot be placed in the debtor's day; refuse it here, where it is made,
        # rather than as a TypeError deep inside a batch.
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValidationError("attempt time must carry a time zone", field="at", value=self.at)

    @property
    def reached_line(self) -> bool:
        """The call was answered, by a person or a machine that may take a message: a contact."""
        return self.conversation or self.outcome is None or self.outcome == RetryOutcome.MACHINE


_EMPTY: tuple[Attempt, ...] = ()


class History:
    """Attempts grouped by account and by number, each group sorted by time (oldest first)."""

    __slots__ = ("_by_account", "_by_number")

    def __init__(self, attempts: Iterable[Attempt]) -> None:
        # One sort of the whole history leaves every group in time order as it is filled.
        by_account: dict[str, list[Attempt]] = {}
        by_number: dict[str, list[Attempt]] = {}
        for a in sorted(attempts, key=_at):
            by_account.setdefault(a.account_ref, []).append(a)
            by_number.setdefault(a.number, []).append(a)
        self._by_account = by_account
        self._by_number = by_number

    def for_account(self, account_ref: str) -> Sequence[Attempt]:
        return self._by_account.get(account_ref, _EMPTY)

    def for_number(self, number: str) -> Sequence[Attempt]:
        return self._by_number.get(number, _EMPTY)


def as_history(history: History | Iterable[Attempt]) -> History:
    """Accept either an index or a plain list of attempts."""
    return history if isinstance(history, History) else History(history)


def _at(a: Attempt) -> datetime:
    return a.at
