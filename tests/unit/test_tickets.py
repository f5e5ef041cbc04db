"""The ticket store's behaviour, the same on both backends: SQLite (one machine) and PostgreSQL
(several nodes; a real server started for the session)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from hotline.center.tickets import (
    Ticket,
    TicketFilter,
    TicketNotFound,
    TicketStore,
    ref_for_id,
)
from tests.support.postgres import StoreBackend


def test_create_and_get(ticket_store: TicketStore) -> None:
    store = ticket_store
    before = time.time()
    ticket = store.create("damage", call_id="call-1", caller="+441234567890", parcel_number="33334444",
                          description="box crushed", fields={"items": "2", "photo": "yes"},
                          priority="high", due_at=before + 86400, recording="voicemail/call-1.wav")
    assert ticket.ref == "100001" and ticket.id == 1
    assert ticket.status == "open" and ticket.priority == "high"
    assert before <= ticket.created_at <= time.time()
    assert ticket.history == [{"at": ticket.created_at, "status": "open", "by": "ivr"}]
    got = store.get("100001")
    assert got == ticket
    assert got is not None and got.fields == {"items": "2", "photo": "yes"}
    assert got.recording == "voicemail/call-1.wav" and got.due_at == before + 86400
    assert store.get(" 100001 ") == ticket  # as keyed in, tolerant of stray spaces
    assert store.get("100002") is None
    second = store.create("callback")
    assert second.ref == "100002" and second.caller == "" and second.fields == {}
    assert second.due_at == second.created_at + 72 * 3600  # the normal priority's SLA
    assert len(second.ref) == 6 and second.ref.isdigit()
    assert ref_for_id(899999) == "999999"


def test_create_rejects_unknown_type_and_priority(ticket_store: TicketStore) -> None:
    store = ticket_store
    with pytest.raises(ValueError, match="ticket type"):
        store.create("complaint")
    with pytest.raises(ValueError, match="priority"):
        store.create("other", priority="asap")
    assert store.list() == []


def test_list_newest_first_and_by_status(ticket_store: TicketStore) -> None:
    store = ticket_store
    refs = [store.create(kind).ref for kind in ("missing", "not_received", "redelivery", "address_change")]
    assert [t.ref for t in store.list()] == list(reversed(refs))
    assert [t.ref for t in store.list(limit=2)] == [refs[3], refs[2]]
    store.update_status(refs[1], "resolved", "agent-7")
    assert [t.ref for t in store.list(status="resolved")] == [refs[1]]
    assert [t.ref for t in store.list(status="open")] == [refs[3], refs[2], refs[0]]
    assert store.list(status="closed") == []


def test_update_status_keeps_history(ticket_store: TicketStore) -> None:
    store = ticket_store
    ref = store.create("missing", parcel_number="12345678").ref
    working = store.update_status(ref, "in_progress", "agent-1")
    assert working.status == "in_progress"
    done = store.update_status(ref, "resolved", "agent-2")
    assert [(h["status"], h["by"]) for h in done.history] == [
        ("open", "ivr"), ("in_progress", "agent-1"), ("resolved", "agent-2")]
    assert done.history[0]["at"] <= done.history[1]["at"] <= done.history[2]["at"]
    again = store.update_status(ref, "resolved", "agent-3")  # no change, no new entry
    assert len(again.history) == 3
    stored = store.get(ref)
    assert stored is not None and stored.status == "resolved" and stored.history == done.history
    with pytest.raises(TicketNotFound):
        store.update_status("999999", "closed", "agent-1")
    with pytest.raises(ValueError, match="ticket status"):
        store.update_status(ref, "escalated", "agent-1")
    assert store.get(ref) == stored  # the failed updates left it alone


def test_two_stores_on_one_database_get_unique_refs(ticket_backend: StoreBackend) -> None:
    first, second = ticket_backend.open(), ticket_backend.open()  # two processes (or nodes)
    made: list[Ticket] = []
    made_lock = threading.Lock()

    def worker(store: TicketStore, n: int) -> None:
        for i in range(n):
            ticket = store.create("other", description=f"t{i}")
            with made_lock:
                made.append(ticket)

    threads = [threading.Thread(target=worker, args=(store, 25)) for store in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refs = [t.ref for t in made]
    assert len(refs) == 100 and len(set(refs)) == 100
    assert sorted(refs) == [ref_for_id(i) for i in range(1, 101)]
    # each store sees what the other wrote, and status changes cross over too
    assert len(first.list(limit=1000)) == len(second.list(limit=1000)) == 100
    first.update_status(refs[0], "closed", "agent-1")
    seen = second.get(refs[0])
    assert seen is not None and seen.status == "closed"
    first.close()
    second.close()
    reopened = ticket_backend.open()
    assert reopened.create("other").ref == ref_for_id(101)
    if ticket_backend.name == "sqlite":
        mode = sqlite3.connect(str(reopened.path)).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_to_dict_is_plain_data(ticket_store: TicketStore) -> None:
    store = ticket_store
    data = store.create("redelivery", fields={"slot": "2026-11-24"}).to_dict()
    assert data["ref"] == "100001" and data["fields"] == {"slot": "2026-11-24"}
    assert data["history"][0]["status"] == "open"


def test_workflow_transitions_assignment_notes_and_filters(ticket_store: TicketStore) -> None:
    store = ticket_store
    ref = store.create("damage", caller="+15550100", priority="high").ref
    ticket = store.update(ref, "alice", assignee="alice", queue="claims", note="called the depot")
    assert (ticket.assignee, ticket.queue, ticket.status) == ("alice", "claims", "open")
    assert ticket.history[1]["changes"] == {"assignee": ["", "alice"], "queue": ["", "claims"]}
    assert ticket.history[2] == {"at": ticket.history[2]["at"], "by": "alice", "note": "called the depot"}
    store.update(ref, "alice", status="resolved")
    with pytest.raises(ValueError, match="a resolved ticket cannot become waiting"):
        store.update(ref, "bob", status="waiting", assignee="bob")
    assert store.get(ref).assignee == "alice"  # type: ignore[union-attr]  # the refused update changed nothing
    store.update(ref, "bob", status="open")  # reopened
    store.create("callback", priority="low")
    found = store.list(filters=TicketFilter(assignee="alice"))
    assert [t.ref for t in found] == [ref]
    assert [t.type for t in store.list(filters=TicketFilter(priority="low"))] == ["callback"]
    assert store.list(filters=TicketFilter(overdue=True)) == []
    assert len(store.list(filters=TicketFilter(open_only=True))) == 2


def test_overdue_tickets_are_reminded_once(ticket_store: TicketStore) -> None:
    store = ticket_store
    now = time.time()
    late = store.create("damage", due_at=now - 5).ref
    store.create("damage", due_at=now + 3600)
    done = store.create("damage", due_at=now - 5).ref
    store.update(done, "alice", status="resolved")
    assert [t.ref for t in store.list(filters=TicketFilter(overdue=True))] == [late]
    assert store.get(late).to_dict()["overdue"] is True  # type: ignore[union-attr]
    assert [t.ref for t in store.due_for_reminder(now)] == [late]
    assert store.due_for_reminder(now + 1) == []  # once
    store.update(late, "alice", due_at=now + 1)  # a new SLA time: a new reminder when it passes
    assert [t.ref for t in store.due_for_reminder(now + 2)] == [late]
