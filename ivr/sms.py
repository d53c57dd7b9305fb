"""A pluggable SMS gateway. The default queues the message in ``sms_outbox`` and logs it.

A real provider is a class with the same ``send``; the runtime picks one. The log shows the
number masked (last 4 digits) and never the body, which holds the payment link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.storage.models import SmsOutboxRow

log = logging.getLogger(__name__)

BODIES = {
    "es": "{company}: para pagar su saldo use este enlace: {link}",
    "en": "{company}: to pay your balance use this link: {link}",
}


class SmsError(Exception):
    """The gateway refused or failed to take the message."""


class SmsGateway(Protocol):
    async def send(self, to: str, body: str, *, account_id: int | None) -> None: ...


def masked_number(number: str) -> str:
    return "*" * max(0, len(number) - 4) + number[-4:]


def pay_link_body(company: str, link: str, language: str) -> str:
    return BODIES.get(language, BODIES["es"]).format(company=company, link=link)


class OutboxSmsGateway:
    """Writes each message to ``sms_outbox`` (status ``queued``) for a sender process to pick up."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, now: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._now = now

    async def send(self, to: str, body: str, *, account_id: int | None) -> None:
        if not to or len(to) > 16 or len(body) > 500:
            raise SmsError(f"SMS refused: number {masked_number(to)!r} or body length {len(body)} out of bounds")
        async with self._sessions() as s, s.begin():
            await s.execute(
                insert(SmsOutboxRow).values(
                    account_id=account_id, to_number=to, body=body, status="queued", created_at=self._now()
                )
            )
        log.info("SMS queued in the outbox for %s (account %s)", masked_number(to), account_id)
