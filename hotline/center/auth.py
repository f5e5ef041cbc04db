"""Staff sign-in: sessions kept in Redis, login throttling and lock-out, password rules.

A session is a random token handed to the client once (a browser gets it in an HttpOnly cookie, an
API client in the body of `POST /api/auth/token`); Redis keeps only its SHA-256, so a copy of
Redis cannot be replayed as a login. Every session has a fixed lifetime, can be revoked on its
own, and all of one user's sessions can be revoked at once (logout everywhere, password change,
an admin's revoke).

Throttling is per account and per client address: each failure makes the next answer slower;
after `max_failures` in a row the account (or the address) is locked for `lockout_s`, doubling
with every further lock-out up to an hour. While locked, an attempt is refused before the
password hash is computed, so a guessing run costs the server nothing and learns nothing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from hotline.center.agents import Agent, AgentDirectory, hash_password, verify_password
from hotline.center.keys import FAIL_ADDR_PREFIX, FAIL_USER_PREFIX, SESSION_PREFIX, USER_SESSIONS_PREFIX
from hotline.system.errors import HotlineError

MAX_LOCK_S = 3600.0


@functools.cache
def _dummy_hash() -> str:
    """Checked instead of a real hash for unknown users, so that they take as long as wrong passwords."""
    return hash_password("no such user", salt=b"hotline-dummy-salt")


@dataclass(frozen=True)
class AuthConfig:
    """Settings section `auth`."""

    session_ttl_s: float = 12 * 3600.0  # a login lasts one working day
    max_failures: int = 5  # wrong passwords in a row before the account is locked
    lockout_s: float = 300.0  # the first lock-out; each further one doubles, up to an hour
    failure_delay_s: float = 0.25  # the n-th failure in a row waits n x this (at most 2 s)
    address_max_failures: int = 50  # failures from one client address (any accounts) before it is locked
    min_password_length: int = 10
    secure_cookies: bool = False  # set behind HTTPS: cookies only over TLS


class AuthError(HotlineError):
    """A login or password problem; the message is safe to show to the user."""


class LoginFailed(AuthError):
    pass


class LoginLocked(AuthError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins: try again in {max(1, round(retry_after_s))} s")
        self.retry_after_s = retry_after_s


class WeakPassword(AuthError):
    pass


def check_new_password(password: str, config: AuthConfig, username: str = "") -> None:
    """Rules for a password being set (existing ones are not re-checked)."""
    if len(password) < config.min_password_length:
        raise WeakPassword(f"the password must have at least {config.min_password_length} characters")
    if username and password.lower() == username.lower():
        raise WeakPassword("the password must not be the user name")


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str  # sent back by the page in X-CSRF-Token on every change
    kind: str  # "browser" (cookie) or "api" (Authorization header)
    created: float
    expires: float
    key: str = field(repr=False)  # the Redis key (the token's hash), for revoking this one


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, client: aioredis.Redis, ttl_s: float) -> None:
        self.redis, self.ttl_s = client, ttl_s

    async def create(self, username: str, kind: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        key = SESSION_PREFIX + _digest(token)
        session = Session(username, secrets.token_urlsafe(24), kind, now, now + self.ttl_s, key)
        ttl = max(1, int(self.ttl_s))
        value = json.dumps({"username": username, "csrf": session.csrf, "kind": kind, "created": now,
                            "expires": session.expires})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, value, ex=ttl)
            pipe.sadd(USER_SESSIONS_PREFIX + username, key)
            pipe.expire(USER_SESSIONS_PREFIX + username, ttl)
            await pipe.execute()
        return token, session

    async def get(self, token: str) -> Session | None:
        if not token or len(token) > 200:
            return None
        key = SESSION_PREFIX + _digest(token)
        raw = await self.redis.get(key)
        if not raw:
            return None
        data = json.loads(raw)
        if data["expires"] < time.time():
            return None
        return Session(data["username"], data["csrf"], data["kind"], data["created"], data["expires"], key)

    async def alive(self, session: Session) -> bool:
        return bool(await self.redis.exists(session.key)) and session.expires > time.time()

    async def revoke(self, session: Session) -> None:
        await self.redis.delete(session.key)
        await self.redis.srem(USER_SESSIONS_PREFIX + session.username, session.key)

    async def revoke_all(self, username: str, keep: Session | None = None) -> int:
        """End every session of a user (but `keep`); returns how many were live."""
        keys = [k.decode() if isinstance(k, bytes) else str(k)
                for k in await self.redis.smembers(USER_SESSIONS_PREFIX + username)]
        ended = [k for k in keys if keep is None or k != keep.key]
        live = 0
        if ended:
            live = int(await self.redis.delete(*ended))
            await self.redis.srem(USER_SESSIONS_PREFIX + username, *ended)
        return live

    async def count(self, username: str) -> int:
        keys = await self.redis.smembers(USER_SESSIONS_PREFIX + username)
        return int(await self.redis.exists(*keys)) if keys else 0


class LoginThrottle:
    def __init__(self, client: aioredis.Redis, config: AuthConfig) -> None:
        self.redis, self.config = client, config

    async def locked_for(self, username: str, address: str) -> float:
        """Seconds the account or the address is still locked (0: not locked)."""
        now, wait = time.time(), 0.0
        for key in (FAIL_USER_PREFIX + username, FAIL_ADDR_PREFIX + address):
            until = await self.redis.hget(key, "locked_until")
            if until is not None:
                wait = max(wait, float(until) - now)
        return wait

    async def failed(self, username: str, address: str) -> int:
        """Count a failure; lock when the limit is reached. Returns the account's failures in a row."""
        count = await self._count(FAIL_USER_PREFIX + username, self.config.max_failures)
        await self._count(FAIL_ADDR_PREFIX + address, self.config.address_max_failures)
        return count

    async def _count(self, key: str, limit: int) -> int:
        count = int(await self.redis.hincrby(key, "failures", 1))
        if count >= limit:
            lockouts = int(await self.redis.hincrby(key, "lockouts", 1))
            lock_s = min(MAX_LOCK_S, self.config.lockout_s * 2 ** (lockouts - 1))
            await self.redis.hset(key, mapping={"locked_until": time.time() + lock_s, "failures": 0})
        # remembered for a day past the longest lock, then forgotten
        await self.redis.expire(key, int(MAX_LOCK_S + 24 * 3600))
        return count

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(FAIL_USER_PREFIX + username)


class Authenticator:
    """Checks passwords (throttled) and hands out sessions."""

    def __init__(self, client: aioredis.Redis, agents: AgentDirectory, config: AuthConfig) -> None:
        self.agents, self.config = agents, config
        self.sessions = SessionStore(client, config.session_ttl_s)
        self.throttle = LoginThrottle(client, config)
        self.hash_checks = 0  # how many passwords were really checked (the lock-out skips them)

    async def login(self, username: str, password: str, address: str, kind: str) -> tuple[str, Session, Agent]:
        locked = await self.throttle.locked_for(username, address)
        if locked > 0:
            raise LoginLocked(locked)
        agent = await self.agents.get(username)
        self.hash_checks += 1
        ok = await asyncio.to_thread(verify_password, password, agent.password_hash if agent else _dummy_hash())
        if agent is None or not ok:
            failures = await self.throttle.failed(username, address)
            await asyncio.sleep(min(2.0, self.config.failure_delay_s * failures))
            locked = await self.throttle.locked_for(username, address)
            if locked > 0:
                raise LoginLocked(locked)
            raise LoginFailed("unknown user or wrong password")
        await self.throttle.succeeded(username)
        token, session = await self.sessions.create(username, kind)
        return token, session, agent

    async def resolve(self, token: str) -> tuple[Session, Agent] | None:
        """The session behind a token and its user as they are now (roles changed take effect at once)."""
        session = await self.sessions.get(token)
        if session is None:
            return None
        agent = await self.agents.get(session.username)
        if agent is None:  # the account was deleted
            await self.sessions.revoke(session)
            return None
        return session, agent

    async def change_password(self, agent: Agent, current: str, new: str, keep: Session | None) -> int:
        """Checks the current password, sets the new one, ends the user's other sessions."""
        if not await asyncio.to_thread(verify_password, current, agent.password_hash):
            raise LoginFailed("the current password is wrong")
        check_new_password(new, self.config, agent.username)
        agent.password_hash = await asyncio.to_thread(hash_password, new)
        await self.agents.save(agent)
        return await self.sessions.revoke_all(agent.username, keep=keep)


def same_token(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())
