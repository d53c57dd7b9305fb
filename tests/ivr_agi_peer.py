"""A test peer that speaks AGI over TCP the way Asterisk does, with a scripted caller.

``keys`` is what the caller does, in order: a digit is a key press; ``"T"`` is silence for one
whole prompt (the prompt plays through and the next wait for a digit times out); ``"P"`` lets
the next prompt play to its end. A key press
cuts the prompt being played (STREAM FILE with escape digits returns it), like a real caller
typing ahead. ``played`` lists every file Asterisk was asked to play, ``commands`` every line.
"""

from __future__ import annotations

import asyncio
import shlex
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.identity import hash_pin
from recobro.storage.models import AccountRow, CallRow, CampaignRow, PhoneRow

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # Thursday 12:00 in Mexico City
PHONE = "+525512345678"


def agi_headers(script: str, *, caller_id: str = "unknown", extra: Mapping[str, str] | None = None) -> bytes:
    lines = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1:4573/{script}",
        "channel": "PJSIP/carrier-00000001",
        "language": "en",
        "type": "PJSIP",
        "uniqueid": "1764144000.42",
        "version": "22.10.1",
        "callerid": caller_id,
        "calleridname": "unknown",
        "context": "recobro-ivr",
        "extension": "s",
        "priority": "1",
        **(extra or {}),
    }
    return "".join(f"agi_{k}: {v}\n" for k, v in lines.items()).encode() + b"\n"


@dataclass
class FakeAsterisk:
    """One call's AGI session from the PBX's side."""

    keys: list[str]
    variables: dict[str, str] = field(default_factory=dict)
    dial_status: str = "ANSWER"
    hangup_after_commands: int | None = None  # the caller hangs up after this many commands
    hangup_in_dial: bool = False  # the caller hangs up while bridged to the agent
    played: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    hung_up_by_script: bool = False

    async def run(self, host: str, port: int, script: str, *, caller_id: str = "unknown") -> None:
        reader, writer = await asyncio.open_connection(host, port)
        queue = deque(self.keys)
        writer.write(agi_headers(script, caller_id=caller_id))
        await writer.drain()
        dead = False
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode().rstrip("\n")
                self.commands.append(text)
                if dead and text.startswith("GET VARIABLE"):  # allowed on a dead channel
                    writer.write(self._reply(shlex.split(text), queue).encode() + b"\n")
                    await writer.drain()
                    continue
                if dead:
                    writer.write(b"511 Command Not Permitted on a dead channel or intercept routine\n")
                    await writer.drain()
                    continue
                if self.hangup_after_commands is not None and len(self.commands) > self.hangup_after_commands:
                    dead = True
                    writer.write(b"HANGUP\n200 result=-1\n")
                    await writer.drain()
                    continue
                reply = self._reply(shlex.split(text), queue)
                if self.hangup_in_dial and text.startswith("EXEC Dial"):
                    dead = True
                    reply = "HANGUP\n200 result=-1"
                writer.write(reply.encode() + b"\n")
                await writer.drain()
                if text == "HANGUP":
                    self.hung_up_by_script = True
                    return
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def _reply(self, words: list[str], queue: deque[str]) -> str:
        head = " ".join(words[:2])
        if words[0] == "ANSWER":
            return "200 result=0"
        if head == "STREAM FILE":
            self.played.append(words[2])
            escape = words[3] if len(words) > 3 else ""
            if queue and queue[0] == "P":
                queue.popleft()
                return "200 result=0 endpos=16000"
            if queue and queue[0] != "T" and queue[0] in escape:
                return f"200 result={ord(queue.popleft())} endpos=800"
            return "200 result=0 endpos=16000"
        if words[:3] == ["WAIT", "FOR", "DIGIT"]:
            if not queue:
                return "200 result=0"
            key = queue.popleft()
            return "200 result=0" if key == "T" else f"200 result={ord(key)}"
        if head == "SET VARIABLE":
            self.variables[words[2]] = words[3]
            return "200 result=1"
        if head == "GET VARIABLE":
            value = self.variables.get(words[2])
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if words[0] == "EXEC" and words[1] == "ConfBridge":
            self.dialed.append(words[2])
            return "200 result=0"
        if words[0] == "EXEC" and words[1] == "Dial":
            self.dialed.append(words[2])
            self.variables["DIALSTATUS"] = self.dial_status
            return "200 result=0"
        if words[0] == "HANGUP":
            return "200 result=1"
        if words[0] == "VERBOSE":
            return "200 result=1"
        return "510 Invalid or unknown command"


async def seed_ivr(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """One debtor (PIN 482913, id ending 0109, phone PHONE), an ivr campaign, call c0ffee0001."""
    async with sessions() as s, s.begin():
        account = AccountRow(
            external_ref="A-1001",
            debtor_name="María Pérez",
            national_id="PEGM800101MDFRRR09",
            balance=Decimal("1234.50"),
            currency="MXN",
            due_date=date(2026, 11, 5),
            days_past_due=21,
            language="es",
            state="MX-CMX",
            region="MX",
            pin_hash=hash_pin("482913"),
            extra={"skills": ["early"]},
            content_hash="x",
            created_at=NOW,
            updated_at=NOW,
        )
        account.phones = [PhoneRow(e164=PHONE, position=1, type="mobile")]
        s.add(account)
        campaign = CampaignRow(
            name="ivr-early",
            mode="ivr",
            company_name="Cobranza Uno",
            callback_number="+525511112222",
            promise_horizon_days=30,
            required_skills=["es"],
            created_at=NOW,
        )
        s.add(campaign)
        await s.flush()
        await s.execute(
            insert(CallRow).values(
                id="c0ffee0001", campaign_id=campaign.id, account_id=account.id, number=PHONE, mode="ivr"
            )
        )
        return account.id, campaign.id
