"""What the IVR's actions reach in the contact center: tickets and data sources."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hotline.center.settings import Settings, resolved_sources
from hotline.center.tickets import TicketStore
from hotline.ivr.lookups import DataSource, build_sources

_TICKET_COLUMNS = ("type", "priority", "call_id", "caller", "parcel_number", "description", "recording")


class StoreTicketSink:
    """Creates tickets from an IVR `ticket`/`voicemail` node's fields in the ticket store."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store

    def create_ticket(self, fields: Mapping[str, str]) -> str:
        extra = {k: v for k, v in fields.items() if k not in _TICKET_COLUMNS}
        ticket = self.store.create(
            fields.get("type", "other"), priority=fields.get("priority") or "normal",
            call_id=fields.get("call_id", ""), caller=fields.get("caller", ""),
            parcel_number=fields.get("parcel_number", ""), description=fields.get("description", ""),
            recording=fields.get("recording", ""), fields=extra, by="ivr")
        return ticket.ref


def ivr_sources(settings: Settings) -> dict[str, DataSource]:
    return build_sources(resolved_sources(settings.data_sources), Path.cwd())
