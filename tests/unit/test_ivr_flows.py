"""The outbound and inbound IVR flows as pure state machines: events in, actions out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ivr.flows.inbound import InboundFlow
from ivr.flows.model import (
    Action,
    AgentsInfo,
    AskAgents,
    CampaignView,
    Credential,
    DebtorView,
    Done,
    Finish,
    Found,
    Identified,
    Input,
    LookupAccount,
    LookupCaller,
    Outcome,
    Record,
    SaveCallback,
    SavePromise,
    Say,
    SendPayLink,
    Transfer,
    Verify,
    needs_answer,
)
from ivr.flows.outbound import OutboundFlow

TODAY = date(2026, 11, 26)
CAMPAIGN = CampaignView(
    campaign_id=1, company="Cobranza Uno", callback_number="+525512345678", promise_horizon_days=30, skills=("es",)
)
DEBTOR = DebtorView(
    account_id=7,
    name="María Pérez",
    balance=Decimal("1234.50"),
    currency="MXN",
    due_date=date(2026, 11, 5),
    country="MX",
    skills=("early",),
    credential=Credential.PIN,
)


def keys(d: str) -> Input:
    return Input(d, timed_out=False)


SILENCE = Input("", timed_out=True)


def said(actions: list[Action]) -> list[str]:
    return [p.key for a in actions if isinstance(a, Say) for p in a.prompts]


def text(actions: list[Action]) -> str:
    return " ".join(p.text for a in actions if isinstance(a, Say) for p in a.prompts)


def records(actions: list[Action]) -> list[tuple[str, str]]:
    return [(a.kind, a.value) for a in actions if isinstance(a, Record)]


def last(actions: list[Action]) -> Action:
    return actions[-1]


def confirmed() -> OutboundFlow:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    flow.start()
    flow.handle(keys("1"))
    return flow


def at_date_entry() -> OutboundFlow:
    flow = confirmed()
    flow.handle(keys("2"))
    flow.handle(keys("1"))
    return flow


def at_amount_entry() -> OutboundFlow:
    flow = at_date_entry()
    flow.handle(keys("0512"))
    flow.handle(keys("2"))
    return flow


def test_only_the_last_action_waits_for_an_answer() -> None:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    for step in [flow.start(), flow.handle(keys("1")), flow.handle(keys("2"))]:
        assert [needs_answer(a) for a in step[:-1]] == [False] * (len(step) - 1)
        assert needs_answer(step[-1])


def test_identity_question_says_company_and_name_and_nothing_of_the_debt() -> None:
    actions = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY).start()
    assert said(actions) == ["greeting", "identity_question"]
    assert "María Pérez" in text(actions) and "Cobranza Uno" in text(actions)
    assert "pesos" not in text(actions) and "saldo" not in text(actions)


def test_confirmed_debtor_hears_disclosure_balance_and_menu() -> None:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    flow.start()
    actions = flow.handle(keys("1"))
    assert said(actions) == ["disclosure_MX", "balance", "menu"]
    assert "mil doscientos treinta y cuatro pesos con cincuenta centavos, que venció el cinco de noviembre" in text(
        actions
    )
    assert ("identity", "confirmed") in records(actions)


def test_us_debtor_in_english_hears_the_mini_miranda() -> None:
    us = DebtorView(7, "John Smith", Decimal("21"), "USD", date(2026, 11, 5), language="en", country="US")
    flow = OutboundFlow(CAMPAIGN, us, today=TODAY)
    assert "Hello, this is Cobranza Uno calling. If you are John Smith, press 1" in text(flow.start())
    actions = flow.handle(keys("1"))
    assert said(actions) == ["disclosure_US", "balance", "menu"]
    assert "attempt to collect a debt" in text(actions)
    assert "twenty-one dollars, which was due on November fifth" in text(actions)


def test_wrong_party_hears_nothing_about_the_debt() -> None:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    flow.start()
    actions = flow.handle(keys("2"))
    assert said(actions) == ["wrong_party_bye"]
    assert records(actions) == [("dtmf", "identity:2"), ("identity", "wrong_party"), ("outcome", "wrong_party")]
    assert last(actions) == Finish(Outcome.WRONG_PARTY)
    assert flow.done and flow.outcome is Outcome.WRONG_PARTY


def test_identity_silence_twice_is_a_polite_goodbye_without_the_debt() -> None:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    flow.start()
    retry = flow.handle(SILENCE)
    assert said(retry) == ["invalid_option", "identity_question"]
    end = flow.handle(SILENCE)
    assert said(end) == ["goodbye_no_input"]
    assert last(end) == Finish(Outcome.NO_INPUT)
    assert ("dtmf", "identity:timeout") in records(end)


def test_full_promise_with_day_and_month_and_partial_amount() -> None:
    flow = at_date_entry()
    flow.handle(keys("0512"))
    assert said(flow.handle(keys("2"))) == ["amount_entry"]
    confirm = flow.handle(keys("500*50"))
    assert said(confirm) == ["promise_confirm"]
    assert "quinientos pesos con cincuenta centavos el cinco de diciembre" in text(confirm)
    save = flow.handle(keys("1"))
    assert last(save) == SavePromise(Decimal("500.50"), date(2026, 12, 5))
    end = flow.handle(Done(True))
    assert said(end) == ["promise_saved", "goodbye"]
    assert last(end) == Finish(Outcome.PROMISE_TO_PAY)


def test_promise_in_n_days_for_the_full_balance() -> None:
    flow = confirmed()
    flow.handle(keys("2"))
    assert said(flow.handle(keys("2"))) == ["promise_days_entry"]
    mode = flow.handle(keys("10"))
    assert said(mode) == ["amount_mode"] and "mil doscientos treinta y cuatro pesos" in text(mode)
    flow.handle(keys("1"))
    assert last(flow.handle(keys("1"))) == SavePromise(Decimal("1234.50"), date(2026, 12, 6))


def test_correcting_at_confirmation_starts_the_promise_over() -> None:
    flow = at_amount_entry()
    flow.handle(keys("100"))
    assert said(flow.handle(keys("2"))) == ["promise_date_mode"]


@pytest.mark.parametrize(
    ("setup", "typed", "reason"),
    [
        (at_date_entry, SILENCE, "invalid_option"),
        (at_date_entry, keys("2011"), "date_past"),
        (at_date_entry, keys("3112"), "date_beyond"),
        (at_date_entry, keys("3102"), "date_invalid"),
        (at_date_entry, keys("05"), "date_invalid"),
        (at_amount_entry, SILENCE, "invalid_option"),
        (at_amount_entry, keys("1234*51"), "amount_above"),
        (at_amount_entry, keys("1234567890"), "too_many_digits"),
        (at_amount_entry, keys("0"), "amount_invalid"),
        (at_amount_entry, keys("12**3"), "amount_invalid"),
    ],
)
def test_bad_entries_get_their_prompt_then_a_goodbye_and_nothing_stored(setup, typed: Input, reason: str) -> None:  # type: ignore[no-untyped-def]
    flow = setup()
    question = flow.state
    retry = flow.handle(typed)
    keys_said = said(retry)
    assert keys_said[0] == reason
    assert len(keys_said) == 2 and keys_said[1] in ("promise_date_entry", "amount_entry")
    assert flow.state == question
    end = flow.handle(typed)
    assert said(end) == (["goodbye_no_input"] if typed.timed_out else [reason, "goodbye"])
    assert isinstance(last(end), Finish)
    assert not any(isinstance(a, SavePromise) for a in [*retry, *end])


def test_too_many_days_and_beyond_horizon_in_days() -> None:
    flow = confirmed()
    flow.handle(keys("2"))
    flow.handle(keys("2"))
    assert said(flow.handle(keys("1234")))[0] == "too_many_digits"
    beyond = flow.handle(keys("31"))
    assert said(beyond) == ["date_beyond", "goodbye"]
    assert last(beyond) == Finish(Outcome.INVALID_INPUT)


def test_beyond_horizon_says_the_last_allowed_date() -> None:
    flow = at_date_entry()
    assert "a más tardar el veintiséis de diciembre" in text(flow.handle(keys("3112")))


def test_a_good_answer_after_one_bad_one_goes_on() -> None:
    flow = at_date_entry()
    flow.handle(keys("2011"))
    assert said(flow.handle(keys("0112"))) == ["amount_mode"]


def test_menu_repeat_invalid_and_pay_link() -> None:
    flow = confirmed()
    assert said(flow.handle(keys("9"))) == ["balance", "menu"]
    assert said(flow.handle(keys("7"))) == ["invalid_option", "menu"]
    assert last(flow.handle(keys("1"))) == SendPayLink()
    end = flow.handle(Done(True))
    assert said(end) == ["sms_sent", "goodbye"] and last(end) == Finish(Outcome.PAY_LINK_SENT)


def test_pay_link_failure_returns_to_the_menu() -> None:
    flow = confirmed()
    flow.handle(keys("1"))
    assert said(flow.handle(Done(False))) == ["sms_failed", "menu"]


def test_agent_with_estimated_wait_and_account_skills() -> None:
    flow = confirmed()
    assert last(flow.handle(keys("3"))) == AskAgents()
    actions = flow.handle(AgentsInfo(open=True, wait_seconds=90))
    assert "dos minutos" in text(actions)
    assert last(actions) == Transfer(("es", "early"))
    assert last(flow.handle(Done(True))) == Finish(Outcome.AGENT)


def test_no_agent_in_time_books_a_callback() -> None:
    flow = confirmed()
    flow.handle(keys("3"))
    flow.handle(AgentsInfo(open=True))
    actions = flow.handle(Done(False))
    assert said(actions) == ["agent_unavailable"] and last(actions) == SaveCallback(None)
    assert last(flow.handle(Done(True))) == Finish(Outcome.CALLBACK_REQUESTED)


def test_out_of_hours_offers_a_callback_at_the_next_opening() -> None:
    flow = confirmed()
    flow.handle(keys("3"))
    opening = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    offer = flow.handle(AgentsInfo(open=False, next_open=opening))
    assert "el veintisiete de noviembre a las nueve" in text(offer)
    assert last(flow.handle(keys("1"))) == SaveCallback(opening)


def test_answering_machine_gets_company_and_number_only_or_nothing() -> None:
    actions = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY).start("machine")
    assert said(actions) == ["voicemail"]
    assert "Cobranza Uno" in text(actions) and "cinco, cinco, uno, dos" in text(actions)
    assert "María" not in text(actions) and "pesos" not in text(actions)
    assert last(actions) == Finish(Outcome.VOICEMAIL_LEFT)
    silent = CampaignView(1, "Cobranza Uno", "+525512345678", voicemail_message=False)
    actions = OutboundFlow(silent, DEBTOR, today=TODAY).start("machine")
    assert said(actions) == [] and last(actions) == Finish(Outcome.MACHINE_NO_MESSAGE)


def test_inbound_known_caller_passes_pin_and_hears_balance() -> None:
    flow = InboundFlow(CAMPAIGN, today=TODAY)
    start = flow.start()
    assert said(start) == ["inbound_welcome"] and last(start) == LookupCaller()
    assert said(flow.handle(Found(DEBTOR))) == ["ask_pin"]
    verify = flow.handle(keys("482913"))
    assert last(verify) == Verify(7, Credential.PIN, "482913")
    assert ("dtmf", "credential:******") in records(verify)
    assert "482913" not in str(records(verify))
    terms = CampaignView(9, "Despacho Dos", "+525500000000", promise_horizon_days=10)
    menu = flow.handle(Identified(True, terms))
    assert said(menu) == ["disclosure_MX", "balance", "menu"]
    assert "Despacho Dos le llama" in text(menu)
    flow.handle(keys("2"))
    flow.handle(keys("2"))
    assert said(flow.handle(keys("11")))[0] == "date_beyond"  # the campaign's 10-day horizon


def test_inbound_three_failures_end_the_call_without_detail() -> None:
    flow = InboundFlow(CAMPAIGN, today=TODAY)
    flow.start()
    assert said(flow.handle(Found(None))) == ["ask_account"]
    lookup = flow.handle(keys("99999"))
    assert last(lookup) == LookupAccount("99999") and ("dtmf", "account_entry:*****") in records(lookup)
    assert said(flow.handle(Found(None))) == ["account_not_found", "ask_account"]
    flow.handle(keys("12345"))
    by_id = DebtorView(7, "María Pérez", Decimal("10"), "MXN", TODAY, credential=Credential.NATIONAL_ID)
    assert said(flow.handle(Found(by_id))) == ["ask_id_last4"]
    flow.handle(keys("0000"))
    assert said(flow.handle(Identified(False))) == ["identity_mismatch", "ask_id_last4"]
    flow.handle(keys("1111"))
    end = flow.handle(Identified(False))
    assert said(end) == ["identification_failed"]
    assert last(end) == Finish(Outcome.IDENTIFICATION_FAILED)
    assert flow.failures == 3
    assert "saldo" not in text(end)


def test_inbound_account_without_any_credential_cannot_be_identified() -> None:
    flow = InboundFlow(CAMPAIGN, today=TODAY)
    flow.start()
    bare = DebtorView(7, "X", Decimal("10"), "MXN", TODAY, credential=Credential.NONE)
    end = flow.handle(Found(bare))
    assert last(end) == Finish(Outcome.IDENTIFICATION_FAILED)


def test_a_finished_flow_refuses_more_events() -> None:
    flow = OutboundFlow(CAMPAIGN, DEBTOR, today=TODAY)
    flow.start()
    flow.handle(keys("2"))
    with pytest.raises(RuntimeError):
        flow.handle(keys("1"))
