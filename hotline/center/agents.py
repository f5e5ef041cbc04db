"""Agents: accounts (scrypt-hashed passwords), roles, skills and presence, kept in Redis.

Accounts come from `hotline users add` (the CLI), the admin API, or in demo mode from
`config/agents.yaml` (seeded at start-up when missing, marked `demo`). Sessions are in
`hotline.center.auth`. Presence
states: offline, available, ringing, on_call, wrap_up, away, not_responding. `since` is when the
state began: the longest-idle available agent is the one whose `since` is oldest. A state the desk
chooses during a call becomes the state after it (`next_state`); away carries a not-ready reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import yaml

from hotline.center.keys import AGENTS_KEY, PRESENCE_KEY, agent_channel
from hotline.center.presence_log import log_change
from hotline.system.errors import HotlineError


class AgentState(StrEnum):
    """An agent's presence (equal to its string: stored and published as JSON)."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    RINGING = "ringing"  # a call is offered to the desk
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # the call ended; notes and disposition due
    AWAY = "away"
    NOT_RESPONDING = "not_responding"  # a ring timed out unanswered: no calls until she chooses available


STATES = tuple(s.value for s in AgentState)
READY_STATES = (AgentState.AVAILABLE, AgentState.AWAY)  # what a desk may choose
BUSY_STATES = (AgentState.ON_CALL, AgentState.WRAP_UP)  # a choice made now is for after the call
# restored when a desk reconnects soon after it went away
KEPT_STATES = (AgentState.AVAILABLE, AgentState.AWAY, AgentState.NOT_RESPONDING)
NOT_READY_REASONS = ("break", "lunch", "training", "meeting", "after-call work")


class AgentError(HotlineError):
    pass


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest.hex(), digest_hex)


ROLES = ("agent", "qa", "supervisor", "admin")


@dataclass
class Agent:
    """An account: agents take calls; `qa` reviewers and `admin`s may also open recordings."""

    username: str
    name: str
    skills: list[str] = field(default_factory=list)
    password_hash: str = ""
    roles: list[str] = field(default_factory=lambda: ["agent"])
    demo: bool = False  # seeded from the demo file: removed when the server starts in production mode

    def public(self) -> dict[str, Any]:
        return {"username": self.username, "name": self.name, "skills": self.skills, "roles": self.roles}

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def has_skill(self, skill: str) -> bool:
        return not skill or skill in self.skills


@dataclass
class Presence:
    state: str = AgentState.OFFLINE
    since: float = field(default_factory=time.time)
    call: str = ""  # the call ringing or connected
    previous: str = ""  # the state before going offline: restored when the desk reconnects soon
    reason: str = ""  # the not-ready reason of away (now, or as next_state)
    next_state: str = ""  # chosen during a call: the state after its wrap-up ("": available)


def load_agents_file(path: Path) -> list[Agent]:
    """`agents: [{username, name, skills, roles, password | password_hash}]`; plain passwords are
    hashed here; roles default to ["agent"]."""
    data = yaml.safe_load(path.read_text()) or {}
    agents = []
    for i, raw in enumerate(data.get("agents", [])):
        if not isinstance(raw, dict) or not raw.get("username"):
            raise AgentError(f"{path}: agent {i + 1} needs a username")
        password_hash = raw.get("password_hash") or (hash_password(str(raw["password"])) if raw.get("password")
                                                      else "")
        if not password_hash:
            raise AgentError(f"{path}: agent {raw['username']!r} needs a password or password_hash")
        roles = [str(r) for r in raw.get("roles", ["agent"])]
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise AgentError(f"{path}: agent {raw['username']!r}: unknown roles {unknown} (roles: {', '.join(ROLES)})")
        agents.append(Agent(str(raw["username"]), str(raw.get("name", raw["username"])),
                            [str(s) for s in raw.get("skills", [])], password_hash, roles))
    return agents


class AgentDirectory:
    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client

    async def seed(self, agents: list[Agent], demo: bool = False) -> int:
        """Add accounts that do not exist yet (a restart keeps API changes and presence)."""
        added = 0
        for agent in agents:
            agent.demo = demo
            added += int(await self.redis.hsetnx(AGENTS_KEY, agent.username, json.dumps(asdict(agent))))
        return added

    async def delete(self, username: str) -> bool:
        await self.redis.hdel(PRESENCE_KEY, username)
        return bool(await self.redis.hdel(AGENTS_KEY, username))

    async def remove_demo_accounts(self) -> list[str]:
        """Production start: accounts a demo run seeded (with passwords everyone knows) are deleted."""
        removed = [a.username for a in await self.all() if a.demo]
        for username in removed:
            await self.delete(username)
        return removed

    async def save(self, agent: Agent) -> None:
        await self.redis.hset(AGENTS_KEY, agent.username, json.dumps(asdict(agent)))

    async def get(self, username: str) -> Agent | None:
        raw = await self.redis.hget(AGENTS_KEY, username)
        return Agent(**json.loads(raw)) if raw else None

    async def all(self) -> list[Agent]:
        raw = await self.redis.hgetall(AGENTS_KEY)
        return sorted((Agent(**json.loads(v)) for v in raw.values()), key=lambda a: a.username)

    async def disconnected(self, username: str) -> None:
        """The desk went away (closed, network, server restart): offline, remembering the state."""
        current = await self.presence(username)
        if current.state != AgentState.OFFLINE:
            keep = current.state if current.state in KEPT_STATES else (current.next_state or AgentState.AVAILABLE)
            reason = current.reason if keep == AgentState.AWAY else ""
            await self.set_state(username, AgentState.OFFLINE, previous=keep, reason=reason)

    async def reconnected(self, username: str, within_s: float = 300.0) -> Presence:
        """A desk connected: back to the state it had if it was gone only briefly, else away."""
        current = await self.presence(username)
        if current.state != AgentState.OFFLINE:
            return current
        if current.previous and time.time() - current.since < within_s:
            return await self.set_state(username, current.previous, reason=current.reason)
        return await self.set_state(username, AgentState.AWAY)

    async def choose(self, username: str, state: str, reason: str = "") -> Presence:
        """What the desk's status buttons do: during a call (or its wrap-up) the choice is for after
        it; available while ringing keeps the ring; otherwise the state changes (away with its reason).
        Raises AgentError for a state or reason a desk may not choose."""
        if state not in READY_STATES:
            raise AgentError(f"state must be one of {', '.join(READY_STATES)}")
        if state == AgentState.AWAY and reason and reason not in NOT_READY_REASONS:
            raise AgentError(f"reason must be one of {', '.join(NOT_READY_REASONS)}")
        reason = reason if state == AgentState.AWAY else ""
        current = await self.presence(username)
        if current.state in BUSY_STATES:
            return await self.set_state(username, current.state, current.call, reason=reason,
                                        next_state=state, since=current.since)
        if current.state == AgentState.RINGING and state == AgentState.AVAILABLE:
            return await self.set_state(username, current.state, current.call, since=current.since)  # as it is
        return await self.set_state(username, state, reason=reason)

    async def after_call(self, username: str) -> Presence:
        """The wrap-up is done: the state chosen during the call, else available."""
        current = await self.presence(username)
        state = current.next_state or AgentState.AVAILABLE
        return await self.set_state(username, state, reason=current.reason if state == AgentState.AWAY else "")

    async def wrap_up(self, username: str, call: str) -> Presence:
        """The call ended on the desk: wrap-up, keeping the state chosen for after it."""
        current = await self.presence(username)
        busy = current.state in BUSY_STATES
        return await self.set_state(username, AgentState.WRAP_UP, call or current.call,
                                    reason=current.reason if busy else "", next_state=current.next_state if busy else "")

    async def presence(self, username: str) -> Presence:
        raw = await self.redis.hget(PRESENCE_KEY, username)
        return Presence(**json.loads(raw)) if raw else Presence()

    async def all_presence(self) -> dict[str, Presence]:
        raw = await self.redis.hgetall(PRESENCE_KEY)
        return {(k.decode() if isinstance(k, bytes) else str(k)): Presence(**json.loads(v)) for k, v in raw.items()}

    async def set_state(self, username: str, state: str, call: str = "", previous: str = "", *, reason: str = "",
                        next_state: str = "", since: float | None = None) -> Presence:
        """Store and publish a presence (the desk gets it as a `state` message)."""
        if state not in STATES or (next_state and next_state not in READY_STATES):
            raise AgentError(f"state must be one of {', '.join(STATES)}")
        presence = Presence(state, time.time() if since is None else since, call, previous, reason, next_state)
        await self.redis.hset(PRESENCE_KEY, username, json.dumps(asdict(presence)))
        await log_change(self.redis, username, state, presence.since)  # for the reports' occupancy
        await self.redis.publish(agent_channel(username), json.dumps({"type": "state", **asdict(presence)}))
        return presence
