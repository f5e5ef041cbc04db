"""`hotline node status` and `hotline node drain NODE`: the cluster from the command line.

Both read the cluster's shared Redis (`--redis URL` or `redis:` in the settings; the embedded one of
the data directory on a single machine). Drain stops new calls to a node (the edges and the browser
call page leave its workers out within a second or two) while its calls finish; `--wait` returns
when the last one ended, so a rolling upgrade can stop the node then. `--off` takes it back.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from hotline.center.keys import LIVE_CALLS_KEY
from hotline.center.nodes import NodeDirectory
from hotline.center.settings import Settings
from hotline.center.users_cli import server_redis


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def cluster_status(nodes: NodeDirectory) -> dict[str, Any]:
    """Nodes (up, draining, addresses), their workers and their live calls."""
    known = await nodes.nodes()
    draining = await nodes.draining()
    workers = await nodes.workers()
    live = {_text(k): _text(v) for k, v in (await nodes.redis.hgetall(LIVE_CALLS_KEY)).items()}
    out: dict[str, Any] = {}
    for name in sorted(set(known) | {w["node"] for w in workers.values()}):
        info = known.get(name, {})
        own = {wid: w for wid, w in workers.items() if w["node"] == name}
        out[name] = {
            "up": bool(info.get("up")), "draining": name in draining,
            "http": info.get("http", ""), "sip": info.get("sip", ""),
            "seen_s_ago": round(time.time() - float(info["ts"]), 1) if "ts" in info else None,
            "workers": {wid: {"live": w["live"], "sip": w.get("sip", ""), "calls": int(w.get("calls", 0)),
                              "max_calls": int(w.get("max_calls", 0))} for wid, w in sorted(own.items())},
            "live_calls": sorted(c for c, w in live.items() if w in own),
        }
    return out


def _print_status(status: dict[str, Any]) -> None:
    if not status:
        print("no node has joined this Redis yet")
    for name, node in status.items():
        flags = ("up" if node["up"] else "DOWN") + (", draining" if node["draining"] else "")
        print(f"{name}  [{flags}]  http {node['http'] or '-'}  sip {node['sip'] or '-'}  "
              f"calls {len(node['live_calls'])}")
        for wid, w in node["workers"].items():
            print(f"  {wid:<16} {'live' if w['live'] else 'stale':<5}  {w['sip']:<22} {w['calls']}/{w['max_calls']} calls")


async def _status(settings: Settings, as_json: bool) -> int:
    async with server_redis(settings) as (_, client):
        status = await cluster_status(NodeDirectory(client, settings.node_id))
    print(json.dumps(status, indent=2)) if as_json else _print_status(status)
    return 0


async def _drain(settings: Settings, node: str, off: bool, wait_s: float | None) -> int:
    async with server_redis(settings) as (_, client):
        nodes = NodeDirectory(client, settings.node_id)
        status = await cluster_status(nodes)
        if node not in status:
            print(f"hotline: no node {node!r} (nodes: {', '.join(status) or 'none'})")
            return 1
        await nodes.drain(node, not off)
        if off:
            print(f"{node}: taking new calls again")
            return 0
        print(f"{node}: draining, {len(status[node]['live_calls'])} calls in progress")
        if wait_s is None:
            return 0
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            calls = (await cluster_status(nodes)).get(node, {}).get("live_calls", [])
            if not calls:
                print(f"{node}: drained, no call in progress")
                return 0
            await asyncio.sleep(1.0)
        print(f"{node}: {len(calls)} calls still in progress after {wait_s:.0f} s")
        return 3


def run(command: str, settings: Settings, node: str = "", off: bool = False, wait_s: float | None = None,
        as_json: bool = False) -> int:
    if command == "status":
        return asyncio.run(_status(settings, as_json))
    return asyncio.run(_drain(settings, node, off, wait_s))
