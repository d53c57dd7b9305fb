"""Originate to every kind of sipp phone through the real Asterisk and the rendered dialplan.

The outcomes the platform will rely on: AMD says HUMAN for the person and MACHINE for the
machine within a few seconds of the answer; busy, unknown and declined numbers fail with their
causes; an unanswered phone rings until the originate gives up; a person redirected to an agent
joins the agent's own bridge; without an agent the person hears the abandon message.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from asterisk_config.phones import SippPhone
from tests.e2e.ami_probe import AmiProbe, Message
from tests.e2e.conftest import RunningAsterisk

pytestmark = pytest.mark.asterisk


def _originate(
    ami: AmiProbe,
    phone: SippPhone,
    call_id: str,
    *,
    timeout_ms: int = 8000,
    context: str = "recobro-outbound",
    exten: str = "s",
    variables: dict[str, str] | None = None,
    endpoint: str = "carrier",
) -> None:
    variables = {"RECOBRO_CALL_ID": call_id, **(variables or {})}
    reply = ami.action(
        {
            "Action": "Originate",
            "Channel": phone.dial_string(call_id, endpoint),
            "Context": context,
            "Exten": exten,
            "Priority": "1",
            "Async": "true",
            "Timeout": str(timeout_ms),
            "Variable": [f"{k}={v}" for k, v in variables.items()],
        }
    )
    assert reply["Response"] == "Success", reply


def _hangup_of(ami: AmiProbe, call_id: str, timeout: float = 10.0) -> Message:
    return ami.wait(lambda m: m.get("Event") == "Hangup" and m.get("var.RECOBRO_CALL_ID") == call_id, timeout)


def _answered_at(ami: AmiProbe, call_id: str) -> float:
    up = ami.wait(
        lambda m: (
            m.get("Event") == "Newstate"
            and m.get("ChannelStateDesc") == "Up"
            and m.get("var.RECOBRO_CALL_ID") == call_id
        )
    )
    return float(up["Timestamp"])


def test_each_debtor_phone_kind_gets_its_outcome(ami: AmiProbe, sipp_phones: dict[str, SippPhone]) -> None:
    calls = {
        "person-1": "person",
        "person-2": "person",
        "machine-1": "machine",
        "machine-2": "machine",
        "busy-1": "busy",
        "reject-1": "reject",
        "decline-1": "decline",
        "ring-1": "ring",
    }
    ring_before = sipp_phones["ring"].counts().get("successful", 0)
    for call_id, kind in calls.items():
        _originate(ami, sipp_phones[kind], call_id, timeout_ms=3000 if kind == "ring" else 8000)

    for call_id in ("person-1", "person-2"):
        amd = ami.user_event("RecobroAmd", call_id)
        assert (amd["Status"], amd["Cause"].split("-")[0]) == ("HUMAN", "HUMAN"), amd
        assert float(amd["Timestamp"]) - _answered_at(ami, call_id) < 3.0
        ami.user_event("RecobroHolding", call_id)
    for call_id in ("machine-1", "machine-2"):
        amd = ami.user_event("RecobroAmd", call_id)
        assert (amd["Status"], amd["Cause"].split("-")[0]) == ("MACHINE", "LONGGREETING"), amd
        assert float(amd["Timestamp"]) - _answered_at(ami, call_id) < 3.0
        assert _hangup_of(ami, call_id)["Cause"] == "16"  # hung up by the dialplan after AMD
    assert _hangup_of(ami, "busy-1")["Cause"] == "17"  # user busy
    assert _hangup_of(ami, "reject-1")["Cause"] == "1"  # unallocated number
    assert _hangup_of(ami, "decline-1")["Cause"] in {"1", "21"}, "604 is unallocated or rejected"
    ring = _hangup_of(ami, "ring-1")
    assert ring["Cause"] == "19", ring  # no answer: the originate gave up and cancelled
    assert ami.wait(lambda m: m.get("Event") == "OriginateResponse" and m.get("Reason") == "3")
    deadline = time.monotonic() + 5
    while sipp_phones["ring"].counts().get("successful", 0) <= ring_before and time.monotonic() < deadline:
        time.sleep(0.2)  # sipp writes its counters once a second
    assert sipp_phones["ring"].counts()["successful"] > ring_before, "the ring phone saw no CANCEL"

    for call_id in ("person-1", "person-2"):
        channel = ami.user_event("RecobroHolding", call_id)["Channel"]
        assert ami.action({"Action": "Hangup", "Channel": channel})["Response"] == "Success"
        _hangup_of(ami, call_id)


def test_a_person_redirected_to_an_agent_joins_the_agents_bridge(
    ami: AmiProbe, asterisk: RunningAsterisk, sipp_phones: dict[str, SippPhone]
) -> None:
    _originate(
        ami, sipp_phones["agent"], "agent-leg-7301", context="recobro-agent", exten="7301", endpoint="agent-phones"
    )
    session = ami.wait(lambda m: m.get("UserEvent") == "RecobroAgentSession" and m.get("AgentId") == "7301")
    assert session["State"] == "joined"
    ami.wait(lambda m: m.get("Event") == "ConfbridgeJoin" and m.get("Conference") == "recobro-agent-7301")

    _originate(ami, sipp_phones["person"], "debtor-1")
    holding = ami.user_event("RecobroHolding", "debtor-1")
    sent = time.monotonic()
    reply = ami.action(
        {
            "Action": "Redirect",
            "Channel": holding["Channel"],
            "Context": "recobro-connect",
            "Exten": "7301",
            "Priority": "1",
        }
    )
    assert reply["Response"] == "Success", reply
    joined = ami.wait(lambda m: m.get("Event") == "ConfbridgeJoin" and m.get("var.RECOBRO_CALL_ID") == "debtor-1")
    latency = float(joined["_received"]) - sent
    assert joined["Conference"] == "recobro-agent-7301"
    assert latency < 0.5, f"redirect -> in the agent's bridge took {latency:.3f} s"
    ami.user_event("RecobroConnect", "debtor-1")
    listing = asterisk.rx("confbridge list recobro-agent-7301")
    assert len(re.findall(r"PJSIP/carrier-\w+", listing)) == 1, listing
    assert len(re.findall(r"PJSIP/agent-phones-\w+", listing)) == 1, listing

    # the debtor hangs up (here: the platform ends the call); the agent stays in their bridge
    assert ami.action({"Action": "Hangup", "Channel": holding["Channel"]})["Response"] == "Success"
    _hangup_of(ami, "debtor-1")
    time.sleep(0.2)
    listing = asterisk.rx("confbridge list recobro-agent-7301")
    assert "PJSIP/agent-phones-" in listing and "PJSIP/carrier-" not in listing, listing

    agent_channel = session["Channel"]
    assert ami.action({"Action": "Hangup", "Channel": agent_channel})["Response"] == "Success"


def test_without_an_agent_the_person_hears_the_abandon_message(
    ami: AmiProbe, sipp_phones: dict[str, SippPhone]
) -> None:
    # 1. redirected to an agent who is not in their bridge, with a message to play;
    # 2. nobody connects it before the holding time ends, and the message name is refused.
    _originate(ami, sipp_phones["person"], "abandon-1", variables={"RECOBRO_MESSAGE": "beep"})
    _originate(
        ami,
        sipp_phones["person"],
        "abandon-2",
        variables={"RECOBRO_HOLD_SECONDS": "1", "RECOBRO_MESSAGE": "../../../etc/passwd"},
    )
    channel = ami.user_event("RecobroHolding", "abandon-1")["Channel"]
    ami.action(
        {"Action": "Redirect", "Channel": channel, "Context": "recobro-connect", "Exten": "4242", "Priority": "1"}
    )
    ami.user_event("RecobroConnectFailed", "abandon-1")
    done = ami.user_event("RecobroAbandonDone", "abandon-1")
    assert (done["Played"], done["PlaybackStatus"]) == ("message", "SUCCESS"), done
    ami.user_event("RecobroHoldTimeout", "abandon-2")
    assert ami.user_event("RecobroAbandonDone", "abandon-2", timeout=15)["Played"] == "callback-digits"
    for call_id in ("abandon-1", "abandon-2"):
        assert _hangup_of(ami, call_id)["Cause"] == "16"


def _fake_fastagi(port: int, seen: list[dict[str, str]], calls: int) -> threading.Thread:
    """A FastAGI server that records each call's agi_* environment and hangs the call up."""
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(15)

    def serve() -> None:
        with server:
            for _ in range(calls):
                conn, _addr = server.accept()
                with conn, conn.makefile("rwb") as stream:
                    env: dict[str, str] = {}
                    for raw in stream:
                        line = raw.decode().rstrip("\n")
                        if not line:
                            break
                        key, _, value = line.partition(": ")
                        env[key] = value
                    seen.append(env)
                    stream.write(b"HANGUP\n")
                    stream.flush()
                    stream.readline()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_ivr_contexts_hand_the_call_to_fastagi(
    ami: AmiProbe, asterisk: RunningAsterisk, sipp_phones: dict[str, SippPhone]
) -> None:
    seen: list[dict[str, str]] = []
    server = _fake_fastagi(asterisk.params.agi_port, seen, calls=2)
    _originate(ami, sipp_phones["agent"], "ivr-1", context="recobro-ivr", variables={"RECOBRO_IVR_FLOW": "balance"})
    _hangup_of(ami, "ivr-1")
    _originate(
        ami, sipp_phones["agent"], "ivr-2", context="recobro-ivr", variables={"RECOBRO_IVR_FLOW": "x;Hangup"}
    )  # refused: the default flow instead
    _hangup_of(ami, "ivr-2")
    server.join(timeout=10)
    assert [env.get("agi_network_script") for env in seen] == ["balance", "outbound"]
    assert all(env.get("agi_network") == "yes" for env in seen)
