"""A real softphone (baresip) calls the hotline and says what it wants."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.server import ServerProcess
from tests.support.tools import free_port, require


def test_baresip_caller_is_understood(server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    baresip = require("baresip")
    before = {c["id"] for c in server.admin_get("/api/calls", limit=1000)}
    voice = workdir / "in.wav"
    # 2 s of silence (the greeting), the sentence, then silence: baresip hangs up at end of file
    subprocess.run(["sox", str(track_parcel_wav), "-r", "8000", str(voice), "pad", "2", "8"], check=True)
    (workdir / "config").write_text(
        "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\nmodule menu.so\n"
        "module account.so\nmodule_app account.so\nmodule_app menu.so\n"
        f"sip_listen 127.0.0.1:{free_port(2)}\naudio_source aufile,{voice}\naudio_player aufile,/dev/null\n"
        "audio_alert aufile,/dev/null\naudio_srate 8000\naudio_channels 1\n"
    )
    (workdir / "accounts").write_text("<sip:tester@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    proc = subprocess.run([baresip, "-f", str(workdir), "-e", f"/dial sip:hotline@127.0.0.1:{server.sip_port}",
                           "-t", "30"], capture_output=True, text=True, timeout=60)
    log = proc.stdout + proc.stderr
    assert "Call established" in log, log[-3000:]
    assert "terminated" in log, log[-3000:]

    deadline = time.monotonic() + 30
    new: list[dict] = []
    while time.monotonic() < deadline:
        new = [c for c in server.admin_get("/api/calls", limit=50) if c["id"] not in before]
        if new and new[0]["status"] == "completed":
            break
        time.sleep(0.5)
    call = new[0]
    assert "tester@127.0.0.1" in call["from_uri"]
    assert call["end_reason"] == "remote_bye"
    assert call["ivr_path"][:3] == ["greeting", "main_menu", "tracking_number"]
    text = " ".join(s["text"] for s in call["transcript"]).lower()
    assert "parcel" in text, call["transcript"]  # "track" is at times heard as "trap"
