"""Tickets raised by the IVR (`ticket` and `voicemail` actions) and worked by agents: SQLite in WAL
mode, shared by all processes.

A ticket's `ref` is what the caller is told and later keys in: a numeric string, `str(100000 + id)`,
so it is six digits (read out digit by digit) for the first 899,999 tickets and never reused, since
ids come from an AUTOINCREMENT key.
"""

from __future__ import annotations

import builtins
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

log = logging.getLogger(__name__)

TICKET_TYPES: Final = ("damage", "missing", "not_received", "redelivery", "callback", "address_change", "other")
TICKET_STATUSES: Final = ("open", "in_progress", "waiting", "resolved", "closed")
TICKET_PRIORITIES: Final = ("low", "normal", "high", "urgent")
REF_BASE: Final = 100000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT UNIQUE,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    call_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    parcel_number TEXT NOT NULL,
    description TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at REAL NOT NULL,
    due_at REAL,
    history TEXT NOT NULL,
    recording TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_status_created ON tickets(status, created_at DESC);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at DESC);
"""

_COLUMNS = ("id, ref, type, status, priority, call_id, caller, parcel_number, description, fields, "
            "created_at, due_at, history, recording")


class TicketError(Exception):
    retryable = False


class TicketNotFound(TicketError):
    """No ticket has this reference."""


def ref_for_id(ticket_id: int) -> str:
    """The caller-facing reference of ticket `ticket_id`."""
    return str(REF_BASE + ticket_id)


@dataclass
class Ticket:
    """One ticket. `history` lists status changes as {"at", "status", "by"}, oldest first;
    `recording` is a voicemail's path relative to the data directory ("" if none)."""

    id: int
    ref: str
    type: str
    status: str = "open"
    priority: str = "normal"
    call_id: str = ""
    caller: str = ""
    parcel_number: str = ""
    description: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    due_at: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    recording: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TicketStore(Protocol):
    """Where tickets live."""

    def create(
        self,
        type: str,
        *,
        call_id: str = "",
        caller: str = "",
        parcel_number: str = "",
        description: str = "",
        fields: Mapping[str, str] | None = None,
        priority: str = "normal",
        due_at: float | None = None,
        recording: str = "",
        by: str = "ivr",
    ) -> Ticket: ...

    def get(self, ref: str) -> Ticket | None: ...

    def list(self, status: str | None = None, limit: int = 100) -> builtins.list[Ticket]: ...

    def update_status(self, ref: str, status: str, by: str) -> Ticket: ...


def _row_to_ticket(row: tuple[Any, ...]) -> Ticket:
    (id_, ref, type_, status, priority, call_id, caller, parcel_number, description, fields,
     created_at, due_at, history, recording) = row
    return Ticket(id=id_, ref=ref, type=type_, status=status, priority=priority, call_id=call_id,
                  caller=caller, parcel_number=parcel_number, description=description,
                  fields=json.loads(fields), created_at=created_at, due_at=due_at,
                  history=json.loads(history), recording=recording)


class SqliteTicketStore:
    """`TicketStore` in one SQLite file; safe for threads (one locked connection) and for several
    processes on the same file (WAL, 10 s busy timeout, writes in IMMEDIATE transactions)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create(
        self,
        type: str,
        *,
        call_id: str = "",
        caller: str = "",
        parcel_number: str = "",
        description: str = "",
        fields: Mapping[str, str] | None = None,
        priority: str = "normal",
        due_at: float | None = None,
        recording: str = "",
        by: str = "ivr",
    ) -> Ticket:
        """A new open ticket with a fresh reference."""
        if type not in TICKET_TYPES:
            raise ValueError(f"ticket type must be one of {', '.join(TICKET_TYPES)}")
        if priority not in TICKET_PRIORITIES:
            raise ValueError(f"ticket priority must be one of {', '.join(TICKET_PRIORITIES)}")
        now = time.time()
        history = [{"at": now, "status": "open", "by": by}]
        field_values = {str(k): str(v) for k, v in (fields or {}).items()}
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO tickets(type, status, priority, call_id, caller, parcel_number, description, "
                "fields, created_at, due_at, history, recording) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                (type, "open", priority, call_id, caller, parcel_number, description,
                 json.dumps(field_values, ensure_ascii=False), now, due_at,
                 json.dumps(history), recording),
            )
            ticket_id = cur.lastrowid
            assert ticket_id is not None
            ref = ref_for_id(ticket_id)
            conn.execute("UPDATE tickets SET ref=? WHERE id=?", (ref, ticket_id))
        log.info("ticket created", extra={"ticket_ref": ref, "ticket_type": type, "by": by})
        return Ticket(id=ticket_id, ref=ref, type=type, status="open", priority=priority, call_id=call_id,
                      caller=caller, parcel_number=parcel_number, description=description,
                      fields=field_values, created_at=now, due_at=due_at, history=history,
                      recording=recording)

    def get(self, ref: str) -> Ticket | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM tickets WHERE ref=?", (ref.strip(),)).fetchone()
        return _row_to_ticket(row) if row else None

    def list(self, status: str | None = None, limit: int = 100) -> builtins.list[Ticket]:
        """Newest first, optionally only those in `status`."""
        with self._lock:
            if status is None:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM tickets ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM tickets WHERE status=? ORDER BY created_at DESC, id DESC LIMIT ?",
                    (status, limit),
                ).fetchall()
        return [_row_to_ticket(r) for r in rows]

    def update_status(self, ref: str, status: str, by: str) -> Ticket:
        """Moves the ticket to `status` and records who did it; the same status again changes nothing.
        Raises TicketNotFound."""
        if status not in TICKET_STATUSES:
            raise ValueError(f"ticket status must be one of {', '.join(TICKET_STATUSES)}")
        with self._write() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM tickets WHERE ref=?", (ref.strip(),)).fetchone()
            if row is None:
                raise TicketNotFound(f"no ticket {ref.strip()}")
            ticket = _row_to_ticket(row)
            if ticket.status == status:
                return ticket
            previous = ticket.status
            ticket.status = status
            ticket.history.append({"at": time.time(), "status": status, "by": by})
            conn.execute("UPDATE tickets SET status=?, history=? WHERE id=?",
                         (status, json.dumps(ticket.history), ticket.id))
        log.info("ticket status changed",
                 extra={"ticket_ref": ticket.ref, "from_status": previous, "to_status": status, "by": by})
        return ticket

    def close(self) -> None:
        with self._lock:
            self._conn.close()
