"""What every data source is: the `DataSource` protocol, `LookupFailed`, and the one lookup runner that
live calls and the simulator share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from hotline.ivr.actions import Lookup, LookupDone
from hotline.system.errors import HotlineError

REASONS: Final = ("timeout", "http_status", "bad_response", "not_configured", "bad_request", "unreachable")


class LookupFailed(HotlineError):
    """A data source could not answer. `reason` is one of `REASONS`; `status` is the HTTP status
    for reason "http_status"."""

    def __init__(self, message: str, *, reason: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.status = status


class DataSource(Protocol):
    """What the IVR `lookup` action calls."""

    name: str

    async def lookup(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]: ...


async def run_lookup(sources: Mapping[str, DataSource], action: Lookup) -> LookupDone:
    """The answer to a flow's `lookup` action, for a live call and the simulator alike: the
    source's data, or the reason it has none (the flow's error path)."""
    source = sources.get(action.source)
    if source is None:
        return LookupDone(action.token, None, "not_configured")
    try:
        return LookupDone(action.token, await source.lookup(action.operation, action.params))
    except LookupFailed as exc:
        return LookupDone(action.token, None, exc.reason)


async def close_sources(sources: Mapping[str, DataSource]) -> None:
    """Closes every source that holds connections."""
    for source in sources.values():
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
