from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hotline.ivr.lookups import (
    DEFAULT_SOURCES,
    STATUSES,
    CustomerDirectory,
    HttpSource,
    LookupFailed,
    ParcelDirectory,
    build_sources,
    next_working_days,
    normalise_parcel_number,
    spoken_date,
    spoken_date_zh,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo() -> ParcelDirectory:
    sources = build_sources(DEFAULT_SOURCES, REPO)
    source = sources["parcels"]
    assert isinstance(source, ParcelDirectory)
    return source


async def test_demo_data_covers_every_status_and_the_named_parcels(demo: ParcelDirectory) -> None:
    assert 10 <= len(demo) <= 16
    statuses = set()
    for number in ("12345678", "87654321", "11112222", "33334444", "20261122", "55501234", "66667777",
                   "98765432", "123456789012", "44445555", "7777888899", "24681357"):
        result = await demo.lookup("track", {"number": number})
        assert result["found"] == "yes" and result["number"] == number
        assert number.isdigit() and 8 <= len(number) <= 12
        statuses.add(result["status"])
    assert statuses == set(STATUSES)

    out = await demo.lookup("track", {"number": "12345678"})
    assert out["status"] == "out_for_delivery"
    assert out["status_text"] == "out for delivery today"
    assert out["window"] == "between 2 and 4 pm"
    assert out["window_zh"] == "下午2点到4点"
    assert out["recipient_city"] == "Manchester"
    assert dt.date.fromisoformat(out["eta_date"])
    assert (await demo.lookup("track", {"number": "87654321"}))["status"] == "delivered"
    failed = await demo.lookup("track", {"number": "11112222"})
    assert failed["status"] == "delivery_failed" and failed["can_redeliver"] == "yes"
    assert (await demo.lookup("track", {"number": "33334444"}))["status"] == "damaged"
    returned = await demo.lookup("track", {"number": "66667777"})
    assert returned["can_redeliver"] == "no" and returned["window"] == ""


async def test_track_normalises_number_and_answers_unknown(demo: ParcelDirectory) -> None:
    spaced = await demo.lookup("track", {"number": " 1234-5678 "})
    assert spaced["found"] == "yes" and spaced["number"] == "12345678"
    unknown = await demo.lookup("track", {"number": "000 111"})
    assert unknown == {"found": "no", "number": "000111"}
    assert normalise_parcel_number("ab-12 cd\t3") == "AB12CD3"


def test_spoken_fields_rendered_from_data() -> None:
    directory = ParcelDirectory({
        "ab-1234": {"status": "in_transit", "eta_date": "2026-11-24", "window": "11:30-13:00",
                    "recipient_city": "York"},
        "X2": {"status": "delivered", "eta_date": dt.date(2026, 12, 1)},
        "X3": {"status": "held_at_depot"},
    })
    transit = directory.track("AB1234")
    assert transit["status_text"] == "on its way and expected on Tuesday the 24th of November"
    assert transit["status_text_zh"] == "正在运输途中，预计11月24日星期二送达"
    assert transit["window"] == "between 11:30 am and 1 pm"
    assert transit["window_zh"] == "上午11点30分到下午1点"
    assert transit["can_redeliver"] == "no"
    assert directory.track("x2")["status_text"] == "delivered on Tuesday the 1st of December"
    assert directory.track("x2")["eta_date"] == "2026-12-01"
    held = directory.track("X3")
    assert held["can_redeliver"] == "yes" and held["eta_date"] == "" and held["window"] == ""


@pytest.mark.parametrize("raw, message", [
    ({"status": "lost"}, "status must be one of"),
    ({"status": "delivered"}, "needs an eta_date"),
    ({"status": "in_transit", "eta_date": "24/11/2026"}, "ISO date"),
    ({"status": "damaged", "window": "2pm-4pm"}, "window must look like"),
    ({"status": "damaged", "window": "16:00-14:00"}, "ends before"),
    ({"status": "damaged", "can_redeliver": "maybe"}, "can_redeliver"),
    ({"status": "damaged", "colour": "red"}, "unknown keys"),
])
def test_bad_parcel_data_is_rejected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParcelDirectory({"12345678": raw})


def test_spoken_dates() -> None:
    assert spoken_date(dt.date(2026, 11, 24)) == "Tuesday the 24th of November"
    assert spoken_date(dt.date(2026, 11, 1)) == "Sunday the 1st of November"
    assert spoken_date(dt.date(2026, 11, 2)) == "Monday the 2nd of November"
    assert spoken_date(dt.date(2026, 11, 3)) == "Tuesday the 3rd of November"
    assert spoken_date(dt.date(2026, 11, 11)) == "Wednesday the 11th of November"
    assert spoken_date(dt.date(2026, 11, 12)) == "Thursday the 12th of November"
    assert spoken_date(dt.date(2026, 11, 13)) == "Friday the 13th of November"
    assert spoken_date(dt.date(2026, 11, 22)) == "Sunday the 22nd of November"
    assert spoken_date(dt.date(2026, 10, 31)) == "Saturday the 31st of October"
    assert spoken_date_zh(dt.date(2026, 11, 24)) == "11月24日星期二"
    assert spoken_date_zh(dt.date(2026, 11, 22)) == "11月22日星期日"


async def test_redelivery_slots_skip_weekends(demo: ParcelDirectory) -> None:
    # Thursday: Friday, then Monday and Tuesday
    slots = await demo.lookup("redelivery_slots", {"number": "11112222", "today": "2026-11-19"})
    assert slots["found"] == "yes" and slots["can_redeliver"] == "yes"
    assert [slots["slot1"], slots["slot2"], slots["slot3"]] == ["2026-11-20", "2026-11-23", "2026-11-24"]
    assert slots["slot1_spoken"] == "Friday the 20th of November"
    assert slots["slot3_spoken"] == "Tuesday the 24th of November"
    assert slots["slot3_spoken_zh"] == "11月24日星期二"
    assert "slot4" not in slots
    # Saturday and Sunday both start on Monday
    for today in ("2026-11-21", "2026-11-22"):
        slots = await demo.lookup("redelivery_slots", {"number": "11112222", "today": today})
        assert [slots["slot1"], slots["slot2"], slots["slot3"]] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert all(d.weekday() < 5 for d in next_working_days(dt.date(2026, 12, 24), 10))


async def test_redelivery_slots_unknown_parcel_and_bad_params(demo: ParcelDirectory) -> None:
    assert (await demo.lookup("redelivery_slots", {"number": "99990000", "today": "2026-11-19"})) == {
        "found": "no", "number": "99990000"}
    with pytest.raises(LookupFailed) as bad_date:
        await demo.lookup("redelivery_slots", {"number": "11112222", "today": "next tuesday"})
    assert bad_date.value.reason == "bad_request" and bad_date.value.retryable is False
    with pytest.raises(LookupFailed) as missing:
        await demo.lookup("track", {})
    assert missing.value.reason == "bad_request"
    no_today = await demo.lookup("redelivery_slots", {"number": "11112222"})
    assert dt.date.fromisoformat(no_today["slot1"]) > dt.date.today()


async def test_unknown_operation_is_a_bad_request(demo: ParcelDirectory) -> None:
    with pytest.raises(LookupFailed) as info:
        await demo.lookup("cancel", {"number": "12345678"})
    assert info.value.reason == "bad_request" and info.value.retryable is False


def test_from_file_accepts_bare_mapping(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("12345678:\n  status: damaged\n", encoding="utf-8")  # unquoted: YAML int key
    directory = ParcelDirectory.from_file(path, name="mine")
    assert directory.name == "mine" and directory.track("12345678")["status"] == "damaged"


def test_build_sources_http_and_relative_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.yaml").write_text('parcels:\n  "1": {status: damaged}\n', encoding="utf-8")
    sources = build_sources({
        "local": {"type": "parcels", "file": "data/p.yaml"},
        "carrier": {"type": "http", "url": "https://carrier.example/api/parcels/{number}", "timeout": 2,
                    "retries": 2, "method": "post", "headers": {"X-Api-Key": "k", "X-Version": 3}},
    }, tmp_path)
    local, carrier = sources["local"], sources["carrier"]
    assert isinstance(local, ParcelDirectory) and local.name == "local" and len(local) == 1
    assert isinstance(carrier, HttpSource)
    assert (carrier.name, carrier.method, carrier.timeout_s, carrier.retries) == ("carrier", "POST", 2.0, 2)
    assert carrier.headers == {"X-Api-Key": "k", "X-Version": "3"}
    assert build_sources({}, tmp_path) == {}


@pytest.mark.parametrize("config, message", [
    ({"carrier": {"type": "ftp"}}, r"^data_sources\.carrier: type must be"),
    ({"carrier": "http"}, r"^data_sources\.carrier: expected a mapping"),
    ({"carrier": {"type": "http"}}, r"^data_sources\.carrier: url must be"),
    ({"carrier": {"type": "http", "url": "carrier.example/x"}}, r"^data_sources\.carrier: url must be"),
    ({"carrier": {"type": "http", "url": "http://x", "timeout": 0}}, r"^data_sources\.carrier: timeout"),
    ({"carrier": {"type": "http", "url": "http://x", "timeout": "2s"}}, r"^data_sources\.carrier: timeout"),
    ({"carrier": {"type": "http", "url": "http://x", "retries": -1}}, r"^data_sources\.carrier: retries"),
    ({"carrier": {"type": "http", "url": "http://x", "retries": True}}, r"^data_sources\.carrier: retries"),
    ({"carrier": {"type": "http", "url": "http://x", "method": "PUT"}}, r"^data_sources\.carrier: method"),
    ({"carrier": {"type": "http", "url": "http://x", "headers": ["a"]}}, r"^data_sources\.carrier: headers"),
    ({"carrier": {"type": "http", "url": "http://x", "tiemout": 2}}, r"^data_sources\.carrier: unknown keys"),
    ({"local": {"type": "parcels"}}, r"^data_sources\.local: file is required"),
    ({"local": {"type": "parcels", "file": "nope.yaml"}}, r"^data_sources\.local: file not found"),
    ({"bad name": {"type": "parcels", "file": "x"}}, r"^data_sources\.bad name: source names"),
])
def test_build_sources_errors(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_sources(config, tmp_path)


def test_build_sources_reports_bad_parcel_file(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text('"1": {status: lost}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"^data_sources\.local: parcel 1: status must be"):
        build_sources({"local": {"type": "parcels", "file": "p.yaml"}}, tmp_path)
    (tmp_path / "q.yaml").write_text("parcels: [1, 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^data_sources\.local: .*not valid YAML"):
        build_sources({"local": {"type": "parcels", "file": str(tmp_path / "q.yaml")}}, Path("/nonexistent"))


async def test_the_demo_crm_finds_a_caller_by_number_whatever_the_prefix() -> None:
    sources = build_sources({"customers": {"type": "customers", "file": "config/customers.yaml"}}, REPO)
    crm = sources["customers"]
    assert isinstance(crm, CustomerDirectory)
    found = await crm.lookup("customer", {"caller": "sip:+441615550123@10.0.0.1"})
    assert found["found"] == "yes" and found["name"] == "Priya Shah"
    assert (await crm.lookup("customer", {"caller": "00441615550123"}))["name"] == "Priya Shah"
    assert await crm.lookup("customer", {"caller": "123"}) == {"found": "no"}
    found = await crm.lookup("customer", {"caller": '"sipp" <sip:+441615550123@127.0.0.1:5070>;tag=1'})
    assert found["name"] == "Priya Shah"  # a From header with a display name
    # a browser caller's signed customer id is not a phone number, whatever digits it holds
    assert await crm.lookup("customer", {"caller": "customer:441615550123@webrtc"}) == {"found": "no"}
    with pytest.raises(LookupFailed) as caught:
        await crm.lookup("orders", {})
    assert caught.value.reason == "bad_request" and not caught.value.retryable
