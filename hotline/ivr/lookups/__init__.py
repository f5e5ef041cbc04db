"""Data sources for the IVR `lookup` action: the built-in demo parcel directory, the demo CRM and an
HTTP adapter for a real carrier system.

A source answers `lookup(operation, params)` with a flat JSON object whose values the flow stores as
call variables. Failures raise `LookupFailed`, whose `retryable` flag tells the flow whether asking
again later could help.

Modules: `source` (the protocol, the error, the runner), `parcels`, `customers`, `http`, `spoken`
(dates and windows as a voice says them) and `config` (`build_sources`).
"""

from __future__ import annotations

from hotline.ivr.lookups.config import DEFAULT_SOURCES, build_sources
from hotline.ivr.lookups.customers import CustomerDirectory
from hotline.ivr.lookups.http import HttpSource
from hotline.ivr.lookups.parcels import STATUSES, ParcelDirectory, next_working_days, normalise_parcel_number
from hotline.ivr.lookups.source import REASONS, DataSource, LookupFailed, close_sources, run_lookup
from hotline.ivr.lookups.spoken import spoken_date, spoken_date_zh, spoken_window, spoken_window_zh

__all__ = [
    "DEFAULT_SOURCES",
    "REASONS",
    "STATUSES",
    "CustomerDirectory",
    "DataSource",
    "HttpSource",
    "LookupFailed",
    "ParcelDirectory",
    "build_sources",
    "close_sources",
    "next_working_days",
    "normalise_parcel_number",
    "run_lookup",
    "spoken_date",
    "spoken_date_zh",
    "spoken_window",
    "spoken_window_zh",
]
