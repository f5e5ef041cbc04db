"""The edge's defence settings: validated with clear errors, and rendered into a Kamailio config
that Kamailio itself accepts (`kamailio -c`), with and without trusted networks and a call cap."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hotline.center.settings import SettingsError, load_settings
from hotline.telephony.sip.edge import COUNTERS, EdgeConfigError, EdgeDefence, render_config
from tests.support.tools import require


@pytest.mark.parametrize("defence", [
    EdgeDefence(),
    EdgeDefence(trusted=("10.0.0.0/8", "192.0.2.7", "2001:db8::/32"), max_calls_per_source=0),
    EdgeDefence(trusted=(), requests_per_s=5, ban_s=60, scanner_user_agents=("sip.scan/1.0", "Evil Bot")),
])
def test_the_rendered_config_is_accepted_by_kamailio(tmp_path: Path, defence: EdgeDefence) -> None:
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_config("127.0.0.1", 5999, tmp_path, 4, defence=defence))
    check = subprocess.run([require("kamailio"), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    text = cfg.read_text()
    assert f'"reqs_density_per_unit", {defence.requests_per_s * 2})' in text
    assert f"autoexpire={defence.ban_s};" in text
    assert ("get_profile_size" in text) == (defence.max_calls_per_source > 0)
    assert ("is_in_subnet" in text) == bool(defence.trusted)
    assert all(name in text for name in COUNTERS)


def test_scanner_user_agents_become_a_literal_pattern() -> None:
    assert EdgeDefence(scanner_user_agents=("sip.scan/1.0", "Evil Bot")).scanner_pattern() == "sip[.]scan/1[.]0|evil bot"
    assert EdgeDefence(trusted=("192.0.2.7", "10.1.0.0/16")).subnets() == "192.0.2.7/32,10.1.0.0/16"


@pytest.mark.parametrize("bad, words", [
    ({"trusted": ["not-an-address"]}, "edge.trusted"),
    ({"scanner_user_agents": ['say "hi"']}, "edge.scanner_user_agents"),
    ({"requests_per_s": 0}, "requests_per_s"),
    ({"max_calls": 3}, "unknown keys in 'edge'"),
])
def test_bad_edge_settings_are_refused_with_the_reason(tmp_path: Path, bad: dict[str, object], words: str) -> None:
    import yaml

    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump({"edge": bad}))
    with pytest.raises(SettingsError, match=words.replace(".", r"\.").replace("(", r"\(")):
        load_settings(path)
    with pytest.raises((EdgeConfigError, TypeError)):
        EdgeDefence(**{k: tuple(v) if isinstance(v, list) else v for k, v in bad.items()})  # type: ignore[arg-type]


def test_edge_settings_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text("edge:\n  trusted: [203.0.113.0/24]\n  max_calls_per_source: 4\n")
    s = load_settings(path)
    assert s.edge.trusted == ("203.0.113.0/24",) and s.edge.max_calls_per_source == 4 and s.edge.ban_s == 300
