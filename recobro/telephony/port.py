"""TelephonyPort: the one interface the dialer, the ACD and the IVR use to reach a PBX.

Adapters: ``recobro.telephony.sim`` (SimulatedPbx, virtual or real time) and
``recobro.telephony.ami`` (Asterisk). Only ``recobro.runtime`` and the tests pick one.
Commands are fire-and-confirm: the coroutine returns once the PBX accepted the command;
what happens to the call arrives later as events (``recobro.domain.events``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from recobro.domain.errors import ValidationError
from recobro.domain.events import CallEvent
from recobro.domain.ids import CallId, is_call_id
from recobro.domain.text import has_control_chars

_MAX_VALUE = 256


def safe_value(value: str, *, field: str, max_len: int = _MAX_VALUE) -> str:
    """A value that may go into an AMI action or a channel variable: no CR/LF/control, bounded."""
    if has_control_chars(value):
        raise ValidationError(f"{field} contains control characters", field=field, value=value)
    if len(value) > max_len:
        raise ValidationError(f"{field} is longer than {max_len} characters", field=field, value=value)
    return value


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """An outbound call to place. ``variables`` become channel variables on the call."""

    call_id: CallId
    number: str  # E.164, '+' and digits
    caller_id: str = ""
    ring_timeout: float = 25.0
    amd: bool = True
    context: str = "recobro-outbound"  # the dialplan entry for a real PBX
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_call_id(self.call_id):
            raise ValidationError("call id must be 8-32 lowercase hex digits", field="call_id", value=self.call_id)
        if not (self.number.startswith("+") and self.number[1:].isdigit() and 8 <= len(self.number) <= 16):
            raise ValidationError("number must be E.164 (+ and 7-15 digits)", field="number", value=self.number)
        safe_value(self.caller_id, field="caller_id", max_len=80)
        if not 1.0 <= self.ring_timeout <= 120.0:
            raise ValidationError("ring timeout must be 1-120 s", field="ring_timeout")
        for key, value in self.variables.items():
            if not key.replace("_", "").isalnum() or not key.isascii() or len(key) > 64:
                raise ValidationError("channel variable names are ASCII letters, digits and _", field=key)
            safe_value(value, field=key)


@runtime_checkable
class TelephonyPort(Protocol):
    async def originate(self, request: OriginateRequest) -> None:
        """Place the call; raises if the PBX refused the command itself."""

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        """End the call (a no-op if it is already over)."""

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        """Bridge the call with the agent's leg (the agent sits in their own bridge)."""

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        """Play a recorded message (by name) to the call, then hang up (abandon message)."""

    def events(self) -> AsyncIterator[CallEvent]:
        """The stream of call events, in the order the PBX reported them."""
        ...

    async def close(self) -> None:
        """Release the connection to the PBX."""
