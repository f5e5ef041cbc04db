"""Tickets raised by the IVR (`ticket` and `voicemail` actions) and worked by agents: SQLite in WAL
mode, shared by all processes of a node (here), or PostgreSQL shared by every node
(:mod:`hotline.center.pg_tickets`); the same behaviour on both (`TicketTable`).

A ticket's `ref` is what the caller is told and later keys in: a numeric string, `str(100000 + id)`,
so it is six digits (read out digit by digit) for the first 899,999 tickets and never reused, since
ids come from an AUTOINCREMENT key.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

from hotline.center.sqlite_db import open_wal
from hotline.system.errors import HotlineError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

TICKET_TYPES: Final = ("damage", "missing", "not_received", "redelivery", "callback", "address_change", "other")
TICKET_STATUSES: Final = ("open", "in_progress", "waiting", "resolved", "closed")
TICKET_PRIORITIES: Final = ("low", "normal", "high", "urgent")
REF_BASE: Final = 100000
# statuses in which a ticket still needs work (and can become overdue)
OPEN_STATUSES: Final = ("open", "in_progress", "waiting")
# which status may follow which: work starts, waits for the customer, is resolved, then closed;
# a resolved or closed ticket can be reopened
TRANSITIONS: Final = {
    "open": ("in_progress", "waiting", "resolved", "closed"),
    "in_progress": ("open", "waiting", "resolved", "closed"),
    "waiting": ("in_progress", "resolved", "closed"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
# default time to resolve, by priority (the SLA); a ticket created without `due_at` gets it
SLA_HOURS: Final = {"urgent": 4.0, "high": 24.0, "normal": 72.0, "low": 168.0}

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
    recording TEXT NOT NULL,
    assignee TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    updated_at REAL,
    reminded_at REAL
);
CREATE INDEX IF NOT EXISTS tickets_status_created ON tickets(status, created_at DESC);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at DESC);
"""
# columns added after the first release: created on older files when they are opened
_ADDED_COLUMNS = {"assignee": "TEXT NOT NULL DEFAULT ''", "queue": "TEXT NOT NULL DEFAULT ''",
                  "updated_at": "REAL", "reminded_at": "REAL"}

_COLUMNS = ("id, ref, type, status, priority, call_id, caller, parcel_number, description, fields, "
            "created_at, due_at, history, recording, assignee, queue, updated_at, reminded_at")


class TicketError(HotlineError):
    retryable = False


class TicketNotFound(TicketError):
    """No ticket has this reference."""


def ref_for_id(ticket_id: int) -> str:
    """The caller-facing reference of ticket `ticket_id`."""
    return str(REF_BASE + ticket_id)


@dataclass
class Ticket:
    """One ticket. `history` lists what happened, oldest first: status changes as {"at", "status",
    "by"}, other changes as {"at", "by", "changes": {field: [old, new]}}, and notes as {"at", "by",
    "note"}; `recording` is a voicemail's path relative to the data directory ("" if none); `due_at`
    is the SLA time; `reminded_at` when the overdue reminder went out."""

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
    assignee: str = ""  # an agent's user name
    queue: str = ""  # or a team (queue) that owns it
    updated_at: float | None = None
    reminded_at: float | None = None

    def overdue(self, now: float | None = None) -> bool:
        return (self.due_at is not None and self.status in OPEN_STATUSES
                and self.due_at <= (time.time() if now is None else now))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overdue": self.overdue()}


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
        assignee: str = "",
        queue: str = "",
    ) -> Ticket: ...

    def get(self, ref: str) -> Ticket | None: ...

    def list(self, status: str | None = None, limit: int = 100, *, filters: TicketFilter | None = None,
             ) -> builtins.list[Ticket]: ...

    def update_status(self, ref: str, status: str, by: str) -> Ticket: ...

    def update(self, ref: str, by: str, *, status: str | None = None, assignee: str | None = None,
               queue: str | None = None, priority: str | None = None, due_at: float | None = None,
               note: str | None = None) -> Ticket: ...

    def due_for_reminder(self, now: float) -> builtins.list[Ticket]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TicketFilter:
    """Narrowing of :meth:`TicketStore.list`; None means any."""

    type: str | None = None
    priority: str | None = None
    assignee: str | None = None
    queue: str | None = None
    caller: str | None = None
    call_id: str | None = None
    overdue: bool | None = None
    open_only: bool = False  # statuses that still need work


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value  # SQLite's text, PostgreSQL's jsonb


def _row_to_ticket(row: Sequence[Any]) -> Ticket:
    (id_, ref, type_, status, priority, call_id, caller, parcel_number, description, fields,
     created_at, due_at, history, recording, assignee, queue, updated_at, reminded_at) = row
    return Ticket(id=id_, ref=ref, type=type_, status=status, priority=priority, call_id=call_id,
                  caller=caller, parcel_number=parcel_number, description=description,
                  fields=_json(fields), created_at=created_at, due_at=due_at,
                  history=_json(history), recording=recording, assignee=assignee, queue=queue,
                  updated_at=updated_at, reminded_at=reminded_at)


# runs one SQL statement ("?" for each value) in the current transaction and gives its rows
Query = Callable[[str, Sequence[Any]], builtins.list[tuple[Any, ...]]]


class TicketTable:
    """The `TicketStore` behaviour on one SQL table, the same on every database: a backend gives
    `_read` (one statement) and `_write` (work in one transaction that others cannot interleave
    with) and `_for_update` (what locks the rows a write reads, where the database needs it)."""

    _for_update = ""

    def _read(self, sql: str, args: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, work: Callable[[Query], _T]) -> _T:
        raise NotImplementedError

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
        assignee: str = "",
        queue: str = "",
    ) -> Ticket:
        """A new open ticket with a fresh reference; without `due_at` it is due after its
        priority's SLA (:data:`SLA_HOURS`)."""
        if type not in TICKET_TYPES:
            raise ValueError(f"ticket type must be one of {', '.join(TICKET_TYPES)}")
        if priority not in TICKET_PRIORITIES:
            raise ValueError(f"ticket priority must be one of {', '.join(TICKET_PRIORITIES)}")
        now = time.time()
        if due_at is None:
            due_at = now + SLA_HOURS[priority] * 3600.0
        history = [{"at": now, "status": "open", "by": by}]
        field_values = {str(k): str(v) for k, v in (fields or {}).items()}

        def work(query: Query) -> int:
            rows = query(
                "INSERT INTO tickets(type, status, priority, call_id, caller, parcel_number, description, "
                "fields, created_at, due_at, history, recording, assignee, queue, updated_at) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (type, "open", priority, call_id, caller, parcel_number, description,
                 json.dumps(field_values, ensure_ascii=False), now, due_at,
                 json.dumps(history), recording, assignee, queue, now))
            ticket_id = int(rows[0][0])
            query("UPDATE tickets SET ref=? WHERE id=?", (ref_for_id(ticket_id), ticket_id))
            return ticket_id

        ticket_id = self._write(work)
        ref = ref_for_id(ticket_id)
        log.info("ticket created", extra={"ticket_ref": ref, "ticket_type": type, "by": by})
        return Ticket(id=ticket_id, ref=ref, type=type, status="open", priority=priority, call_id=call_id,
                      caller=caller, parcel_number=parcel_number, description=description,
                      fields=field_values, created_at=now, due_at=due_at, history=history,
                      recording=recording, assignee=assignee, queue=queue, updated_at=now)

    def get(self, ref: str) -> Ticket | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM tickets WHERE ref=?", (ref.strip(),))  # noqa: S608
        return _row_to_ticket(rows[0]) if rows else None

    def list(self, status: str | None = None, limit: int = 100, *, filters: TicketFilter | None = None,
             ) -> builtins.list[Ticket]:
        """Newest first, optionally only those in `status` and matching `filters`."""
        f = filters or TicketFilter()
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        for column, value in (("status", status), ("type", f.type), ("priority", f.priority),
                              ("assignee", f.assignee), ("queue", f.queue), ("caller", f.caller),
                              ("call_id", f.call_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if f.open_only or f.overdue:
            where.append(f"status IN ({','.join('?' * len(OPEN_STATUSES))})")
            args.extend(OPEN_STATUSES)
        if f.overdue is not None:
            where.append("due_at IS NOT NULL AND due_at <= ?" if f.overdue else "(due_at IS NULL OR due_at > ?)")
            args.append(time.time())
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self._read(f"SELECT {_COLUMNS} FROM tickets {clause}ORDER BY created_at DESC, id DESC LIMIT ?",  # noqa: S608
                          (*args, limit))
        return [_row_to_ticket(r) for r in rows]

    def update_status(self, ref: str, status: str, by: str) -> Ticket:
        """Moves the ticket to `status` and records who did it; the same status again changes nothing.
        Raises TicketNotFound, or ValueError for a status that cannot follow the current one."""
        return self.update(ref, by, status=status)

    def update(self, ref: str, by: str, *, status: str | None = None, assignee: str | None = None,
               queue: str | None = None, priority: str | None = None, due_at: float | None = None,
               note: str | None = None) -> Ticket:
        """Change a ticket; every change goes into its history with who made it and when.

        Raises TicketNotFound, or ValueError (nothing changed) for an unknown status or priority or
        a status that cannot follow the current one (:data:`TRANSITIONS`)."""
        if status is not None and status not in TICKET_STATUSES:
            raise ValueError(f"ticket status must be one of {', '.join(TICKET_STATUSES)}")
        if priority is not None and priority not in TICKET_PRIORITIES:
            raise ValueError(f"ticket priority must be one of {', '.join(TICKET_PRIORITIES)}")
        changes: dict[str, builtins.list[Any]] = {}

        def work(query: Query) -> tuple[Ticket, str, bool]:
            rows = query(f"SELECT {_COLUMNS} FROM tickets WHERE ref=?{self._for_update}", (ref.strip(),))  # noqa: S608
            if not rows:
                raise TicketNotFound(f"no ticket {ref.strip()}")
            ticket = _row_to_ticket(rows[0])
            previous = ticket.status
            now = time.time()
            changes.clear()  # (a second try, after a lost connection, starts again)
            if status is not None and status != previous:
                if status not in TRANSITIONS[previous]:
                    raise ValueError(f"a {previous} ticket cannot become {status} "
                                     f"(next: {', '.join(TRANSITIONS[previous])})")
                ticket.status = status
                ticket.history.append({"at": now, "status": status, "by": by})
            for name, value in (("assignee", assignee), ("queue", queue), ("priority", priority), ("due_at", due_at)):
                if value is not None and getattr(ticket, name) != value:
                    changes[name] = [getattr(ticket, name), value]
                    setattr(ticket, name, value)
            if "due_at" in changes:
                ticket.reminded_at = None  # a new SLA time gets its own reminder
            if changes:
                ticket.history.append({"at": now, "by": by, "changes": changes})
            if note:
                ticket.history.append({"at": now, "by": by, "note": note[:4000]})
            if ticket.status == previous and not changes and not note:
                return ticket, previous, False
            ticket.updated_at = now
            query("UPDATE tickets SET status=?, history=?, assignee=?, queue=?, priority=?, due_at=?, "
                  "updated_at=?, reminded_at=? WHERE id=?",
                  (ticket.status, json.dumps(ticket.history, ensure_ascii=False), ticket.assignee,
                   ticket.queue, ticket.priority, ticket.due_at, now, ticket.reminded_at, ticket.id))
            return ticket, previous, True

        ticket, previous, changed = self._write(work)
        if changed:
            log.info("ticket changed", extra={"ticket_ref": ticket.ref, "from_status": previous,
                                              "to_status": ticket.status, "changed": sorted(changes), "by": by})
        return ticket

    def due_for_reminder(self, now: float) -> builtins.list[Ticket]:
        """Open tickets past their SLA time that have had no reminder yet; marks them reminded (in
        one statement: two nodes asking at once do not both get a ticket)."""
        rows = self._write(lambda query: query(
            f"UPDATE tickets SET reminded_at=? WHERE status IN ({','.join('?' * len(OPEN_STATUSES))}) "  # noqa: S608
            f"AND due_at IS NOT NULL AND due_at <= ? AND reminded_at IS NULL RETURNING {_COLUMNS}",
            (now, *OPEN_STATUSES, now)))
        return sorted((_row_to_ticket(r) for r in rows), key=lambda t: (t.due_at or 0.0, t.id))


class SqliteTicketStore(TicketTable):
    """`TicketStore` in one SQLite file; safe for threads (one locked connection) and for several
    processes on the same file (WAL, 10 s busy timeout, writes in IMMEDIATE transactions)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()
        with self._lock:
            have = {row[1] for row in self._conn.execute("PRAGMA table_info(tickets)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in have:
                    self._conn.execute(f"ALTER TABLE tickets ADD COLUMN {name} {kind}")

    def _query(self, sql: str, args: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    def _read(self, sql: str, args: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        with self._lock:
            return self._query(sql, args)

    def _write(self, work: Callable[[Query], _T]) -> _T:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._query)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return result

    def close(self) -> None:
        with self._lock:
            self._conn.close()
