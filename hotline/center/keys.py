"""Every Redis key, stream and channel hotline uses, in one place (`hotline:` prefixed), so two
modules can never spell one differently and a reader sees the whole shared state at a glance."""

from __future__ import annotations

# events and processes
EVENTS_STREAM = "hotline:events"  # every call event (XADD); the app's CallEvents reads it
WORKERS_KEY = "hotline:workers"  # hash: worker id -> heartbeat JSON
LIVE_CALLS_KEY = "hotline:calls:live"  # hash: call id -> worker

# the cluster (hotline.center.nodes)
NODES_KEY = "hotline:nodes"  # hash: node -> its latest beat JSON (http, sip, pid, ts)
DRAINING_KEY = "hotline:nodes:draining"  # hash: node -> {"at"}: no new calls go there
ACD_LOCK_KEY = "hotline:acd:lock"  # one ACD step at a time, cluster-wide

# agents
AGENTS_KEY = "hotline:agents"  # hash: username -> account JSON
PRESENCE_KEY = "hotline:presence"  # hash: username -> presence JSON
PRESENCE_LOG_KEY = "hotline:presence:log"  # stream: every presence change (agent, state, at), capped

# the ACD
ACD_REQUESTS_KEY = "hotline:acd:requests"
ACD_WAITING_KEY = "hotline:acd:waiting"
ACD_STATS_KEY = "hotline:acd:stats"

# the voice bot: workers' questions for the app's knowledge matcher, and a reply key per question
BOT_QUESTIONS_KEY = "hotline:bot:questions"  # list of JSON requests (RPUSH by workers, BLPOP by the app)
BOT_ANSWER_PREFIX = "hotline:bot:answer:"

# staff sessions and login throttling
SESSION_PREFIX = "hotline:session:"
USER_SESSIONS_PREFIX = "hotline:user_sessions:"
FAIL_USER_PREFIX = "hotline:login_fail:user:"
FAIL_ADDR_PREFIX = "hotline:login_fail:addr:"


def agent_channel(username: str) -> str:
    """Pub/sub channel of one agent's desk (rings, presence, reminders)."""
    return f"hotline:agent:{username}"


def node_desks_key(node: str) -> str:
    """Hash: the agents whose desks this node serves -> open desk count."""
    return f"hotline:node:{node}:desks"


def acd_call_key(call: str) -> str:
    return f"hotline:acd:call:{call}"


def webrtc_offers_key(worker: str) -> str:
    """List: browser calls' SDP offers waiting for a worker."""
    return f"hotline:webrtc:offers:{worker}"


def webrtc_answer_key(request: str) -> str:
    return f"hotline:webrtc:answer:{request}"


def control_key(worker: str) -> str:
    """List: the desk's requests to the worker holding a call (hold, resume, transfer)."""
    return f"hotline:control:{worker}"


def bot_answer_key(request: str) -> str:
    """List: the app's answer to one bot question (one JSON item, expiring)."""
    return f"{BOT_ANSWER_PREFIX}{request}"

# flow and knowledge versions shared by the nodes of a cluster (hotline.center.cluster_versions)
FLOWS_CLUSTER_KEY = "hotline:cluster:flows"  # hash: flow name -> JSON {name, file, version, sha, text, node, at, seq}
KNOWLEDGE_CLUSTER_KEY = "hotline:cluster:knowledge"  # hash: file name -> JSON {file, sha, text, node, at, seq}
CLUSTER_SEQ_KEY = "hotline:cluster:seq"  # counter: the cluster sequence number of every publication
