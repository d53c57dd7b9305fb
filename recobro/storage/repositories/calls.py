"""Call rows: one per attempt, written as the call moves (``dialer.ports.CallLog``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.domain.calls import Call, CallState, Outcome
from recobro.domain.events import HangupCause
from recobro.storage.models import CallRow

WallOf = Callable[[float | None], datetime | None]


def _columns(call: Call, wall: WallOf) -> dict[str, Any]:
    return {
        "state": call.state.value,
        "queued_at": wall(call.queued_at),
        "dialed_at": wall(call.dialed_at),
        "ringing_at": wall(call.ringing_at),
        "answered_at": wall(call.answered_at),
        "amd_at": wall(call.amd_at),
        "amd_verdict": call.amd_verdict.value if call.amd_verdict else None,
        "connected_at": wall(call.connected_at),
        "ended_at": wall(call.ended_at),
        "hangup_cause": call.cause.value if call.cause else None,
        "outcome": call.outcome.value if call.outcome else None,
    }


class CallRepository:
    """Writes the engine's calls; every write is its own short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def insert(
        self, call: Call, *, campaign_id: int, account_id: int, number: str, mode: str, wall: WallOf
    ) -> None:
        values = {
            "id": call.id,
            "campaign_id": campaign_id,
            "account_id": account_id,
            "number": number,
            "direction": "outbound",
            "mode": mode,
            **_columns(call, wall),
        }
        async with self._sessions() as s, s.begin():
            await s.execute(insert(CallRow).values(**values))

    async def save(self, call: Call, *, agent_id: int | None, wall: WallOf, outcome: str | None = None) -> None:
        values = _columns(call, wall)
        if outcome is not None:  # the IVR's outcome of a campaign in mode ivr (promise_to_pay, ...)
            values["outcome"] = outcome
        if agent_id is not None:
            values["agent_id"] = agent_id
        async with self._sessions() as s, s.begin():
            await s.execute(update(CallRow).where(CallRow.id == call.id).values(**values))

    async def close_unfinished(self, at: datetime, detail: str = "platform restarted") -> int:
        """End the calls a previous run left open (it stopped without closing them); returns how many.

        Their fate is unknown, so they are recorded as lost to the PBX, never as connected.
        """
        q = (
            update(CallRow)
            .where(CallRow.ended_at.is_(None))
            .values(
                state=CallState.ENDED.value,
                ended_at=at,
                hangup_cause=HangupCause.PBX_LOST.value,
                cause_detail=detail,
                outcome=Outcome.FAILED.value,
            )
        )
        async with self._sessions() as s, s.begin():
            result = await s.execute(q)
        return int(getattr(result, "rowcount", 0) or 0)
