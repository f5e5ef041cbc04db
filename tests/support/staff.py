"""Staff accounts and sign-in for the HTTP tests (the API's real login, no shortcuts)."""

from __future__ import annotations

import httpx

from hotline.center.agents import Agent, AgentDirectory, hash_password

ROLE_USERS = {"agent": "alice", "qa": "quinn", "supervisor": "sam", "admin": "ada"}


def password_of(username: str) -> str:
    return f"{username}-password-1"


async def add_staff(agents: AgentDirectory, roles: dict[str, list[str]] | None = None) -> None:
    """One account per role (alice agent, quinn qa, sam supervisor, ada admin) unless `roles` says otherwise."""
    roles = roles or {user: [role] for role, user in ROLE_USERS.items()}
    await agents.seed([Agent(u, u.title(), ["general"], hash_password(password_of(u)), r) for u, r in roles.items()])


async def bearer(http: httpx.AsyncClient, username: str, password: str | None = None) -> dict[str, str]:
    """The Authorization header of a fresh API session of `username`."""
    r = await http.post("/api/auth/token", json={"username": username, "password": password or password_of(username)})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}
