"""Settings: embedded defaults, an optional YAML file, then command-line flags."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hotline.asr.factory import AsrConfig
from hotline.asr.vad import VadConfig
from hotline.center.auth import AuthConfig
from hotline.center.wallboard import WallboardConfig
from hotline.system.errors import HotlineError
from hotline.telephony.sip.edge import EdgeConfigError, EdgeDefence


class SettingsError(HotlineError):
    pass


def parse_hostport(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host:
        host, port = value, str(default_port)
    try:
        number = int(port)
    except ValueError as exc:
        raise SettingsError(f"bad HOST:PORT {value!r}") from exc
    if not 0 < number < 65536:
        raise SettingsError(f"port out of range in {value!r}")
    return host, number


@dataclass
class Settings:
    sip: str = "127.0.0.1:5060"
    http: str = "127.0.0.1:8080"
    flows: Path = Path("flows")
    data: Path = Path("data")
    redis: str | None = None
    # where call records (with their QA reviews) and tickets live: None = SQLite files in `data`
    # (one machine); a PostgreSQL URL (postgresql://user@host:port/db) shared by every node
    database: str | None = None
    # this node's name in a cluster: worker and call ids carry it, and it cleans up only what it
    # owned; None = the host name. Nodes of one hotline share `redis` and `database`
    node: str | None = None
    workers: int = 6  # pjsua2 holds 4 calls per process: 6 workers = 24 calls
    worker_base_port: int = 0  # 0: SIP port + 10
    rtp_base_port: int = 20000
    flow: str = "main"
    # address put in SDP for callers to send RTP to; defaults to the SIP host, and must be set
    # when the SIP host is a wildcard (0.0.0.0)
    media_address: str | None = None
    # conference-bridge clock: 16000 (wideband codecs, Whisper) or 8000 (G.711 and 8 kHz Vosk
    # models with no resampling at all)
    media_rate: int = 16000
    asr: AsrConfig = field(default_factory=AsrConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    log_level: str = "INFO"
    post_call_transcription: bool = True  # re-transcribe recordings with Whisper after each call
    # where IVR `lookup` nodes get their data (see hotline.ivr.lookups.build_sources); relative
    # files resolve against the directory the server starts in
    data_sources: dict[str, Any] = field(default_factory=lambda: {
        "parcels": {"type": "parcels", "file": "config/parcels.yaml"},
        "customers": {"type": "customers", "file": "config/customers.yaml"}})
    # what the agent desk shows as the caller's custom fields: a lookup by the caller's number
    crm: dict[str, str] = field(default_factory=lambda: {"source": "customers", "operation": "customer"})
    # agents: accounts seeded from this file; ACD queues (per name, or "default"): max_wait_s,
    # announce_every_s, average_handle_s; ring_timeout_s before the next agent is tried
    agents_file: Path = Path("config/agents.yaml")
    queues: dict[str, Any] = field(default_factory=lambda: {"default": {"max_wait_s": 120}})
    ring_timeout_s: float = 15.0
    # agent assist: knowledge articles (every *.yaml here, hot-reloaded) suggested from the caller's words
    knowledge: Path = Path("config/knowledge")
    qa_rubric: Path = Path("config/qa_rubric.yaml")  # how QA reviewers score calls
    # prompts: English in Piper's natural voice (espeak-ng when off or not installed); rendered audio
    # is cached by text and voice in prompt_cache (default DATA/prompts; several servers may share one)
    natural_voices: bool = True
    prompt_cache: Path | None = None
    # demo mode (the default, `make run`): the demo accounts of `agents_file` are created. In
    # production (`demo: false`, `hotline serve --production`) they are not, the ones a demo run left
    # are deleted, and the server will not start before an admin exists (`hotline users add`)
    demo: bool = True
    auth: AuthConfig = field(default_factory=AuthConfig)  # sessions, login throttling, password length
    # the SIP edge's defences: scanner User-Agents, per-source rate limit and ban, calls per source,
    # trusted trunk addresses exempt from them (hotline.telephony.sip.edge.EdgeDefence)
    edge: EdgeDefence = field(default_factory=EdgeDefence)
    # a fixed wall clock for the IVR (ISO time with offset), to try business-hours paths; None: real time
    clock: str | None = None
    # the key an embedding site signs its customer ids with (/call?customer=ID&sig=HMAC-SHA256 hex of
    # ID under this key), so a browser caller is known by that id; None: customer ids are refused
    caller_signing_secret: str | None = None
    # who may scrape /metrics (Prometheus text format): client addresses; loopback by default
    metrics_allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # the supervisor's wallboard (/supervisor): service level = answered within service_target_s,
    # its goal a share (0.8 = 80%); an agent's call longer than long_call_s is an alert
    wallboard: dict[str, Any] = field(default_factory=lambda: {"service_target_s": 20, "service_level_goal": 0.8,
                                                               "long_call_s": 900})

    @property
    def sip_hostport(self) -> tuple[str, int]:
        return parse_hostport(self.sip, 5060)

    @property
    def http_hostport(self) -> tuple[str, int]:
        return parse_hostport(self.http, 8080)

    def __post_init__(self) -> None:
        try:
            WallboardConfig.from_mapping(self.wallboard)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        if self.node is not None:
            node_name(self.node)
        if self.database is not None and not str(self.database).startswith(("postgresql://", "postgres://")):
            raise SettingsError(f"database: give a PostgreSQL URL (postgresql://...), not {self.database!r}")
        if self.media_rate not in (8000, 16000):
            raise SettingsError(f"media_rate must be 8000 or 16000, not {self.media_rate}")
        if self.clock is not None:
            try:
                when = datetime.fromisoformat(str(self.clock).replace("Z", "+00:00"))
            except ValueError as exc:
                raise SettingsError(f"clock: not an ISO time: {self.clock!r}") from exc
            if when.tzinfo is None:
                raise SettingsError(f"clock: give a time zone offset, e.g. {self.clock}+00:00")

    @property
    def node_id(self) -> str:
        """This node's name: `node`, or the host name; letters, digits, '.', '_' and '-' only."""
        return node_name(self.node)

    @property
    def prompt_dir(self) -> Path:
        return self.prompt_cache if self.prompt_cache is not None else self.data / "prompts"

    def now(self) -> datetime:
        """The IVR's wall clock: real time, or the fixed `clock`."""
        if self.clock is None:
            return datetime.now(UTC)
        return datetime.fromisoformat(str(self.clock).replace("Z", "+00:00"))

    @property
    def rtp_address(self) -> str:
        host = self.sip_hostport[0]
        if self.media_address:
            return self.media_address
        if host in ("0.0.0.0", "::", ""):
            raise SettingsError("SIP listens on all addresses: set media_address (--media-address) to the "
                                "address callers should send RTP to")
        return host

    @property
    def reachable_http(self) -> str:
        """HOST:PORT where the other nodes reach this node's HTTP (a wildcard host: the media address)."""
        host, port = self.http_hostport
        if host in ("0.0.0.0", "::", ""):
            host = self.media_address or "127.0.0.1"
        return f"{host}:{port}"

    @property
    def internal_host(self) -> str:
        """Where the edge reaches the workers (loopback when SIP listens on all addresses)."""
        host = self.sip_hostport[0]
        return "127.0.0.1" if host in ("0.0.0.0", "") else host

    def worker_sip_port(self, index: int) -> int:
        base = self.worker_base_port or self.sip_hostport[1] + 10
        return base + index

    def worker_rtp_port(self, index: int) -> int:
        return self.rtp_base_port + 100 * index


_NODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def node_name(value: str | None) -> str:
    name = value if value else socket.gethostname().split(".")[0]
    if not _NODE_RE.fullmatch(name):
        raise SettingsError(f"node: {name!r} is not a node name (letters, digits, '.', '_', '-'; at most 40)")
    return name


def _section(cls: type, data: Any, name: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise SettingsError(f"'{name}' must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise SettingsError(f"unknown keys in '{name}': {', '.join(sorted(unknown))}")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**data)
    except (TypeError, EdgeConfigError) as exc:
        raise SettingsError(f"'{name}': {exc}") from exc


def settings_to_json(settings: Settings) -> str:
    """The settings as the supervisor hands them to its workers (paths made absolute)."""
    data = asdict(settings)
    data["flows"], data["data"] = str(settings.flows.resolve()), str(settings.data.resolve())
    data["data_sources"] = resolved_sources(settings.data_sources)
    data["agents_file"] = str(settings.agents_file.resolve())
    data["knowledge"] = str(settings.knowledge.resolve())
    data["qa_rubric"] = str(settings.qa_rubric.resolve())
    data["prompt_cache"] = str(settings.prompt_dir.resolve())
    return json.dumps(data)


def resolved_sources(config: dict[str, Any]) -> dict[str, Any]:
    """Data source settings with relative `file` paths made absolute (against the current directory)."""
    out = {}
    for name, spec in config.items():
        if isinstance(spec, dict) and isinstance(spec.get("file"), str):
            spec = {**spec, "file": str(Path(spec["file"]).resolve())}
        out[name] = spec
    return out


def settings_from_json(text: str) -> Settings:
    raw = json.loads(text)
    asr, vad = _section(AsrConfig, raw.pop("asr"), "asr"), _section(VadConfig, raw.pop("vad"), "vad")
    auth = _section(AuthConfig, raw.pop("auth", None), "auth")
    edge = _section(EdgeDefence, raw.pop("edge", None), "edge")
    return Settings(**{**raw, "auth": auth, "edge": edge, "flows": Path(raw["flows"]), "data": Path(raw["data"]),
                       "agents_file": Path(raw["agents_file"]), "knowledge": Path(raw["knowledge"]),
                       "qa_rubric": Path(raw["qa_rubric"]),
                       "prompt_cache": Path(raw["prompt_cache"]) if raw.get("prompt_cache") else None,
                       "asr": asr, "vad": vad})


def load_settings(path: Path | None, **overrides: Any) -> Settings:
    settings = Settings()
    if path is not None:
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"{path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise SettingsError(f"{path}: settings must be a mapping")
        raw = dict(raw)
        asr = _section(AsrConfig, raw.pop("asr", None), "asr")
        vad = _section(VadConfig, raw.pop("vad", None), "vad")
        auth = _section(AuthConfig, raw.pop("auth", None), "auth")
        edge = _section(EdgeDefence, raw.pop("edge", None), "edge")
        known = {f.name for f in fields(Settings)}
        unknown = set(raw) - known
        if unknown:
            raise SettingsError(f"{path}: unknown settings: {', '.join(sorted(unknown))}")
        for key in ("flows", "data", "agents_file", "knowledge", "qa_rubric", "prompt_cache"):
            if key in raw:
                raw[key] = Path(raw[key])
        settings = replace(settings, asr=asr, vad=vad, auth=auth, edge=edge, **raw)
    asr_over = {k[4:]: v for k, v in overrides.items() if k.startswith("asr_") and v is not None}
    if asr_over:
        settings.asr = replace(settings.asr, **asr_over)
    plain = {k: v for k, v in overrides.items() if not k.startswith("asr_") and v is not None}
    return replace(settings, **plain)
