"""The outbound IVR call (campaign mode ``ivr``): a voice reminder with one-key self-service.

A person answered: say who calls and ask whether they are the debtor before anything about
the debt. Press 1: the jurisdiction's disclosure, the balance and due date, the menu. Press 2:
an apology and goodbye, recorded as a wrong party, nothing about the debt said. An answering
machine gets the limited-content message (company and callback number only) or nothing.
"""

from __future__ import annotations

from datetime import date

from ivr.flows.model import Action, CampaignView, Collect, DebtorView, Event, Outcome, Record
from ivr.flows.selfservice import Question, SelfServiceFlow
from ivr.prompts.words import digits_words


class OutboundFlow(SelfServiceFlow):
    def __init__(self, campaign: CampaignView, debtor: DebtorView, *, today: date) -> None:
        super().__init__(campaign, today=today)
        self.debtor = debtor

    def start(self, answered_by: str = "human") -> list[Action]:
        """``answered_by``: ``human``, ``machine`` or ``notsure`` (treated as a person)."""
        if answered_by == "machine":
            if not self.campaign.voicemail_message:
                return self._finish(Outcome.MACHINE_NO_MESSAGE)
            number = digits_words(self.campaign.callback_number, self.language)
            return self._finish(
                Outcome.VOICEMAIL_LEFT, self._p("voicemail", company=self.campaign.company, number=number)
            )
        question = self._identity_question()
        return self._ask(question, before=(self._p("greeting", company=self.campaign.company),))

    def _identity_question(self) -> Question:
        text = self._p("identity_question", name=self._debtor().name)
        return Question("identity", (text,), Collect(1, timeout=6.0))

    def _on_identity(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if keys.digits == "1":
            return [rec, Record("identity", "confirmed"), *self.enter_menu(self.disclosure())]
        if keys.digits == "2":
            bye = self._finish(Outcome.WRONG_PARTY, self._p("wrong_party_bye"))
            return [rec, Record("identity", "wrong_party"), *bye]
        return [rec, *self._retry(keys)]
