"""The inbound IVR call: a debtor calls the collections number.

The caller's number is looked up among the accounts' phones; if exactly one account has it,
the caller proves identity with a PIN (when the account has one) or the last four digits of
the national id. Otherwise the caller types the account number, then the same check. Three
failures in all end the call with no detail spoken, recorded as a failed identification. The
digits typed for identity are recorded masked. Then the same menu as outbound calls.
"""

from __future__ import annotations

from datetime import date

from ivr.flows.model import (
    Action,
    CampaignView,
    Collect,
    Credential,
    DebtorView,
    Event,
    Found,
    Identified,
    LookupAccount,
    LookupCaller,
    Outcome,
    Record,
    Say,
    Verify,
)
from ivr.flows.selfservice import Question, SelfServiceFlow
from ivr.prompts.catalog import Prompt

MAX_FAILURES = 3


class InboundFlow(SelfServiceFlow):
    def __init__(self, campaign: CampaignView, *, today: date) -> None:
        super().__init__(campaign, today=today)
        self.failures = 0
        self._candidate: DebtorView | None = None

    def start(self) -> list[Action]:
        self.state = "caller_lookup"
        return [Say((self._p("inbound_welcome", company=self.campaign.company),)), LookupCaller()]

    # -- identification ------------------------------------------------------------------------
    def _fail(self, reason: Prompt | None, retry: Question, record: str) -> list[Action]:
        self.failures += 1
        rec = Record("identity", f"failed:{record}")
        if self.failures >= MAX_FAILURES:
            return [rec, *self._finish(Outcome.IDENTIFICATION_FAILED, self._p("identification_failed"))]
        return [rec, *self._ask(retry, before=(reason,) if reason else ())]

    def _account_question(self) -> Question:
        return Question("account_entry", (self._p("ask_account"),), Collect(20, 8.0, "#"), secret=True)

    def _credential_question(self, debtor: DebtorView) -> Question:
        if debtor.credential is Credential.PIN:
            return Question("credential", (self._p("ask_pin"),), Collect(9, 8.0, "#"), secret=True)
        return Question("credential", (self._p("ask_id_last4"),), Collect(4, 8.0), secret=True)

    def _with_candidate(self, debtor: DebtorView) -> list[Action]:
        self._candidate = debtor
        if debtor.credential is Credential.NONE:
            # Nothing to check the caller against: identification cannot succeed by phone.
            self.failures = MAX_FAILURES - 1
            return self._fail(None, self._account_question(), "no_credential")
        return self._ask(self._credential_question(debtor))

    def _on_caller_lookup(self, event: Event) -> list[Action]:
        if not isinstance(event, Found):
            raise TypeError(f"caller lookup waits for Found, got {event!r}")
        if event.debtor is None:
            return [Record("identity", "caller_unknown"), *self._ask(self._account_question())]
        return [Record("identity", "caller_known"), *self._with_candidate(event.debtor)]

    def _on_account_entry(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if not keys.digits:
            return [rec, *self._fail(self._p("invalid_option"), self._account_question(), "no_account_number")]
        self.state = "account_lookup"
        return [rec, LookupAccount(keys.digits)]

    def _on_account_lookup(self, event: Event) -> list[Action]:
        if not isinstance(event, Found):
            raise TypeError(f"account lookup waits for Found, got {event!r}")
        if event.debtor is None:
            return self._fail(self._p("account_not_found"), self._account_question(), "account_not_found")
        return self._with_candidate(event.debtor)

    def _on_credential(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        assert self._candidate is not None
        if not keys.digits:
            question = self._credential_question(self._candidate)
            return [rec, *self._fail(self._p("invalid_option"), question, "no_credential_digits")]
        self.state = "verifying"
        return [rec, Verify(self._candidate.account_id, self._candidate.credential, keys.digits)]

    def _on_verifying(self, event: Event) -> list[Action]:
        if not isinstance(event, Identified):
            raise TypeError(f"verification waits for Identified, got {event!r}")
        assert self._candidate is not None
        if not event.ok:
            question = self._credential_question(self._candidate)
            return self._fail(self._p("identity_mismatch"), question, "mismatch")
        self.debtor = self._candidate
        if event.campaign is not None:  # the debt's campaign sets the horizon, company and skills
            self.campaign = event.campaign
        return [Record("identity", "verified"), *self.enter_menu(self.disclosure())]
