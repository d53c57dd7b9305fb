"""The sans-I/O AGI codec: header block, commands out, replies and errors in, hang-ups, EOF."""

from __future__ import annotations

import pytest

from ivr.agi.codec import (
    NEED_DATA,
    AgiCodec,
    Closed,
    Environment,
    ErrorReply,
    HangupNotice,
    ProtocolError,
    Reply,
    State,
    format_command,
    parse_reply,
    quote_arg,
)

HEADERS = (
    b"agi_network: yes\n"
    b"agi_network_script: outbound?call_id=abc123&campaign_id=7\n"
    b"agi_request: agi://127.0.0.1:4573/outbound?call_id=abc123&campaign_id=7\n"
    b"agi_channel: PJSIP/carrier-00000001\n"
    b"agi_language: es\n"
    b"agi_uniqueid: 1700000000.1\n"
    b"agi_callerid: 5215512345678\n"
    b"agi_arg_1: first\n"
    b"agi_arg_2: second arg\n"
    b"\n"
)


def ready() -> AgiCodec:
    codec = AgiCodec()
    codec.receive_data(HEADERS)
    assert isinstance(codec.next_event(), Environment)
    return codec


def test_environment_parsed_with_script_params_and_args() -> None:
    codec = AgiCodec()
    codec.receive_data(HEADERS)
    env = codec.next_event()
    assert isinstance(env, Environment)
    assert env.script == "outbound"
    assert env.params == {"call_id": "abc123", "campaign_id": "7"}
    assert env.args == ("first", "second arg")
    assert env.caller_id == "5215512345678"
    assert env.channel == "PJSIP/carrier-00000001"
    assert env.unique_id == "1700000000.1"
    assert codec.state is State.IDLE


def test_headers_split_across_arbitrary_chunks() -> None:
    codec = AgiCodec()
    events = []
    for i in range(len(HEADERS)):
        codec.receive_data(HEADERS[i : i + 1])
        ev = codec.next_event()
        if ev is not NEED_DATA:
            events.append(ev)
    assert len(events) == 1 and isinstance(events[0], Environment)
    assert events[0].get("language") == "es"


def test_disconnect_mid_headers_is_an_incomplete_close() -> None:
    codec = AgiCodec()
    codec.receive_data(HEADERS[:40])
    assert codec.next_event() is NEED_DATA
    codec.receive_data(b"")
    assert codec.next_event() == Closed(complete=False)
    assert codec.state is State.CLOSED
    assert codec.next_event() == Closed(complete=True)  # stays closed, never spins


def test_clean_close_after_a_reply_is_complete() -> None:
    codec = ready()
    codec.send("ANSWER")
    codec.receive_data(b"200 result=0\n")
    assert codec.next_event() == Reply(200, "0")
    codec.receive_data(b"")
    assert codec.next_event() == Closed(complete=True)


def test_close_while_waiting_for_reply_is_incomplete() -> None:
    codec = ready()
    codec.send("ANSWER")
    codec.receive_data(b"")
    assert codec.next_event() == Closed(complete=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=0", Reply(200, "0")),
        ("200 result=1 (timeout)", Reply(200, "1", "timeout")),
        ("200 result= (timeout)", Reply(200, "", "timeout")),
        ("200 result=49 endpos=16000", Reply(200, "49", None, {"endpos": "16000"})),
        ("200 result=1 (value with spaces (and parens))", Reply(200, "1", "value with spaces (and parens)")),
        ("200 result=-1", Reply(200, "-1")),
        ("510 Invalid or unknown command", ErrorReply(510, "Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            ErrorReply(511, "Command Not Permitted on a dead channel or intercept routine"),
        ),
        (
            "520 Invalid command syntax.  Proper usage not available.",
            ErrorReply(520, "Invalid command syntax.  Proper usage not available."),
        ),
    ],
)
def test_reply_lines(line: str, expected: Reply | ErrorReply) -> None:
    assert parse_reply(line) == expected


def test_reply_numbers() -> None:
    assert Reply(200, "49").number == 49
    assert Reply(200, "").number is None
    assert Reply(200, "123#").number is None


@pytest.mark.parametrize("line", ["hello", "200 nothing", "999", "300 result=1", "200 result=1 (open"])
def test_garbage_replies_are_protocol_errors(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(line)


def test_multiline_520_usage_block() -> None:
    codec = ready()
    codec.send("STREAM FILE", "x")
    codec.receive_data(b"520-Invalid command syntax.  Proper usage follows:\n")
    assert codec.next_event() is NEED_DATA
    codec.receive_data(b" Usage: STREAM FILE <filename> <escape digits> [sample offset]\n")
    codec.receive_data(b"520 End of proper usage.\n")
    event = codec.next_event()
    assert isinstance(event, ErrorReply)
    assert event.code == 520
    assert event.usage == (" Usage: STREAM FILE <filename> <escape digits> [sample offset]",)
    assert codec.state is State.IDLE


def test_hangup_notice_before_the_reply_in_flight() -> None:
    codec = ready()
    codec.send("STREAM FILE", "prompt", "12")
    codec.receive_data(b"HANGUP\n200 result=-1 endpos=0\n")
    assert codec.next_event() == HangupNotice()
    assert codec.hung_up
    assert codec.state is State.WAITING
    assert codec.next_event() == Reply(200, "-1", None, {"endpos": "0"})
    codec.send("HANGUP")
    codec.receive_data(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    event = codec.next_event()
    assert isinstance(event, ErrorReply) and event.dead_channel


def test_511_marks_the_channel_hung_up() -> None:
    codec = ready()
    codec.send("ANSWER")
    codec.receive_data(b"511 Command Not Permitted on a dead channel or intercept routine\r\n")
    assert isinstance(codec.next_event(), ErrorReply)
    assert codec.hung_up


def test_one_command_at_a_time_and_not_before_headers() -> None:
    codec = AgiCodec()
    with pytest.raises(ProtocolError, match="before the environment"):
        codec.send("ANSWER")
    codec = ready()
    assert codec.send("ANSWER") == b"ANSWER\n"
    with pytest.raises(ProtocolError, match="awaits its reply"):
        codec.send("HANGUP")


def test_reply_without_command_is_refused() -> None:
    codec = ready()
    codec.receive_data(b"200 result=0\n")
    with pytest.raises(ProtocolError):
        codec.next_event()


def test_non_agi_header_and_oversized_line_are_refused() -> None:
    codec = AgiCodec()
    codec.receive_data(b"GET / HTTP/1.1\n")
    with pytest.raises(ProtocolError):
        codec.next_event()
    codec = AgiCodec()
    codec.receive_data(b"agi_x: " + b"a" * 9000)
    with pytest.raises(ProtocolError, match="longer"):
        codec.next_event()


def test_command_quoting() -> None:
    assert format_command("STREAM FILE", "/var/prompts/ab12", "0123456789*#") == (
        b"STREAM FILE /var/prompts/ab12 0123456789*#\n"
    )
    assert format_command("STREAM FILE", "x", "") == b'STREAM FILE x ""\n'
    assert format_command("SET VARIABLE", "NAME", 'say "hi" \\ there') == (
        b'SET VARIABLE NAME "say \\"hi\\" \\\\ there"\n'
    )
    assert format_command("WAIT FOR DIGIT", 5000) == b"WAIT FOR DIGIT 5000\n"


@pytest.mark.parametrize("bad", ["a\nHANGUP", "x\r", "nul\x00"])
def test_control_characters_cannot_smuggle_a_second_command(bad: str) -> None:
    with pytest.raises(ProtocolError):
        quote_arg(bad)


def test_command_names_are_checked() -> None:
    with pytest.raises(ProtocolError):
        format_command("ANSWER\nHANGUP")
    with pytest.raises(ProtocolError):
        format_command("answer")
