"""`hotline users`: staff accounts from the command line (the first admin of a production install).

Accounts live in the server's Redis: `--redis URL` (or `redis:` in the settings), else the embedded
one in the data directory, used while the server runs, or started for the command when it does not.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from hotline.center.agents import ROLES, Agent, AgentDirectory, hash_password
from hotline.center.auth import SessionStore, WeakPassword, check_new_password
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.settings import Settings
from hotline.system.errors import HotlineError


class UsersError(HotlineError):
    pass


@asynccontextmanager
async def server_redis(settings: Settings) -> AsyncIterator[tuple[AgentDirectory, aioredis.Redis]]:
    embedded: EmbeddedRedis | None = None
    if settings.redis:
        url = settings.redis
    else:
        embedded = EmbeddedRedis(settings.data)
        url = embedded.url
        if await _pings(url):  # the server is running: use its Redis
            embedded = None
        else:
            await embedded.start()
    client = aioredis.from_url(url)
    try:
        yield AgentDirectory(client), client
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()  # redis-server writes its append-only file on the way out


async def _pings(url: str) -> bool:
    client = aioredis.from_url(url, socket_connect_timeout=1.0)
    try:
        return bool(await client.ping())
    except (aioredis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UsersError("the passwords differ")
    return first


def _roles(text: str) -> list[str]:
    roles = [r.strip() for r in text.split(",") if r.strip()]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise UsersError(f"roles must be some of {', '.join(ROLES)} (comma-separated), not {text!r}")
    return list(dict.fromkeys(roles))


async def add(settings: Settings, username: str, name: str, roles: str, skills: str, password: str) -> str:
    check_new_password(password, settings.auth, username)
    agent = Agent(username, name or username, [s for s in skills.split(",") if s], hash_password(password),
                  _roles(roles))
    async with server_redis(settings) as (agents, _):
        if await agents.get(username) is not None:
            raise UsersError(f"user {username!r} exists (use `hotline users passwd` to change the password)")
        await agents.save(agent)
    return f"user {username} created with roles {', '.join(agent.roles)}"


async def passwd(settings: Settings, username: str, password: str) -> str:
    check_new_password(password, settings.auth, username)
    async with server_redis(settings) as (agents, client):
        agent = await agents.get(username)
        if agent is None:
            raise UsersError(f"no user {username!r}")
        agent.password_hash = hash_password(password)
        agent.demo = False
        await agents.save(agent)
        ended = await SessionStore(client, settings.auth.session_ttl_s).revoke_all(username)
    return f"password of {username} changed; {ended} session(s) ended"


async def revoke(settings: Settings, username: str) -> str:
    async with server_redis(settings) as (_, client):
        ended = await SessionStore(client, settings.auth.session_ttl_s).revoke_all(username)
    return f"{ended} session(s) of {username} ended"


async def delete(settings: Settings, username: str) -> str:
    async with server_redis(settings) as (agents, client):
        if not await agents.delete(username):
            raise UsersError(f"no user {username!r}")
        await SessionStore(client, settings.auth.session_ttl_s).revoke_all(username)
    return f"user {username} deleted"


async def listing(settings: Settings) -> str:
    async with server_redis(settings) as (agents, _):
        rows = [f"{a.username}\t{a.name}\t{','.join(a.roles)}\t{','.join(a.skills)}{chr(9) + 'demo' if a.demo else ''}"
                for a in await agents.all()]
    return "\n".join(rows) if rows else "no users"


def run(command: str, settings: Settings, username: str = "", name: str = "", roles: str = "agent",
        skills: str = "", password_stdin: bool = False) -> int:
    try:
        if command in ("add", "passwd"):
            password = read_password(password_stdin)
            coro = (add(settings, username, name, roles, skills, password) if command == "add"
                    else passwd(settings, username, password))
        elif command == "revoke":
            coro = revoke(settings, username)
        elif command == "delete":
            coro = delete(settings, username)
        else:
            coro = listing(settings)
        print(asyncio.run(coro))
        return 0
    except (UsersError, WeakPassword) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
