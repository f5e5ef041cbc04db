"""Recordings through any node: a call's audio is written by the worker that held it, in its node's
data directory, while QA may open the call on any node.

The node asked for a recording it does not have copies it once from the node that held the call
(the record's `node`) into `DATA/cluster-cache/`, then serves it like its own. The owner serves the
file on `GET /internal/recordings/{call_id}/{party}` only against a one-time ticket that the asking
node put in the shared Redis for that file (expiring in 30 s, sent in a header): no staff login
crosses nodes, and nobody without access to Redis can fetch anything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import FileResponse

from hotline.center.nodes import NodeDirectory
from hotline.center.store import CallStore

log = logging.getLogger(__name__)

CACHE_DIR = "cluster-cache"
TICKET_HEADER = "x-hotline-fetch"
_TICKET_PREFIX = "hotline:cluster:fetch:"
TICKET_TTL_S = 30


def cached_copy(data_dir: Path, rel: str) -> Path:
    return data_dir / CACHE_DIR / rel


def recording_path(store: CallStore, data_dir: Path, call_id: str, party: str, *, own_only: bool = False) -> Path:
    """The file of one party's recording: this node's, or the copy of another node's
    (:func:`ensure_local` makes it); 404 when the call, the recording or the file is missing."""
    record = store.get(call_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
    rel = (record.get("recordings") or {}).get(party)
    if rel is None:
        raise HTTPException(status_code=404, detail=f"call {call_id!r} has no recording of {party!r}")
    for base in (data_dir,) if own_only else (data_dir, data_dir / CACHE_DIR):
        path = (base / str(rel)).resolve()
        if path.is_relative_to(base.resolve()) and path.is_file():
            return path
    raise HTTPException(status_code=404, detail="recording file missing")


async def ensure_local(nodes: NodeDirectory | None, data_dir: Path, record: dict[str, Any], party: str) -> None:
    """Make a recording of a call held on another node readable here (a no-op for this node's own
    calls, or without a cluster). 503 when its node is down, 502 when it does not hand it over."""
    rel = str((record.get("recordings") or {}).get(party) or "")
    owner = str(record.get("node") or "")
    if nodes is None or not rel or not owner or owner == nodes.node:
        return
    if (data_dir / rel).is_file() or cached_copy(data_dir, rel).is_file():
        return
    if not cached_copy(data_dir, rel).resolve().is_relative_to((data_dir / CACHE_DIR).resolve()):
        raise HTTPException(status_code=404, detail="recording file missing")  # not a path of ours
    info = (await nodes.nodes()).get(owner)
    if info is None or not info["up"] or not info.get("http"):
        raise HTTPException(status_code=503, detail=f"the recording is on node {owner!r}, which is not up")
    ticket = secrets.token_urlsafe(24)
    await nodes.redis.set(_TICKET_PREFIX + ticket, f"{record['id']}/{party}", ex=TICKET_TTL_S)
    url = f"http://{info['http']}/internal/recordings/{record['id']}/{party}"
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:
            response = await http.get(url, headers={TICKET_HEADER: ticket})
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=502, detail=f"node {owner!r} did not answer for the recording") from exc
    if response.status_code != 200:
        raise HTTPException(status_code=502, detail=f"node {owner!r} answered {response.status_code} for the recording")
    target = cached_copy(data_dir, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(response.content)
    tmp.replace(target)
    log.info("recording copied from its node", extra={"call": record["id"], "party": party, "node": owner,
                                                      "bytes": len(response.content)})


def internal_router(redis: aioredis.Redis, store: CallStore, data_dir: Path) -> APIRouter:
    router = APIRouter(tags=["cluster"], include_in_schema=False)

    @router.get("/internal/recordings/{call_id}/{party}", response_class=FileResponse)
    async def hand_over(call_id: str, party: str,
                        ticket: str = Header("", alias=TICKET_HEADER)) -> FileResponse:
        """One recording of a call this node held, for another node of the cluster (one-time ticket)."""
        wanted = await redis.getdel(_TICKET_PREFIX + ticket) if ticket else None
        if wanted is None or (wanted.decode() if isinstance(wanted, bytes) else str(wanted)) != f"{call_id}/{party}":
            raise HTTPException(status_code=404, detail="no such transfer")
        path = await asyncio.to_thread(recording_path, store, data_dir, call_id, party, own_only=True)
        return FileResponse(path, media_type="audio/wav")

    return router
