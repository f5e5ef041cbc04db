from __future__ import annotations

from pathlib import Path

import pytest

from hotline.center.records import CallRecord, DtmfRecord, Segment
from hotline.center.settings import SettingsError, load_settings, parse_hostport
from hotline.center.store import SqliteCallStore
from hotline.telephony.sip.edge import render_config, render_dispatcher


def test_store_roundtrip_and_interrupted(tmp_path: Path) -> None:
    store = SqliteCallStore(tmp_path / "calls.db")
    rec = CallRecord(id="c1", sip_call_id="x", from_uri="sip:a@b", to_uri="sip:h@b", worker="w1")
    rec.dtmf.append(DtmfRecord("5", "info", 1200))
    rec.transcript.append(Segment("caller", "hello", 100, 900, "whisper"))
    store.save(rec)
    other = SqliteCallStore(tmp_path / "calls.db")  # a second process's connection sees it
    got = other.get("c1")
    assert got is not None and got["dtmf_count"] == 1 and got["transcript"][0]["text"] == "hello"
    assert CallRecord.from_dict(got).transcript[0].end_ms == 900
    assert other.mark_interrupted("w2") == 0
    assert other.mark_interrupted("w1") == 1
    assert store.get("c1")["status"] == "interrupted"  # type: ignore[index]
    assert [r["id"] for r in store.recent(10)] == ["c1"]
    assert store.get("nope") is None


def test_settings_file_and_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("workers: 3\nasr:\n  engine: whisper\n  hints: [parcel]\nvad:\n  hangover_ms: 300\n")
    s = load_settings(cfg, sip="127.0.0.1:5099", asr_language="zh")
    assert s.workers == 3 and s.asr.engine == "whisper" and s.asr.language == "zh"
    assert s.asr.hints == ("parcel",) and s.vad.hangover_ms == 300
    assert s.sip_hostport == ("127.0.0.1", 5099) and s.worker_sip_port(0) == 5109


def test_settings_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("wokers: 3\n")
    with pytest.raises(SettingsError, match="unknown settings: wokers"):
        load_settings(cfg)
    cfg.write_text("asr:\n  engin: vosk\n")
    with pytest.raises(SettingsError, match="unknown keys in 'asr': engin"):
        load_settings(cfg)
    with pytest.raises(SettingsError):
        parse_hostport("host:notaport", 1)
    with pytest.raises(SettingsError):
        parse_hostport("host:70000", 1)


def test_edge_config_lists_every_worker(tmp_path: Path) -> None:
    dispatcher = render_dispatcher([("b-w1", "127.0.0.3", 5071), ("a-w1", "127.0.0.2", 5071)], 4)
    assert "sip:127.0.0.2:5071 0 0 duid=a-w1;maxload=4" in dispatcher
    assert "sip:127.0.0.3:5071 0 0 duid=b-w1;maxload=4" in dispatcher
    # no live worker anywhere: a set Kamailio can load, whose one destination answers nothing
    assert "sip:127.0.0.1:9 0 0 duid=none" in render_dispatcher([], 4)
    cfg = render_config("127.0.0.1", 5060, tmp_path, 4)
    assert "listen=udp:127.0.0.1:5060" in cfg and f"{tmp_path}/dispatcher.list" in cfg


def test_post_transcript_queue(tmp_path: Path) -> None:
    store = SqliteCallStore(tmp_path / "calls.db")
    live = CallRecord(id="live", sip_call_id="a", from_uri="", to_uri="")
    live.recordings["caller"] = "recordings/x.wav"
    done = CallRecord(id="done", sip_call_id="b", from_uri="", to_uri="", status="completed")
    done.recordings["caller"] = "recordings/y.wav"
    unrecorded = CallRecord(id="norec", sip_call_id="c", from_uri="", to_uri="", status="completed")
    for rec in (live, done, unrecorded):
        store.save(rec)
    assert store.awaiting_post_transcript(10) == ["done"]
    store.set_post_transcript("done", {"status": "running", "progress": 0.5})
    assert store.awaiting_post_transcript(10) == []
    assert store.get("done")["post_transcript"] == {"status": "running", "progress": 0.5}  # type: ignore[index]


def test_wildcard_sip_host_needs_a_media_address(tmp_path: Path) -> None:
    s = load_settings(None, sip="0.0.0.0:5060")
    with pytest.raises(SettingsError, match="media_address"):
        _ = s.rtp_address
    s = load_settings(None, sip="0.0.0.0:5060", media_address="192.0.2.10")
    assert s.rtp_address == "192.0.2.10" and s.internal_host == "127.0.0.1"
    assert load_settings(None, sip="127.0.0.2:5060").rtp_address == "127.0.0.2"
    cfg = render_config("0.0.0.0", 5060, tmp_path, 4, advertise="192.0.2.10")
    assert "listen=udp:0.0.0.0:5060 advertise 192.0.2.10:5060" in cfg


def test_media_rate_is_8_or_16_khz(tmp_path: Path) -> None:
    assert load_settings(None, media_rate=8000).media_rate == 8000
    with pytest.raises(SettingsError, match="media_rate"):
        load_settings(None, media_rate=44100)


def test_settings_reach_workers_unchanged(tmp_path: Path) -> None:
    from hotline.center.settings import settings_from_json, settings_to_json

    cfg = tmp_path / "s.yaml"
    cfg.write_text("media_rate: 8000\nasr:\n  engine: vosk\n  hints: [parcel]\nvad:\n  hangover_ms: 300\n")
    s = load_settings(cfg, sip="0.0.0.0:5070", media_address="192.0.2.1", flows=Path("flows"))
    back = settings_from_json(settings_to_json(s))
    assert back.asr == s.asr and back.vad == s.vad and back.asr.hints == ("parcel",)
    assert back.flows == Path("flows").resolve() and back.media_rate == 8000 and back.rtp_address == "192.0.2.1"
