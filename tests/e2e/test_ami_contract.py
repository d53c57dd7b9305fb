"""The TelephonyPort contract suite (tests/contract/test_telephony_port.py), whole, on the real
Asterisk of the sandbox through AmiTelephony, with sipp phones (tests/e2e/ami_phones.py).

It lives here rather than as a HARNESSES entry of the contract file because it needs this
directory's session fixtures (the sandbox, the phones) and the ``asterisk`` marker.
"""

from __future__ import annotations

import pytest

from tests.contract.test_telephony_port import *  # noqa: F403  # the contract's tests, run on this harness
from tests.e2e.ami_phones import AsteriskHarness, Phone
from tests.e2e.ami_phones import asterisk_phones as asterisk_phones  # the session fixture
from tests.e2e.conftest import RunningAsterisk

pytestmark = pytest.mark.asterisk


@pytest.fixture
def harness(asterisk: RunningAsterisk, asterisk_phones: dict[str, Phone]) -> AsteriskHarness:
    return AsteriskHarness(asterisk, asterisk_phones)
