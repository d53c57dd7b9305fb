"""The self-service part shared by outbound and inbound calls: balance, menu, promise, agent.

A flow is in one named state at a time and waits for one answer. Every key press is recorded
(masked when the question is an identity secret). A question gets one retry: a timeout or an
invalid answer plays the reason and asks again; the second failure ends the call politely.
Nothing is stored for a promise until the caller confirms it, and then in one piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from ivr.flows.entries import Refusal, Refused, parse_amount, parse_day_month, parse_in_days
from ivr.flows.model import (
    Action,
    AgentsInfo,
    AskAgents,
    CampaignView,
    Collect,
    DebtorView,
    Done,
    Event,
    Finish,
    Input,
    Outcome,
    Record,
    SaveCallback,
    SavePromise,
    Say,
    SendPayLink,
    Transfer,
    mask,
)
from ivr.prompts.catalog import Prompt, language_of, prompt
from ivr.prompts.words import amount_words, date_words, minutes_words, time_words

MAX_TRIES = 2  # the first answer and one retry

_REFUSAL_PROMPT = {
    Refusal.TOO_MANY_DIGITS: "too_many_digits",
    Refusal.INVALID: "date_invalid",
    Refusal.PAST: "date_past",
}


@dataclass(frozen=True, slots=True)
class Question:
    """What to say and how to listen while in a state."""

    state: str
    prompts: tuple[Prompt, ...]
    collect: Collect
    secret: bool = False  # identity digits: recorded masked
    again: tuple[Prompt, ...] | None = None  # what a retry repeats, when not all of ``prompts``


class SelfServiceFlow:
    """Base of the outbound and inbound flows. Subclasses add states named ``_on_<state>``."""

    def __init__(self, campaign: CampaignView, *, today: date) -> None:
        self.campaign = campaign
        self.today = today
        self.debtor: DebtorView | None = None
        self.outcome: Outcome | None = None
        self.state = "start"
        self._question: Question | None = None
        self._tries = 0
        self._promise_date: date | None = None
        self._promise_amount: Decimal | None = None
        self._callback_due: datetime | None = None

    # -- the machine ----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def language(self) -> str:
        return language_of(self.debtor.language if self.debtor else self.campaign.language)

    def handle(self, event: Event) -> list[Action]:
        if self.done:
            raise RuntimeError(f"flow already ended ({self.outcome})")
        handler: Callable[[Event], list[Action]] = getattr(self, f"_on_{self.state}")
        return handler(event)

    def _p(self, key: str, **words: str) -> Prompt:
        return prompt(key, self.language, **words)

    def _ask(self, question: Question, *, before: tuple[Prompt, ...] = (), fresh: bool = True) -> list[Action]:
        if fresh or self._question is None or self._question.state != question.state:
            self._tries = 0
        self._question = question
        self.state = question.state
        return [Say((*before, *question.prompts), question.collect)]

    def _keys(self, event: Event) -> Input:
        if not isinstance(event, Input):
            raise TypeError(f"state {self.state} waits for keys, got {event!r}")
        return event

    def _record_keys(self, keys: Input) -> Record:
        secret = self._question is not None and self._question.secret
        if keys.timed_out and not keys.digits:
            return Record("dtmf", f"{self.state}:timeout")
        return Record("dtmf", f"{self.state}:{mask(keys.digits) if secret else keys.digits}")

    def _retry(self, keys: Input, reason: Prompt | None = None) -> list[Action]:
        """Play why the answer failed and ask again, or end the call after the last try."""
        assert self._question is not None
        self._tries += 1
        silent = keys.timed_out and not keys.digits
        if self._tries >= MAX_TRIES:
            if silent:
                return self._finish(Outcome.NO_INPUT, self._p("goodbye_no_input"))
            why = (reason,) if reason is not None else ()
            return self._finish(Outcome.INVALID_INPUT, *why, self._p("goodbye"))
        first = reason or self._p("invalid_option")
        again = self._question.again if self._question.again is not None else self._question.prompts
        return [Say((first, *again), self._question.collect)]

    def _finish(self, outcome: Outcome, *last: Prompt) -> list[Action]:
        self.outcome = outcome
        self.state = "ended"
        actions: list[Action] = [Say(last)] if last else []
        return [*actions, Record("outcome", outcome.value), Finish(outcome)]

    # -- balance and menu -----------------------------------------------------------------
    def _debtor(self) -> DebtorView:
        assert self.debtor is not None, "self-service before identification"
        return self.debtor

    def _amount(self, amount: Decimal) -> str:
        return amount_words(amount, self._debtor().currency, self.language)

    def _date(self, day: date) -> str:
        return date_words(day, self.language, today=self.today)

    def disclosure(self) -> Prompt:
        country = self._debtor().country.upper()
        key = f"disclosure_{country}" if country in ("US", "MX", "CO") else "disclosure_MX"
        return self._p(key, company=self.campaign.company) if key != "disclosure_US" else self._p(key)

    def balance(self) -> Prompt:
        d = self._debtor()
        return self._p("balance", amount=self._amount(d.balance), due=self._date(d.due_date))

    def _menu_question(self, *, with_balance: bool) -> Question:
        menu = self._p("menu")
        prompts = (self.balance(), menu) if with_balance else (menu,)
        return Question("menu", prompts, Collect(1, timeout=6.0), again=(menu,))

    def enter_menu(self, *before: Prompt) -> list[Action]:
        """The balance then the menu (``before`` is said first: the disclosure)."""
        return self._ask(self._menu_question(with_balance=True), before=before)

    def _on_menu(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        choice = keys.digits
        if choice == "1":
            self.state = "pay_link"
            return [rec, SendPayLink()]
        if choice == "2":
            return [rec, *self._ask_date_mode()]
        if choice == "3":
            self.state = "agents"
            return [rec, AskAgents()]
        if choice == "9":
            return [rec, *self.enter_menu()]
        return [rec, *self._retry(keys)]

    def _on_pay_link(self, event: Event) -> list[Action]:
        if isinstance(event, Done) and event.ok:
            return self._finish(Outcome.PAY_LINK_SENT, self._p("sms_sent"), self._p("goodbye"))
        return [*self._ask(self._menu_question(with_balance=False), before=(self._p("sms_failed"),))]

    # -- promise to pay ----------------------------------------------------------------------
    def _ask_date_mode(self, *before: Prompt) -> list[Action]:
        self._promise_date = self._promise_amount = None
        return self._ask(Question("date_mode", (self._p("promise_date_mode"),), Collect(1)), before=before)

    def _on_date_mode(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if keys.digits == "1":
            return [rec, *self._ask(Question("date_entry", (self._p("promise_date_entry"),), Collect(4, 8.0)))]
        if keys.digits == "2":
            q = Question("days_entry", (self._p("promise_days_entry"),), Collect(4, 8.0, "#"))
            return [rec, *self._ask(q)]
        return [rec, *self._retry(keys)]

    def _date_refusal(self, refused: Refused) -> Prompt | None:
        if refused.reason is Refusal.BEYOND_HORIZON:
            limit = self.today + timedelta(days=self.campaign.promise_horizon_days)
            return self._p("date_beyond", limit=self._date(limit))
        key = _REFUSAL_PROMPT.get(refused.reason)
        return self._p(key) if key else None

    def _on_date_entry(self, event: Event) -> list[Action]:
        return self._on_date(event, parse_day_month)

    def _on_days_entry(self, event: Event) -> list[Action]:
        return self._on_date(event, parse_in_days)

    def _on_date(self, event: Event, parse: Callable[..., date | Refused]) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        got = parse(keys.digits, today=self.today, horizon_days=self.campaign.promise_horizon_days)
        if isinstance(got, Refused):
            return [rec, *self._retry(keys, self._date_refusal(got))]
        self._promise_date = got
        q = Question("amount_mode", (self._p("amount_mode", amount=self._amount(self._debtor().balance)),), Collect(1))
        return [rec, *self._ask(q)]

    def _on_amount_mode(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if keys.digits == "1":
            return [rec, *self._confirm(self._debtor().balance)]
        if keys.digits == "2":
            return [rec, *self._ask(Question("amount_entry", (self._p("amount_entry"),), Collect(14, 8.0, "#")))]
        return [rec, *self._retry(keys)]

    def _on_amount_entry(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        got = parse_amount(keys.digits, balance=self._debtor().balance)
        if isinstance(got, Refused):
            reason = {
                Refusal.ABOVE_BALANCE: self._p("amount_above", amount=self._amount(self._debtor().balance)),
                Refusal.TOO_MANY_DIGITS: self._p("too_many_digits"),
                Refusal.INVALID: self._p("amount_invalid"),
            }.get(got.reason)
            return [rec, *self._retry(keys, reason)]
        return [rec, *self._confirm(got)]

    def _confirm(self, amount: Decimal) -> list[Action]:
        assert self._promise_date is not None
        self._promise_amount = amount
        text = self._p("promise_confirm", amount=self._amount(amount), date=self._date(self._promise_date))
        return self._ask(Question("confirm", (text,), Collect(1)))

    def _on_confirm(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if keys.digits == "1":
            assert self._promise_amount is not None and self._promise_date is not None
            self.state = "saving_promise"
            return [rec, SavePromise(self._promise_amount, self._promise_date)]
        if keys.digits == "2":
            return [rec, *self._ask_date_mode()]
        return [rec, *self._retry(keys)]

    def _on_saving_promise(self, event: Event) -> list[Action]:
        if isinstance(event, Done) and event.ok:
            return self._finish(Outcome.PROMISE_TO_PAY, self._p("promise_saved"), self._p("goodbye"))
        return self._ask(self._menu_question(with_balance=False), before=(self._p("invalid_option"),))

    # -- agent -------------------------------------------------------------------------------
    def _skills(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.campaign.skills, *self._debtor().skills)))

    def _on_agents(self, event: Event) -> list[Action]:
        if not isinstance(event, AgentsInfo):
            raise TypeError(f"agents waits for AgentsInfo, got {event!r}")
        if event.open:
            self.state = "transfer"
            say = (
                self._p("agent_wait", wait=minutes_words(event.wait_seconds, self.language))
                if event.wait_seconds is not None
                else self._p("agent_connecting")
            )
            return [Say((say,)), Transfer(self._skills())]
        self._callback_due = event.next_open
        when = self._when(event.next_open)
        return self._ask(Question("callback_offer", (self._p("callback_offer", when=when),), Collect(1)))

    def _when(self, moment: datetime | None) -> str:
        if moment is None:
            return "lo antes posible" if self.language == "es" else "as soon as possible"
        at = time_words(moment.hour, moment.minute, self.language)
        day = self._date(moment.date())
        return f"{day} a {at}" if self.language == "es" else f"on {day} at {at}"

    def _on_transfer(self, event: Event) -> list[Action]:
        if isinstance(event, Done) and event.ok:
            self.outcome = Outcome.AGENT
            self.state = "ended"
            return [Record("outcome", Outcome.AGENT.value), Finish(Outcome.AGENT)]
        self.state = "saving_callback"
        self._callback_due = None
        return [Say((self._p("agent_unavailable"),)), SaveCallback(None)]

    def _on_callback_offer(self, event: Event) -> list[Action]:
        keys = self._keys(event)
        rec = self._record_keys(keys)
        if keys.digits == "1":
            self.state = "saving_callback"
            return [rec, SaveCallback(self._callback_due)]
        if keys.digits == "2":
            return [rec, *self._ask(self._menu_question(with_balance=False))]
        return [rec, *self._retry(keys)]

    def _on_saving_callback(self, event: Event) -> list[Action]:
        ok = isinstance(event, Done) and event.ok
        if ok:
            return self._finish(Outcome.CALLBACK_REQUESTED, self._p("callback_saved"), self._p("goodbye"))
        return self._finish(Outcome.COMPLETED, self._p("goodbye"))
