"""The built-in demo CRM: customers by phone number (`type: customers` data source).

Operation `customer` (params `caller`: a number or SIP URI) returns `found` and the customer's
fields (name, vip level, preferred language, notes...), which the agent desk shows as custom
fields and flows can branch on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hotline.ivr.lookups.source import LookupFailed


def phone_key(value: str) -> str:
    """The digits of a number or of a SIP URI's user part ("sip:+441234@host", also with a display
    name, -> "441234"); "" for a caller that is not a number (a browser caller's
    `customer:ID@webrtc` or `anonymous-...`), whose digits must never match somebody's phone."""
    bracketed = re.search(r"<([^>]*)>", value)  # '"Name" <sip:+44...@host>': the URI inside
    uri = (bracketed.group(1) if bracketed else value).strip()
    scheme, _, rest = uri.partition(":") if ":" in uri else ("", "", uri)
    user = rest.split("@", 1)[0]
    if scheme not in ("", "sip", "sips", "tel") or user.startswith("anonymous"):
        return ""
    return re.sub(r"\D", "", user)


class CustomerDirectory:
    def __init__(self, customers: Mapping[str, Mapping[str, Any]], name: str = "customers") -> None:
        self.name = name
        self._by_phone = {phone_key(str(number)): {k: str(v) for k, v in fields.items()}
                          for number, fields in customers.items()}

    @classmethod
    def from_file(cls, path: Path, name: str = "customers") -> CustomerDirectory:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        customers = data.get("customers", data)
        if not isinstance(customers, Mapping):
            raise ValueError(f"{path}: expected 'customers:' mapping numbers to fields")
        return cls(customers, name)

    async def lookup(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]:
        if operation != "customer":
            raise LookupFailed(f"unknown operation {operation!r}", reason="bad_request", retryable=False)
        key = phone_key(params.get("caller", ""))
        # a caller's number may carry a prefix the directory does not (or the other way round)
        for number, fields in self._by_phone.items():
            if key and number and (key.endswith(number) or number.endswith(key)) and min(len(key), len(number)) >= 6:
                return {"found": "yes", **fields}
        return {"found": "no"}

    async def aclose(self) -> None:
        return None
