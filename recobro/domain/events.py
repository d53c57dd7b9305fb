"""Call events: what the telephony port reports, as frozen values.

Every adapter (simulated PBX, Asterisk through AMI) turns what it sees into these, so the
dialer, the ACD and the call state machine never know which PBX is behind the port.
Times are the port clock's monotonic seconds (``at``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from recobro.domain.ids import CallId


class AmdVerdict(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    NOTSURE = "notsure"


class HangupCause(enum.StrEnum):
    """Why a call ended, in the PBX-neutral words the platform uses."""

    NORMAL = "normal"  # one side hung up after an answer
    NO_ANSWER = "no_answer"  # rang until the dialer gave up
    BUSY = "busy"
    INVALID = "invalid"  # the network rejected the number
    CONGESTION = "congestion"
    CANCELLED = "cancelled"  # the platform hung up before an answer
    ABANDONED = "abandoned"  # the platform hung up on a person nobody could take
    MACHINE = "machine"  # the platform hung up on an answering machine
    PBX_LOST = "pbx_lost"  # the PBX restarted or the link was lost with the call up
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: CallId
    at: float


@dataclass(frozen=True, slots=True)
class CallDialing(CallEvent):
    """The PBX accepted the originate and created the outbound channel."""

    channel: str = ""


@dataclass(frozen=True, slots=True)
class CallRinging(CallEvent):
    pass


@dataclass(frozen=True, slots=True)
class CallAnswered(CallEvent):
    pass


@dataclass(frozen=True, slots=True)
class CallAmd(CallEvent):
    verdict: AmdVerdict = AmdVerdict.NOTSURE
    cause: str = ""


@dataclass(frozen=True, slots=True)
class CallBridged(CallEvent):
    """The call is connected to an agent (media bridged)."""

    agent: str = ""


@dataclass(frozen=True, slots=True)
class CallDtmf(CallEvent):
    digit: str = ""


@dataclass(frozen=True, slots=True)
class CallEnded(CallEvent):
    cause: HangupCause = HangupCause.NORMAL
    detail: str = ""  # the PBX's own words (Q.850 cause, AMI reason), for the record


@dataclass(frozen=True, slots=True)
class PortDown(CallEvent):
    """The link to the PBX was lost (call_id is empty)."""


@dataclass(frozen=True, slots=True)
class PortUp(CallEvent):
    """The link to the PBX is (re)established and live calls were reconciled."""
