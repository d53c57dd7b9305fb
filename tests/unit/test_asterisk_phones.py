"""The sipp phones' scenarios and audio (no Asterisk needed; the audio needs espeak-ng and sox)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asterisk_config import phones

ULAW_SILENCE = {0xFF, 0x7F, 0xFE, 0x7E}  # u-law codes for (almost) zero amplitude


def _scenario(kind: str) -> ET.Element:
    name = phones.KINDS[kind][0]
    return ET.fromstring(resources.files("asterisk_config").joinpath("phones", name).read_bytes())  # noqa: S314  # our own files


@pytest.mark.parametrize("kind", sorted(phones.KINDS))
def test_every_scenario_is_a_uas_that_starts_with_an_invite(kind: str) -> None:
    root = _scenario(kind)
    steps = [child for child in root if child.tag in ("recv", "send", "pause")]
    assert steps[0].tag == "recv" and steps[0].get("request") == "INVITE"


@pytest.mark.parametrize(("kind", "audio"), [("person", "person.ulaw,1,0"), ("machine", "machine.ulaw,1,0"),
                                             ("agent", "agent.ulaw,-1,0")])
def test_answering_phones_stream_ulaw_on_the_rtpstream_port(kind: str, audio: str) -> None:
    root = _scenario(kind)
    body = "".join(send.text or "" for send in root.iter("send"))
    assert "m=audio [rtpstream_audio_port] RTP/AVP 0" in body
    assert [e.get("rtp_stream") for e in root.iter("exec")] == [audio]


@pytest.mark.parametrize(("kind", "status"), [("busy", "486"), ("reject", "404"), ("decline", "604")])
def test_refusing_phones_answer_with_their_status(kind: str, status: str) -> None:
    finals = [s.text or "" for s in _scenario(kind).iter("send") if f"SIP/2.0 {status} " in (s.text or "")]
    assert len(finals) == 1


def test_the_ring_phone_answers_cancel_and_terminates_the_invite() -> None:
    body = "".join(s.text or "" for s in _scenario("ring").iter("send"))
    assert "SIP/2.0 487 Request Terminated" in body and "CSeq: [last_cseq_number] INVITE" in body
    assert [r.get("request") for r in _scenario("ring").iter("recv")] == ["INVITE", "CANCEL", "ACK"]


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(phones.PhoneError, match="unknown phone kind"):
        phones.start_phone("fax", tmp_path, tmp_path)


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="espeak-ng y sox no están instalados / espeak-ng and sox are not installed")
def test_audio_is_speech_followed_by_real_silence(tmp_path: Path) -> None:
    phones.make_audio(tmp_path)
    person = (tmp_path / "person.ulaw").read_bytes()
    assert 6.5 < phones.audio_seconds(tmp_path / "person.ulaw") < 8.0
    assert set(person[: int(0.25 * 8000)]) <= ULAW_SILENCE  # 0.3 s of silence before "¿Bueno?"
    assert set(person[-int(5.5 * 8000):]) <= ULAW_SILENCE  # then 6 s of silence, sent as RTP
    assert not set(person) <= ULAW_SILENCE  # and speech in between
    machine = (tmp_path / "machine.ulaw").read_bytes()
    assert phones.audio_seconds(tmp_path / "machine.ulaw") == pytest.approx(16.2, abs=0.05)
    speech = machine[int(0.2 * 8000): int(12.2 * 8000)]
    loud_seconds = sum(1 for i in range(0, len(speech), 8000) if not set(speech[i:i + 8000]) <= ULAW_SILENCE)
    assert loud_seconds >= 11  # a greeting that talks through its 12 s
    assert set(machine[-int(3.9 * 8000):]) <= ULAW_SILENCE
    before = (tmp_path / "person.ulaw").stat().st_mtime_ns
    phones.make_audio(tmp_path)  # made once, then kept
    assert (tmp_path / "person.ulaw").stat().st_mtime_ns == before


def test_sandbox_commands_say_they_need_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from recobro.runtime.cli import _register, app

    _register()
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("RECOBRO_ASTERISK_SANDBOX_DIR", str(tmp_path / "sb"))
    result = CliRunner().invoke(app, ["asterisk", "sandbox", "up"])
    assert result.exit_code == 2
    assert "necesita root" in result.output and "needs root" in result.output
    status = CliRunner().invoke(app, ["asterisk", "sandbox", "status"])
    assert status.exit_code == 3 and "Instalado / Installed: no" in status.output
