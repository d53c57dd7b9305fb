"""The AMI codec against transcripts (tests/fixtures/ami), split at every byte offset, and its encoder.

What must hold: how the bytes are cut into reads never changes the messages (a multibyte
name split between two reads included); repeated keys keep their order; old "Response:
Follows" output is kept whole; and nothing a debtor can type becomes a second action.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recobro.domain.errors import ValidationError
from recobro.telephony.ami.codec import (
    MAX_LINE,
    MAX_VALUE,
    ActionIds,
    Kind,
    Message,
    Parser,
    ProtocolError,
    banner_version,
    encode_action,
    make_action,
    parse_all,
    variable_fields,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
TRANSCRIPTS = sorted(FIXTURES.glob("*.ami"))


def transcript(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fed_in(chunks: list[bytes]) -> list[Message]:
    parser = Parser()
    out: list[Message] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    assert not parser.pending, "a whole transcript leaves nothing half-read"
    return out


# --- transcripts --------------------------------------------------------------------------


def test_there_are_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 5, TRANSCRIPTS
    assert any(p.name.startswith("recorded-") for p in TRANSCRIPTS)  # bytes from the real Asterisk


def test_the_recorded_session_reads_as_asterisk_22_sent_it() -> None:
    messages = parse_all(transcript("recorded-session.ami"))
    assert banner_version(messages[0]) == "11.0.0"  # Asterisk 22's AMI version
    hangups = [m for m in messages if m.is_event("Hangup")]
    assert sorted((m["Cause"], m["Cause-txt"]) for m in hangups) == [
        ("1", "Unallocated (unassigned) number"),
        ("16", "Normal Clearing"),
        ("17", "User busy"),
    ]
    assert all(m["CallerIDName"] == "José Núñez" for m in hangups)
    assert all(m.chan_variables()["RECOBRO_CALL_ID"] == m["Uniqueid"].removeprefix("recobro-") for m in hangups)
    failures = [m for m in messages if m.is_event("OriginateResponse") and m["Response"] == "Failure"]
    assert len(failures) == 2 and all(m.action_id for m in failures)


def segments(data: bytes) -> list[bytes]:
    """The transcript cut after each blank line: the parser is between messages at each cut."""
    parts = data.split(b"\r\n\r\n")
    return [p + b"\r\n\r\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_every_split_point_gives_the_same_messages(path: Path) -> None:
    """Every byte offset of the transcript, one message block at a time.

    Between two messages the parser holds nothing, so splitting the whole transcript at
    offset k is the same as splitting, at k, the block that holds k; checking block by block
    keeps a long recording linear instead of quadratic. The blocks really are independent:
    their messages, concatenated, are those of the whole transcript.
    """
    data = path.read_bytes()
    whole = parse_all(data)
    assert whole and whole[0].kind is Kind.BANNER
    blocks = segments(data)
    assert b"".join(blocks) == data
    per_block = [parse_all(block, expect_banner=i == 0) for i, block in enumerate(blocks)]
    assert [m for ms in per_block for m in ms] == whole
    for i, (block, expected) in enumerate(zip(blocks, per_block, strict=True)):
        for cut in range(len(block) + 1):
            parser = Parser(expect_banner=i == 0)
            got = parser.feed(block[:cut]) + parser.feed(block[cut:])
            assert got == expected, f"block {i}, split at byte {cut}"
            assert not parser.pending


@pytest.mark.parametrize("path", [p for p in TRANSCRIPTS if p.stat().st_size <= 3000], ids=lambda p: p.name)
def test_every_split_point_of_the_whole_transcript(path: Path) -> None:
    data = path.read_bytes()
    whole = parse_all(data)
    for cut in range(len(data) + 1):
        assert fed_in([data[:cut], data[cut:]]) == whole, f"split at byte {cut}"


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_one_byte_at_a_time_gives_the_same_messages(path: Path) -> None:
    data = path.read_bytes()
    assert fed_in([data[i : i + 1] for i in range(len(data))]) == parse_all(data)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_reads_give_the_same_messages(data: st.DataObject) -> None:
    raw = transcript(data.draw(st.sampled_from([p.name for p in TRANSCRIPTS])))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert fed_in(chunks) == parse_all(raw)


def test_a_name_split_inside_a_multibyte_character_survives() -> None:
    data = transcript("handmade-human-call.ami")
    name = "José Núñez Peña".encode()
    at = data.index(name)
    inside = [at + i for i in range(len(name)) if name[i] >= 0x80]  # bytes of é, ú, ñ, ñ
    assert len(inside) == 8
    for cut in inside:
        messages = fed_in([data[:cut], data[cut:]])
        newchannel = next(m for m in messages if m.is_event("Newchannel"))
        assert newchannel["CallerIDName"] == "José Núñez Peña"
        assert not any("\ufffd" in v for m in messages for _, v in m.headers)


def test_the_human_call_transcript_reads_as_asterisk_meant_it() -> None:
    messages = parse_all(transcript("handmade-human-call.ami"))
    banner, login, booted, ping = messages[:4]
    assert banner_version(banner) == "11.0.0"
    assert login.kind is Kind.RESPONSE and login.ok and login.action_id == "t1-1"
    assert booted.is_event("fullybooted") and booted["status"] == "Fully Booted"
    assert ping.ok and ping["Ping"] == "Pong"
    # OriginateResponse is an *event* that carries "Response:" and the ActionID of the Originate.
    originate = next(m for m in messages if m.name == "OriginateResponse")
    assert originate.kind is Kind.EVENT and originate["Response"] == "Success" and originate.action_id == "t1-3"
    assert originate["Reason"] == "4"
    dial_end = next(m for m in messages if m.is_event("DialEnd"))
    assert dial_end["DestUniqueid"] == "recobro-3f2a9c0d1b7e4a55" and dial_end["DialStatus"] == "ANSWER"
    hangup = next(m for m in messages if m.is_event("Hangup"))
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("16", "Normal Clearing")
    account = next(m for m in messages if m.is_event("Newchannel"))
    assert account["AccountCode"] == ""  # an empty value is a value, not a missing key
    user = next(m for m in messages if m.is_event("UserEvent"))
    assert (user["UserEvent"], user["Status"], user["Cause"]) == ("RecobroAmd", "HUMAN", "HUMAN-800-800")
    assert [m.name for m in messages[-2:]] == ["Hangup", "Goodbye"]


def test_failures_transcript() -> None:
    messages = parse_all(transcript("handmade-failures.ami"))
    assert not messages[1].ok and messages[1]["Message"] == "Authentication failed"
    assert "Action: ListCommands" in messages[3]["Message"]  # a colon inside a value stays in the value
    causes = [(m["Cause"], m["Cause-txt"]) for m in messages if m.is_event("Hangup")]
    assert causes == [
        ("17", "User busy"),
        ("1", "Unallocated (unassigned) number"),
        ("34", "Circuit/channel congestion"),
        ("21", "Call Rejected"),
    ]
    failures = [m for m in messages if m.is_event("OriginateResponse")]
    assert [(m["Response"], m["Reason"]) for m in failures] == [("Failure", r) for r in ("5", "0", "8", "1")]


def test_an_event_list_keeps_its_action_id_on_every_item() -> None:
    messages = parse_all(transcript("handmade-coreshowchannels.ami"))
    start = messages[2]
    assert start.ok and start["EventList"] == "start"
    items = [m for m in messages if m.is_event("CoreShowChannel")]
    assert [m.action_id for m in items] == ["t3-2", "t3-2"]
    assert [m["Uniqueid"] for m in items] == ["recobro-3f2a9c0d1b7e4a55", "1764146300.9"]
    assert items[1]["CallerIDName"] == "Ana López"
    complete = next(m for m in messages if m.is_event("CoreShowChannelsComplete"))
    assert (complete["EventList"], complete["ListItems"]) == ("Complete", "2")


def test_response_follows_output_is_kept_whole() -> None:
    messages = parse_all(transcript("handmade-command-follows.ami"))
    assert banner_version(messages[0]) == "2.10.6"
    first, second = messages[2], messages[3]
    assert first.name == "Follows" and first.ok and first.action_id == "t4-2" and first["Privilege"] == "Command"
    assert first.output == (
        "Uptime: 1 hour, 2 minutes",  # looks like a header, is output
        "",  # a blank line inside the output does not end the message
        "Channel              Location             State   Application(Data)",
        "0 active channels",
    )
    assert "Uptime" not in first
    assert second.output == ("No such command 'frob' (type 'core show help frob' for other possible commands)",)
    modern = messages[4]
    assert modern.get_all("output") == ["Uptime: 5 seconds", "Último reinicio: hace 5 segundos"]
    assert messages[5]["Texto"] == "Peña ñandú — ¿Bueno?"


# --- the parser's edges -------------------------------------------------------------------


def test_lookup_is_case_insensitive_and_repeated_keys_keep_their_order() -> None:
    raw = b"Event: VarSet\r\nchanvariable: A=1\r\nChanVariable: B=x=y\r\n"
    raw += b"CHANVARIABLE: C=\r\nDestChanVariable: D=4\r\n\r\n"
    (m,) = parse_all(raw, expect_banner=False)
    assert m.get_all("ChanVariable") == ["A=1", "B=x=y", "C="]
    assert m.chan_variables() == {"A": "1", "B": "x=y", "C": ""}
    assert m.chan_variables("Dest") == {"D": "4"}
    assert m["EVENT"] == "VarSet" and m.get("missing") is None and "missing" not in m
    with pytest.raises(KeyError):
        m["missing"]


def test_bare_lf_blank_lines_between_messages_and_odd_lines() -> None:
    raw = b"\r\n\r\nEvent: A\nKey:no-space\nKey2:  two spaces\nnot a header line\n\nResponse: Success\r\n\r\n"
    a, b = parse_all(raw, expect_banner=False)
    assert a.name == "A" and a["Key"] == "no-space" and a["Key2"] == " two spaces"
    assert a.output == ("not a header line",)
    assert b.kind is Kind.RESPONSE and b.ok


def test_a_block_that_is_neither_response_nor_event_is_kept() -> None:
    (m,) = parse_all(b"Foo: bar\r\n\r\n", expect_banner=False)
    assert m.kind is Kind.OTHER and m["Foo"] == "bar" and m.name == ""


def test_bytes_that_are_not_utf8_are_replaced_not_fatal() -> None:
    (m,) = parse_all(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\n\r\n", expect_banner=False)
    assert m["CallerIDName"] == "Jos\ufffd"


def test_an_endless_line_is_a_protocol_error() -> None:
    parser = Parser(expect_banner=False)
    with pytest.raises(ProtocolError):
        parser.feed(b"Event: " + b"x" * (MAX_LINE + 1))


def test_a_half_message_is_pending() -> None:
    parser = Parser()
    banner = Message(Kind.BANNER, banner="Asterisk Call Manager/11.0.0")
    assert parser.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Succ") == [banner]
    assert parser.pending
    assert parser.feed(b"ess\r\n\r\n")[0].ok
    assert not parser.pending


# --- encoding -----------------------------------------------------------------------------


def test_an_action_round_trips_through_the_parser() -> None:
    fields = [("Channel", "PJSIP/carrier/sip:100@127.0.0.1:5071"), ("CallerID", '"José Núñez" <5512345678>')]
    fields += variable_fields({"RECOBRO_CALL": "3f2a9c0d1b7e4a55", "NOMBRE": "José Núñez"})
    raw = encode_action("Originate", "ab-7", fields)
    assert raw.endswith(b"\r\n\r\n") and raw.count(b"\r\n\r\n") == 1
    (m,) = parse_all(raw, expect_banner=False)
    assert m.headers[:2] == (("Action", "Originate"), ("ActionID", "ab-7"))
    assert m.get_all("Variable") == ["RECOBRO_CALL=3f2a9c0d1b7e4a55", "NOMBRE=José Núñez"]
    assert m["CallerID"] == '"José Núñez" <5512345678>'


def test_an_action_from_a_mapping_keeps_its_order() -> None:
    action = make_action("Redirect", "x-1", {"Channel": "PJSIP/carrier-00000001", "Context": "recobro-agent"})
    assert action.fields == (("Channel", "PJSIP/carrier-00000001"), ("Context", "recobro-agent"))
    assert action.get("context") == "recobro-agent" and action.get("nope") is None


@pytest.mark.parametrize(
    "value",
    [
        "x\r\nAction: Hangup",
        "x\nAction: Hangup",
        "x\rAction: Hangup",
        "x\r\n\r\nAction: Hangup\r\nChannel: PJSIP/agent-1",
        "nul\x00",
        "esc\x1b[31m",
        "line\u2028separator",
        "bidi\u202eoverride",
        "tab\there",
        "a" * (MAX_VALUE + 1),
    ],
)
def test_a_value_that_could_smuggle_an_action_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        encode_action("Originate", "a-1", [("CallerID", value)])
    assert err.value.field == "CallerID"
    with pytest.raises(ValidationError):
        variable_fields({"NOMBRE": value})
    with pytest.raises(ValidationError):
        encode_action("Originate", value, [])  # nor as an ActionID


@pytest.mark.parametrize("key", ["Caller ID", "X\r\nAction", "", "1abc", "Ñame", "a:b", "x" * 65])
def test_a_bad_key_or_action_name_is_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        encode_action("Originate", "a-1", [(key, "v")])
    with pytest.raises(ValidationError):
        encode_action(key, "a-1", [])


@pytest.mark.parametrize("name", ["A B", "A=B", "X\nY", ""])
def test_a_bad_channel_variable_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        variable_fields({name: "1"})


def test_the_codec_sets_action_and_action_id_itself() -> None:
    with pytest.raises(ValidationError):
        encode_action("Ping", "a-1", [("ActionID", "other")])
    with pytest.raises(ValidationError):
        encode_action("Ping", "a-1", [("action", "Hangup")])
    with pytest.raises(ValidationError):
        encode_action("Ping", "", [])
    with pytest.raises(ValidationError):
        encode_action("Ping", "a-1", [("Channel", 5)])  # type: ignore[list-item]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_whatever_text_goes_in_one_action_comes_out_as_one_action(text: str) -> None:
    try:
        raw = encode_action("Setvar", "a-1", [("Variable", "NOMBRE"), ("Value", text)])
    except ValidationError:
        return
    (m,) = parse_all(raw, expect_banner=False)
    assert m.get_all("Action") == ["Setvar"]
    assert m["Value"] == text  # the parser drops only the one space after the colon


def test_action_ids_are_unique_and_prefixed() -> None:
    ids = ActionIds("abc")
    assert [next(ids) for _ in range(3)] == ["abc-1", "abc-2", "abc-3"]
    a, b = ActionIds(), ActionIds()
    assert a.prefix != b.prefix
    with pytest.raises(ValidationError):
        ActionIds("x\r\n")
